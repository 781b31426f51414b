"""Encoders: frames in, files out (MP4, GIF, PNG/SVG/PDF stills).

Every writer streams (memory does not grow with the clip's length) and is atomic (the
file appears only when it is complete; a failure leaves any existing file untouched).
Frames are (height, width, 4) uint8 BGRA numpy arrays, e.g. a skia surface's pixels.
"""
from bprender.encode.atomic import atomic_output
from bprender.encode.gif import write_gif
from bprender.encode.still import write_still
from bprender.encode.video import write_mp4

__all__ = ["atomic_output", "write_gif", "write_mp4", "write_still"]
