"""bprender: animate a real PyTorch forward and backward pass.

    import bprender
    anim = bprender.animate("linear")      # or animate(model=..., inputs=..., target=..., loss="mse")
    anim.save("backprop.mp4")

    rec = bprender.Recorder(model)         # inside your own training loop (imports torch on use)
    with rec.step(capture=True):
        loss = criterion(model(x), y); loss.backward()
    rec.save("run.trace.json")
"""
__version__ = "0.1.0"

from .api import Animation, animate  # noqa: E402  (the version must exist before submodules load)

__all__ = ["Animation", "Recorder", "animate", "record", "__version__"]


def __getattr__(name: str):
    # Recorder and record need torch: import it only when they are used (import bprender stays light)
    if name in ("Recorder", "record"):
        from .trace import record as recording
        return getattr(recording, name)
    raise AttributeError(f"module 'bprender' has no attribute {name!r}")
