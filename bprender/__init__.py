"""bprender: animate a real PyTorch forward and backward pass."""
__version__ = "0.1.0"
