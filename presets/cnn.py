"""A tiny convolutional network on an 8x8 picture of a vertical bar.

    image (1 x 1 x 8 x 8)
      -> conv:    Conv2d(1 -> 2 channels, 3x3 kernel)   -> 2 feature maps of 6x6
      -> relu
      -> pool:    MaxPool2d(2)                          -> 2 maps of 3x3
      -> flatten                                        -> 18 numbers
      -> fc:      Linear(18 -> 2)                       -> 2 class scores (logits)
    loss = cross_entropy(logits, class 1)

Things to show: each 3x3 kernel weight is shared by all 36 positions of its feature map, so
its gradient is a sum over the whole image; max pooling sends the gradient back only to the
position that won the max, the other three get zero.
"""
from collections import OrderedDict

import torch
from torch import nn

SEED = 0


def build():
    torch.manual_seed(SEED)
    model = nn.Sequential(OrderedDict(
        conv=nn.Conv2d(1, 2, kernel_size=3),   # 2 filters of 3x3 (+ 2 biases)
        relu=nn.ReLU(),
        pool=nn.MaxPool2d(2),                  # the largest of every 2x2 block
        flatten=nn.Flatten(),                  # 2 x 3 x 3 -> 18
        fc=nn.Linear(18, 2),                   # scores for class 0 and class 1
    ))
    # Hand-set filters so the picture means something (random ones left every ReLU dead):
    # filter 0 looks for vertical bars, filter 1 for horizontal ones.
    with torch.no_grad():
        bar = torch.tensor([[-0.5, 1.0, -0.5]] * 3)
        model.conv.weight.copy_(torch.stack([bar, bar.t()]).unsqueeze(1) * 0.5)
        model.conv.bias.fill_(0.05)
    image = torch.zeros(1, 1, 8, 8)            # batch 1, 1 channel (grey), 8x8 pixels
    image[0, 0, 1:7, 3] = 1.0                  # a bright vertical bar in column 3
    image[0, 0, 1:7, 4] = 0.5                  # with a softer edge beside it
    return {
        "model": model,
        "inputs": image,
        "target": torch.tensor([1]),           # the true class: 1 ("vertical bar")
        "loss": "cross_entropy",               # softmax over the 2 scores, then -log p(class 1)
    }
