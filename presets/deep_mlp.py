"""One deep, narrow MLP used by two presets: deep_sigmoid.yaml and deep_relu.yaml.

    x (4 numbers) -> [Linear(4, 4) -> activation] x 7 -> Linear(4, 1) -> prediction

8 Linear layers, 4 neurons wide. nn.Sequential numbers its parts 0, 1, 2, ..., so the Linear
layers are 0, 2, 4, ..., 14 and their weights are named 0.weight, 2.weight, ..., 14.weight:
the number grows with depth, 0 next to the input, 14 next to the loss.

Both presets get exactly the same weights and the same data (same seed, same order of random
draws); only the activation differs. That isolates the lesson:

- sigmoid'(z) is at most 0.25, so every layer the gradient passes back through shrinks it.
  After 7 of them the first layer's weight gradient is thousands of times smaller than the
  last layer's: the vanishing gradient problem.
- relu'(z) is exactly 1 where the neuron is active, so the gradient passes back through
  active neurons without that shrinking, and the first layers still get a usable gradient.

Weights use PyTorch's default initialisation. The biases start at 0.1, a common choice with
ReLU: every neuron starts slightly "on", so no layer is dead (all zero) at the start.
"""
import torch
from torch import nn

SEED = 0
WIDTH = 4        # neurons per hidden layer: every tensor stays small enough to show its numbers
LAYERS = 8       # Linear layers
SAMPLES = 8      # one batch of 8 samples


def build(activation):
    """The deep MLP with ``activation`` (an nn.Module class) after every Linear but the last."""
    torch.manual_seed(SEED)
    parts = []
    for i in range(LAYERS):
        last = i == LAYERS - 1
        parts.append(nn.Linear(WIDTH, 1 if last else WIDTH))
        if not last:
            parts.append(activation())
    model = nn.Sequential(*parts)
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                layer.bias.fill_(0.1)
    # The parameters above are drawn first and the data after, so the data is the same
    # whichever activation is used (activations have no parameters).
    x = torch.randn(SAMPLES, WIDTH)
    y = torch.randn(SAMPLES, 1)
    return {"model": model, "inputs": x, "target": y, "loss": "mse"}


def build_sigmoid():
    return build(nn.Sigmoid)


def build_relu():
    return build(nn.ReLU)
