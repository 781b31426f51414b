"""The captions as text: what the caption band says at a time (the player's screen-reader line
mirrors caption_at), and as WebVTT subtitles beside a video (`bprender video --subtitles`): one
cue per caption page, from when it is first visible to when it goes, each page's lines as the
cue's lines. A side-by-side composite names each panel before its caption."""
from __future__ import annotations

from .tracks import value_at

VISIBLE = 0.002  # the painters' threshold: a caption fainter than this is not drawn


def caption_at(scene: dict, t: float) -> str:
    """The caption on screen at t: the most visible page's lines (one per line), every panel's
    for a composite ("label: ..."), "" while the band is empty."""
    if "panels" in scene:
        parts = []
        for panel in scene["panels"]:
            text = caption_at(panel["scene"], t)
            if text:
                parts.append(f"{panel['label']}: {text}")
        return "\n".join(parts)
    best, best_alpha = None, VISIBLE
    for item in scene["captions"]["items"]:
        alpha = value_at(item["track"], t)
        if alpha > VISIBLE and alpha >= best_alpha:  # on a tie the later (newer) caption
            best, best_alpha = item, alpha
    return "\n".join(best["lines"]) if best else ""


def cues(scene: dict) -> list[tuple[float, float, str]]:
    """(start, end, text) for every caption page, in time order, clipped to the animation; a
    composite's cues are the times its text changes."""
    duration = scene["duration"]
    if "panels" in scene:
        times = sorted({min(max(t, 0.0), duration) for p in scene["panels"]
                        for item in p["scene"]["captions"]["items"] for t in _span(item["track"])} | {0.0, duration})
        out = []
        for a, b in zip(times, times[1:]):
            text = caption_at(scene, (a + b) / 2) if b > a else ""
            if not text:
                continue
            if out and out[-1][2] == text and abs(out[-1][1] - a) < 1e-9:
                out[-1] = (out[-1][0], b, text)
            else:
                out.append((a, b, text))
        return out
    out = []
    for item in scene["captions"]["items"]:
        start, end = _span(item["track"])
        start, end = max(start, 0.0), min(end, duration)
        if end > start:
            out.append((start, end, "\n".join(item["lines"])))
    return sorted(out, key=lambda cue: cue[0])


def _span(track) -> tuple[float, float]:
    """From the first keyframe to the last: a caption track is 0 outside, shown between."""
    return track[0][0], track[-1][0]


def webvtt(scene: dict, span: tuple[float, float] | None = None) -> str:
    """The WebVTT file for the whole animation, or for a part of it (span: the seconds a
    `--only` clip shows; its cues are clipped to it and start at 0 with the clip)."""
    t0, t1 = span if span is not None else (0.0, scene["duration"])
    clipped = [(max(a, t0) - t0, min(b, t1) - t0, text) for a, b, text in cues(scene) if b > t0 and a < t1]
    lines = ["WEBVTT", ""]
    for k, (start, end, text) in enumerate(clipped, start=1):
        # a cue's text may not hold a blank line or "-->"; captions have neither, but be safe
        body = "\n".join(line if line.strip() else "\u00a0" for line in text.replace("-->", "→").split("\n"))
        lines += [str(k), f"{timestamp(start)} --> {timestamp(end)}", body, ""]
    return "\n".join(lines)


def timestamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"
