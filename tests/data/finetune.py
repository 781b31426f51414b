"""Fine-tuning: a pretrained backbone kept frozen, a new head trained on top.

The parts without gradient are drawn too: the input normalisation buffer `mean`, the frozen
backbone's weights and ops, and a stop-gradient shortcut (`h.detach()`) inside the head.
"""
import torch
from torch import nn


class FineTune(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.5, -0.2, 0.1]))
        self.backbone = nn.Sequential(nn.Linear(3, 3), nn.Tanh())   # pretrained: frozen below
        self.head = nn.Linear(3, 2)
        self.out = nn.Linear(2, 1)

    def forward(self, x):
        features = self.backbone(x - self.mean)
        h = torch.tanh(self.head(features))
        return self.out(h) + h.detach().sum(1, keepdim=True)     # the shortcut carries no gradient


def build():
    model = FineTune()
    for p in model.backbone.parameters():
        p.requires_grad_(False)
    x = torch.tensor([[1.0, 0.0, -1.0]])
    return {"model": model, "inputs": x, "target": torch.tensor([[0.5]]), "loss": "mse"}
