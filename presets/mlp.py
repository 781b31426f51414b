"""The classic textbook network: 2 inputs, 3 hidden neurons, 1 output, sigmoid everywhere.

    x (2 numbers) -> Linear(2, 3) -> sigmoid -> Linear(3, 1) -> sigmoid -> y_hat
    loss = (y_hat - target) ** 2            (mean squared error on one sample)

The weights start random (fixed seed) and are rounded to two decimals, so every number on
screen is short enough to read aloud and to check by hand on the board.
"""
import torch
from torch import nn

SEED = 0


def build():
    torch.manual_seed(SEED)
    model = nn.Sequential(
        nn.Linear(2, 3),   # 0: input -> hidden: 6 weights + 3 biases
        nn.Sigmoid(),      # 1: hidden activations, each in (0, 1)
        nn.Linear(3, 1),   # 2: hidden -> output: 3 weights + 1 bias
        nn.Sigmoid(),      # 3: the prediction, in (0, 1)
    )
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.round(decimals=2))   # readable numbers; still a seeded random start
    return {
        "model": model,
        "inputs": torch.tensor([[1.0, 0.5]]),   # one sample, two features
        "target": torch.tensor([[1.0]]),        # the answer we want
        "loss": "mse",
    }
