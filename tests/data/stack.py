"""A stack of 4 identical blocks (Linear, Tanh) between an input layer and a head: the modules
view folds the 4 blocks into one node, "Sequential × 4", which the HTML player opens on a click."""
import torch
from torch import nn


def build():
    torch.manual_seed(0)
    blocks = nn.Sequential(*[nn.Sequential(nn.Linear(3, 3), nn.Tanh()) for _ in range(4)])
    model = nn.Sequential(nn.Linear(2, 3), blocks, nn.Linear(3, 1))
    x = torch.tensor([[0.5, -1.0]])
    return {"model": model, "inputs": x, "target": torch.tensor([[0.25]]), "loss": "mse"}
