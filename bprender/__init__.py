"""bprender: animate a real PyTorch forward and backward pass.

    import bprender
    anim = bprender.animate("linear")      # or animate(model=..., inputs=..., target=..., loss="mse")
    anim.save("backprop.mp4")
"""
__version__ = "0.1.0"

from .api import Animation, animate  # noqa: E402  (the version must exist before submodules load)

__all__ = ["Animation", "animate", "__version__"]
