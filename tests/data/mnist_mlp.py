"""An MNIST-size MLP (784-32-10) on a batch of 64 made-up images: the neurons view draws sample 1
and, for the wide layers, the first, last and largest-gradient neurons."""
import torch
from torch import nn


def build():
    model = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    images = torch.rand(64, 784)
    labels = torch.randint(0, 10, (64,))
    return {"model": model, "inputs": images, "target": labels, "loss": "cross_entropy"}
