"""A tiny network that uses one Linear layer twice: y = fc(tanh(fc(x))).

The layer's weight feeds two ops, so in the backward pass its gradient arrives along two
edges and the autograd engine adds them: the fan-out sum bprender shows at the producer.
"""
import torch
from torch import nn


class SharedLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(torch.tanh(self.fc(x)))


def build():
    torch.manual_seed(0)
    return {
        "model": SharedLayer(),
        "inputs": torch.tensor([[0.5, -1.0]]),
        "target": torch.tensor([[1.0, 0.0]]),
        "loss": "mse",
    }
