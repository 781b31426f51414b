"""Scenes to pixels: the raster backend's loop. A frame is paint_frame(scene, t) on a skia
surface; video, GIF and stills differ only in which times they draw and where pixels go."""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Optional

from .canvas import Canvas2D, FontBook, RasterSurface
from .damage import Damage
from .encode import write_gif, write_mp4, write_still
from .paint import paint_frame, palette_of
from .scene.fonts import font_book as _font_book
from .stillness import Stillness


def font_book(scene: dict) -> FontBook:
    """The fonts a scene names (bundled files by name, or a user's font file by path)."""
    return _font_book(scene["fonts"])


Span = Optional[tuple[float, float]]  # (t0, t1) seconds: a part of the animation; None: all of it


def frame_count(scene: dict, fps: float, span: Span = None) -> int:
    """duration x fps, rounded: at most half a frame of the final hold is gained or lost.
    With span = (t0, t1), the part's length x fps instead."""
    t0, t1 = span if span is not None else (0.0, scene["duration"])
    return max(1, round((t1 - t0) * fps))


def frame_times(scene: dict, fps: float, span: Span = None) -> list[float]:
    """Frame i shows time i / fps (t0 + i / fps within a span): a frame is the same picture
    whatever the frame rate."""
    t0 = span[0] if span is not None else 0.0
    return [t0 + i / fps for i in range(frame_count(scene, fps, span))]


def drawn_times(scene: dict, times: list[float]) -> list[bool]:
    """For each frame time, whether it must be drawn: False where the scene stands still since
    the frame before (a hold, a pause), whose pixels are then handed on again."""
    still = Stillness(scene)
    return [i == 0 or not still.same(times[i - 1], t) for i, t in enumerate(times)]


def raster_frames(scene: dict, fps: float, fonts: FontBook | None = None, view: dict | None = None,
                  span: Span = None) -> Iterator:
    """BGRA frames, drawn one at a time into one reused buffer (memory stays flat); a frame
    the same as the one before is not drawn again, and of the others only the part that can
    differ from the one before is (damage.py)."""
    fonts = fonts or font_book(scene)
    surface = RasterSurface(scene["width"], scene["height"], fonts=fonts)
    times = frame_times(scene, fps, span)
    redraw = Redraw(scene, view, fonts)
    for t, draw in zip(times, drawn_times(scene, times)):
        if draw:
            redraw.paint(surface, t)
        yield surface.pixels()


class Redraw:
    """Draws frames onto surfaces that keep their pixels: a surface that holds the frame of an
    earlier time gets only the damage since then (damage.py) drawn again, a new one the whole
    frame. The damage is drawn on a scratch surface and its rectangles copied over: a part that
    crosses a rectangle's edge is drawn whole, not cut by a clip, so its edges are antialiased
    as in the frame drawn afresh, and the copy is that frame's pixels, exactly."""

    def __init__(self, scene: dict, view: dict | None = None, fonts: FontBook | None = None):
        self.scene, self.view = scene, view
        self.damage = Damage(scene, view)
        self.fonts = fonts
        self.scratch: RasterSurface | None = None  # made at the first damage drawn
        self.shows: dict = {}  # id(surface) -> the time whose frame it holds

    def paint(self, surface: RasterSurface, t: float) -> None:
        before = self.shows.get(id(surface))
        within = self.damage.between(before, t) if before is not None else None
        if within is None:
            paint_frame(surface.ctx, self.scene, t, self.view)
        elif within["rects"]:
            if self.scratch is None:
                self.scratch = RasterSurface(self.scene["width"], self.scene["height"],
                                             fonts=self.fonts or font_book(self.scene))
            paint_frame(self.scratch.ctx, self.scene, t, self.view, within)
            src, dst = self.scratch.pixels(), surface.pixels()
            for x0, y0, x1, y1 in within["rects"]:
                dst[y0:y1, x0:x1] = src[y0:y1, x0:x1]
        self.shows[id(surface)] = t


def raster_frames_ahead(scene: dict, fps: float, fonts: FontBook | None = None,
                        ahead: int = 2, view: dict | None = None, span: Span = None,
                        times: list[float] | None = None, drawn: list[bool] | None = None) -> Iterator:
    """raster_frames drawn by a worker thread up to ``ahead`` drawn frames before the consumer.

    The consumer (write_mp4) spends most of a frame blocked in the pipe write to ffmpeg, which
    releases the GIL, so the next frame is drawn meanwhile and the video is encoder-bound. Each
    drawn frame has its own surface (``ahead`` + 1 of them, so memory stays flat); a yielded frame
    is not drawn over until the consumer asks for the next drawn one. Same frames, same order.
    A frame the same as the one before (a hold) never reaches the worker: the consumer's side
    hands on the frame it has again, so a paced lecture's many holds cost no thread hand-off
    (linear: 1047 of its 1554 frames).
    times: the frame times to draw instead of the whole animation's (a range of them, for a
    worker process); drawn: drawn_times of those times, if the caller has them already.
    """
    fonts = fonts or font_book(scene)
    surfaces = [RasterSurface(scene["width"], scene["height"], fonts=fonts) for _ in range(ahead + 1)]
    redraw = Redraw(scene, view, fonts)
    times = frame_times(scene, fps, span) if times is None else times
    drawn = drawn_times(scene, times) if drawn is None else drawn
    drawn = [d or i == 0 for i, d in enumerate(drawn)]  # the first frame has none before it to repeat
    free = threading.Semaphore(len(surfaces))
    ready: queue.Queue = queue.Queue()
    stop = threading.Event()
    done = object()

    def draw() -> None:
        try:
            slot = -1
            for t, draw in zip(times, drawn):
                if not draw:  # a hold: the consumer hands on the frame it has
                    continue
                free.acquire()
                if stop.is_set():
                    return
                slot = (slot + 1) % len(surfaces)
                redraw.paint(surfaces[slot], t)
                ready.put(surfaces[slot])
            ready.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            ready.put(exc)

    worker = threading.Thread(target=draw, name="bprender-draw", daemon=True)
    worker.start()
    try:
        pixels = None
        for i, draw in enumerate(drawn):
            if draw:
                if pixels is not None:
                    free.release()  # the consumer is done with the frame before
                item = ready.get()
                if item is done:
                    return
                if isinstance(item, BaseException):
                    raise item
                pixels = item.pixels()
            yield pixels
    finally:
        stop.set()
        free.release()
        worker.join()


def render_frame(scene: dict, t: float, fonts: FontBook | None = None, view: dict | None = None):
    """One frame as a fresh (H, W, 4) BGRA array."""
    surface = RasterSurface(scene["width"], scene["height"], fonts=fonts or font_book(scene))
    paint_frame(surface.ctx, scene, t, view)
    return surface.pixels().copy()


def render_video(scene: dict, path, *, fps: float, quality: str = "final", view: dict | None = None,
                 progress: Callable[[int], None] | None = None, span: Span = None, jobs: int = 1) -> None:
    """The animation (or the part span = (t0, t1) of it) as an MP4. jobs > 1: frame ranges
    drawn and encoded by that many worker processes, joined without re-encoding (parallel.py)."""
    if jobs > 1:
        from .parallel import render_video_in_ranges
        render_video_in_ranges(scene, path, fps=fps, quality=quality, view=view, progress=progress,
                               span=span, jobs=jobs)
        return
    times = frame_times(scene, fps, span)
    drawn = drawn_times(scene, times)
    frames = raster_frames_ahead(scene, fps, view=view, times=times, drawn=drawn)
    try:  # the held frames (not drawn again) are not encoded again either
        write_mp4(path, frames, width=scene["width"], height=scene["height"], fps=fps,
                  quality=quality, held=[not d for d in drawn], progress=progress)
    finally:
        frames.close()  # on an ffmpeg error too: stops the drawing thread now


def render_gif(scene: dict, path, *, fps: float, view: dict | None = None,
               progress: Callable[[int], None] | None = None, span: Span = None) -> None:
    """The animation (or the part span = (t0, t1) of it) as a looping GIF."""
    fonts = font_book(scene)
    write_gif(path, lambda: raster_frames(scene, fps, fonts, view, span), width=scene["width"],
              height=scene["height"], fps=fps, progress=progress)


def render_still(scene: dict, path, t: float, view: dict | None = None, image_format: str | None = None) -> None:
    """PNG, SVG or PDF (image_format, else by suffix) of the frame at time t."""
    fonts = font_book(scene)
    write_still(path, lambda canvas: paint_frame(Canvas2D(canvas, fonts), scene, t, view),
                width=scene["width"], height=scene["height"], background=palette_of(scene, view)["background"],
                image_format=image_format)
