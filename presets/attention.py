"""One single-head self-attention block, as inside a transformer, on 3 tokens of width 4.

    x (3 tokens x 4 numbers)
      attn:   q = W_q x,  k = W_k x,  v = W_v x            (three Linear(4, 4))
              scores  = q k^T / sqrt(4)                   (3 x 3: how much token i looks at j)
              weights = softmax(scores, each row)         (each row sums to 1)
              mixed   = weights v                         (each token: a weighted average of v)
              a       = W_o mixed                         (the output Linear(4, 4))
      norm:   h = LayerNorm(x + a)                        (residual connection, then normalise)
      head:   y = Linear(4, 1)(h)                         (one number per token)
    loss = mean squared error between y and a target per token

Things to show: x reaches the loss along two roads (through attention and around it, the
residual), so its gradient is the sum of both; q, k and v each get gradient through the
softmax, which couples all tokens of a row.
"""
import math

import torch
from torch import nn

SEED = 0
TOKENS = 3
D = 4


class SelfAttention(nn.Module):
    """Single-head scaled dot-product self-attention with an output projection."""

    def __init__(self, d):
        super().__init__()
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.out = nn.Linear(d, d)
        self.scale = 1.0 / math.sqrt(d)

    def forward(self, x):
        q, k, v = self.q(x), self.k(x), self.v(x)
        scores = (q @ k.transpose(-2, -1)) * self.scale
        weights = torch.softmax(scores, dim=-1)
        return self.out(weights @ v)


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.attn = SelfAttention(d)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, 1)

    def forward(self, x):
        h = self.norm(x + self.attn(x))   # residual, then LayerNorm ("post-norm", as in 2017)
        return self.head(h)


def build():
    torch.manual_seed(SEED)
    model = Block(D)
    tokens = torch.randn(TOKENS, D)        # 3 token embeddings (rows)
    target = torch.tensor([[1.0], [0.0], [-1.0]])
    return {"model": model, "inputs": tokens, "target": target, "loss": "mse"}
