"""A small MLP fitted to six points: the model of presets/training.yaml.

    x (2 numbers) -> Linear(2, 3) -> tanh -> Linear(3, 1) -> y_hat
    loss = mean over the 6 points of (y_hat - y) ** 2          (mean squared error)

The six targets follow y = x1 - x2, a rule the network does not know and has to learn from
the points. The weights start random (fixed seed) and are rounded to two decimals, so the
numbers in the first update are short enough to check by hand on the board.
"""
import torch
from torch import nn

SEED = 0


def build():
    torch.manual_seed(SEED)
    model = nn.Sequential(
        nn.Linear(2, 3),   # 0: input -> hidden: 6 weights + 3 biases
        nn.Tanh(),         # 1: hidden activations, each in (-1, 1)
        nn.Linear(3, 1),   # 2: hidden -> output: 3 weights + 1 bias
    )
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.round(decimals=2))   # readable numbers; still a seeded random start
    points = torch.tensor([[-1.0, -0.5],
                           [-0.5, 1.0],
                           [0.0, 0.0],
                           [0.5, -1.0],
                           [1.0, 0.5],
                           [0.5, 0.5]])          # six 2-D points, one per row
    targets = torch.tensor([[-0.5],
                            [-1.5],
                            [0.0],
                            [1.5],
                            [0.5],
                            [0.0]])              # y = x1 - x2 for each point
    return {
        "model": model,
        "inputs": points,
        "target": targets,
        "loss": "mse",
    }
