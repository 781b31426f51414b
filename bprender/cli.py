"""The command line: a thin click layer over bprender.pipeline and bprender.render.

Every user mistake arrives here as a BprenderError and leaves as a one-line message and exit
status 1, never a traceback; outputs are written atomically by the encoders.

Exit statuses (main): 0 done; 1 a user mistake (one line); 2 a usage error (one line, as click
numbers it); 70 a bug in bprender (one line naming a log file with the traceback, in the temp
folder); 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (each cleans up as Ctrl-C does: no partial file).
Text reaching the terminal has its control characters quoted (``\x1b``), so a name holding an
escape sequence cannot drive the terminal.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

import click

from . import __version__
from .errors import BprenderError, PresetError
from .lecture import settle_time
from .view import resolve_view

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# CLI flag <-> preset key, so an override error names the flag the user typed
FLAGS = {"view": "--view", "render.size": "--size", "render.fps": "--fps", "render.quality": "--quality",
         "render.theme": "--theme", "render.font": "--font", "gif.width": "--width", "gif.fps": "--fps",
         "depth": "--depth", "expand": "--expand", "notation": "--names", "sample": "--sample", "pace": "--pace", "hide": "--hide"}


BUG_STATUS = 70  # EX_SOFTWARE (sysexits.h): an internal error, not the user's mistake
_KEPT_ESCAPES = ("\033[?25l", "\033[?25h")  # the progress bar hides and shows the cursor


def quote_controls(text: str, keep: str = "") -> str:
    """``text`` with control characters (C0, DEL, C1, bidi overrides) written as escapes such as
    ``\x1b`` or ``\u202e``, except those in ``keep``."""
    out = []
    for ch in text:
        o = ord(ch)
        if ch in keep or not (o < 0x20 or 0x7F <= o < 0xA0 or 0x202A <= o <= 0x202E or 0x2066 <= o <= 0x2069):
            out.append(ch)
        else:
            out.append(f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}")
    return "".join(out)


def one_line(text: str) -> str:
    """A message as one terminal line: lines joined, controls quoted."""
    return quote_controls(" ".join(part.strip() for part in str(text).splitlines() if part.strip()))


class UserError(click.ClickException):
    """Printed as 'Error: ...' (one line) with exit status 1."""

    def __init__(self, message: str):
        super().__init__(one_line(message))


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the program is, so cleanup runs as for Ctrl-C (Python's
    default action for those signals ends the process without running finally blocks)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum, frame):
    signal.signal(signum, signal.SIG_IGN)  # a second one must not cut the cleanup short
    raise Terminated(signum)


def interrupted(exc: BaseException) -> int:
    """Say that nothing was written; the exit status for the signal (128 + its number)."""
    signum = getattr(exc, "signum", signal.SIGINT)
    name = "Interrupted" if signum == signal.SIGINT else f"Stopped by {signal.Signals(signum).name}"
    click.echo(f"\n{name}: no output file was written.", err=True)
    return 128 + signum


def run(step):
    """Call step(); turn user errors into clean CLI errors and Ctrl-C into a short message."""
    try:
        return step()
    except PresetError as err:
        if err.key in FLAGS and err.path is None:
            raise UserError(f"{FLAGS[err.key]}: {err.message}" + (f" ({err.hint})" if err.hint else "")) from None
        raise UserError(str(err)) from None
    except BprenderError as err:
        raise UserError(str(err)) from None
    except KeyboardInterrupt as exc:
        sys.exit(interrupted(exc))


SOURCE_HELP = "PRESET is a YAML file, a built-in preset's name (`bprender presets`), or a saved trace or scene file."


def presets_argument(f):
    """One PRESET, or several to show side by side in panels on one clock."""
    return click.argument("presets", metavar="PRESET...", nargs=-1, required=True)(f)


def open_sources(args: tuple, request) -> list:
    from .pipeline import open_source
    return [run(lambda arg=arg: open_source(arg, request)) for arg in args]


def load_scene(args: tuple, request, target: str = "video"):
    """(the first source, the scene): one source's scene, or several side by side."""
    from .pipeline import scene_for
    sources = open_sources(args, request)
    return sources[0], run(lambda: scene_for(sources, target, cache=use_cache()))


def view_for(source, scene: dict, highlight, hide, theme=None):
    """The view state. --hide has already left its groups out of a scene built here (request_of
    got it, and the rest was laid out again); a saved scene is laid out, so there the hidden
    groups are view state and leave holes."""
    if "panels" in scene and (highlight or hide):
        raise UserError("--highlight and --hide work on one preset, not side by side")
    laid_out = source.scene is not None
    return run(lambda: resolve_view(scene, highlight, hide if laid_out else (), theme))


def default_output_many(presets: tuple, output: str | None, suffix: str) -> Path:
    return Path(output) if output else Path("-vs-".join(_stem(p) for p in presets) + suffix)


def _stem(arg: str) -> str:
    """linear.yaml, linear.trace.json and linear.scene.json all give "linear"."""
    name = Path(arg).name
    for ending in (".trace.json", ".scene.json", ".json", ".yaml", ".yml"):
        if name.endswith(ending) and len(name) > len(ending):
            return name[:-len(ending)]
    return Path(name).stem


def preset_argument(f):
    return click.argument("preset", metavar="PRESET")(f)


def look_options(f):
    f = click.option("--theme", type=click.Choice(["light", "dark", "colorblind"]), default=None,
                     help="Colour theme (default: the preset's, else light).")(f)
    f = click.option("--view", "view_kind", type=click.Choice(["ops", "neurons", "modules"]), default=None,
                     help="ops: the autograd graph; neurons: an MLP as a network diagram; modules: one node "
                          "per module (default: the preset's, else ops).")(f)
    f = click.option("--depth", type=click.IntRange(min=1), default=None, metavar="N",
                     help="Modules view: draw N levels of the module tree, deeper modules whole (default: all).")(f)
    f = click.option("--expand", multiple=True, metavar="NAME",
                     help="Modules view: open a repeated block or a module drawn whole (a module path such as "
                          "encoder.layers, or a class). Repeatable.")(f)
    f = click.option("--pace", type=click.Choice(["slow", "normal", "fast"]), default=None,
                     help="Scale the whole timeline: slow (x1.5), normal, fast (x0.7); every caption still stays "
                          "its reading time at that pace (default: the preset's, else normal).")(f)
    f = click.option("--step", type=click.IntRange(min=0), default=None, metavar="N",
                     help="A recorded run (bprender.Recorder): draw captured step N (default: the first "
                          "captured).")(f)
    return sample_option(names_option(f))


def sample_option(f):
    """--sample K: kept in the click context for request_of, like --names."""
    def remember(ctx, param, value):
        ctx.meta["bprender.sample"] = value
        return value
    return click.option("--sample", type=click.IntRange(min=1), default=None, expose_value=False, metavar="K",
                        callback=remember,
                        help="Neurons view: show sample K of the batch (default: the preset's, else 1).")(f)


def names_option(f):
    """--names lecture|torch, on every command that draws: kept in the click context for
    request_of, so each command's own signature stays as it is."""
    def remember(ctx, param, value):
        ctx.meta["bprender.names"] = value
        return value
    return click.option("--names", type=click.Choice(["lecture", "torch"]), default=None, expose_value=False,
                        callback=remember,
                        help="lecture: W¹, b¹, z¹, a¹ counted by layer, ops by meaning (σ, + residual); torch: "
                             "PyTorch's own names (0.weight, Addmm). Default: the preset's notation, else "
                             "lecture.")(f)


def cache_option(f):
    """--no-cache: trace the model again even when a trace of it is cached (bprender/trace_cache.py)."""
    def remember(ctx, param, value):
        ctx.meta["bprender.no_cache"] = value
        return value
    return click.option("--no-cache", is_flag=True, expose_value=False, callback=remember,
                        help="Trace the model again instead of re-using the cached trace of an unchanged model.")(f)


def use_cache() -> bool:
    ctx = click.get_current_context(silent=True)
    return not (ctx is not None and ctx.meta.get("bprender.no_cache"))


def format_option(f):
    return click.option("--format", "image_format", type=click.Choice(["png", "svg", "pdf"]), default=None,
                        help="The image format (default: by the output's suffix; PNG for -o -).")(f)


def view_options(f):
    f = click.option("--hide", "hide", multiple=True, metavar="GROUP",
                     help="Leave a group of nodes out and lay the rest out again: a top-level module, or inputs / "
                          "parameters / ops. Repeatable. (On a saved scene, which is laid out, it leaves holes.)")(f)
    f = click.option("--highlight", metavar="NODE", default=None,
                     help="Keep the gradient paths from the loss to NODE (a name such as w) bright, dim the rest.")(f)
    return f


def size_option(f):
    return click.option("--size", metavar="WxH", default=None,
                        help="Frame size, e.g. 1920x1080 (default: the preset's, else 1280x720).")(f)


def lecture_options(f, only: bool = True):
    if only:
        f = click.option("--only", metavar="STEP|FIRST..LAST", default=None,
                         help="Render just one part as its own clip: a phase (backward), a step (backward:3) or an "
                              "inclusive range (forward..loss, backward:2..backward:5). See --steps.")(f)
    f = click.option("--steps", "list_steps", is_flag=True,
                     help="List the named steps (name, time range, label) and exit without rendering.")(f)
    return f


def steps_only_option(f):
    return lecture_options(f, only=False)


def print_steps(scene: dict) -> None:
    from .lecture import step_lines
    for line in step_lines(scene):
        click.echo(line)


def quiet_option(f):
    return click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")(f)


def output_option(suffix: str, what: str):
    return click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
                        help=f"Where to write the {what} (default: PRESET's name with {suffix}).")


def default_output(preset_arg: str, output: str | None, suffix: str) -> Path:
    return Path(output) if output else Path(_stem(preset_arg) + suffix)


def request_of(**options):
    """The command's options as one Request (those not given stay None)."""
    from .pipeline import Request
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        options.setdefault("names", ctx.meta.get("bprender.names"))
        options.setdefault("sample", ctx.meta.get("bprender.sample"))
    return Request(**options)


def video_fps(source, scene: dict, target: str = "video") -> int:
    """The frame rate: the preset's (or trace's) for its target, else the saved scene's."""
    if source.preset is None or len(scene.get("panels", [])) > 0:
        return scene["fps"]
    return source.preset.data["gif" if target == "gif" else "render"]["fps"]


def quality_of(source, quality: str | None) -> str:
    if quality is not None:
        return quality
    return source.preset.data["render"]["quality"] if source.preset is not None else "final"


@contextlib.contextmanager
def progress_reporter(quiet: bool, total: int, label: str):
    """A click progress bar on stderr fed by report(frames done), or None with --quiet."""
    if quiet:
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True) as bar:
        done = [0]

        def report(n: int) -> None:
            if n > done[0]:
                bar.update(n - done[0])
                done[0] = n
        yield report


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="bprender")
def cli():
    """Animate a real PyTorch backward pass: MP4, GIF, stills and scene data from a preset.

    \b
    Examples:
      bprender video linear -o backprop.mp4
      bprender gif presets/linear.yaml -o backprop.gif
      bprender frame linear --at 3.5 -o figure.pdf
      bprender html linear -o backprop.html
      bprender sheet linear -o sheet.pdf
      bprender watch presets/linear.yaml --open
      bprender trace linear -o linear.trace.json && bprender video linear.trace.json
      bprender presets

    PRESET is a YAML file, the name of a built-in preset (see `bprender presets`), or a trace
    or scene file written by `bprender trace` or `bprender scene`.
    """


@cli.command(context_settings=CONTEXT)
def presets():
    """List the built-in presets, one line each.

    \b
    Example:
      bprender presets
    """
    from .preset import list_builtin_presets
    items = run(list_builtin_presets)
    if not items:
        raise UserError("no built-in presets were found (is the package installed completely?)")
    width = max(len(name) for name, *_ in items)
    for name, title, description, _path in items:
        click.echo(f"{name:<{width}}  {title}" + (f" - {description}" if description else ""))


@cli.command(context_settings=CONTEXT)
@cache_option
@names_option
@preset_argument
def check(preset):
    """Validate a preset (or a saved trace), trace it, and summarise what the animation will show.

    Parameters are named as the animation names them (W¹, b¹; --names torch: 0.weight).

    \b
    Examples:
      bprender check presets/linear.yaml
      bprender check deep_sigmoid --names torch
      bprender trace linear -o linear.trace.json && bprender check linear.trace.json
    """
    from .fmt import summary_text
    from .notation import notation_for
    from .pipeline import scene_of, scene_settings, trace_for
    from .render import frame_count
    source = open_sources((preset,), request_of())[0]
    trace = run(lambda: trace_for(source, use_cache()))
    p = source.preset
    scene = run(lambda: scene_of(trace, p))
    names = run(lambda: notation_for(trace, scene_settings(p)))
    kinds = {}
    for node in trace["nodes"]:
        kinds[node["kind"]] = kinds.get(node["kind"], 0) + 1
    fps = p.data["render"]["fps"]
    w, h = p.data["render"]["size"]
    click.echo(f"{preset}: ok")
    click.echo(f"  title     {trace.get('title') or p.data['title']}")
    click.echo(f"  graph     {len(trace['nodes'])} nodes ({kinds.get('op', 0) + kinds.get('loss', 0)} ops, "
               f"{kinds.get('leaf', 0)} leaves), {len(trace['edges'])} edges, {len(trace['backward'])} backward steps")
    click.echo(f"  loss      {summary_text(trace['loss']['value'])}")
    for leaf in trace["leaves"]:
        click.echo(f"  grad      {names.param(leaf['name'])}: {summary_text(leaf['grad'])}")
    click.echo(f"  video     {scene['duration']:.2f} s, {w}x{h} at {fps} fps = {frame_count(scene, fps)} frames")


@cli.command(context_settings=CONTEXT)
@cache_option
@preset_argument
@output_option(".trace.json", "trace JSON")
def trace(preset, output):
    """Trace the preset's forward and backward pass and write the trace as JSON.

    Every rendering command takes the trace file in place of the preset, without running the
    model again (and without importing torch).

    \b
    Examples:
      bprender trace linear -o linear.trace.json
      bprender video linear.trace.json -o backprop.mp4
    """
    from .encode import atomic_output
    from .jsonio import dumps
    from .pipeline import trace_for
    out = default_output(preset, output, ".trace.json")
    source = open_sources((preset,), request_of())[0]
    text = dumps(run(lambda: trace_for(source, use_cache())))
    run(lambda: _write_text(out, text, atomic_output))
    click.echo(f"wrote {out}", err=True)


@cli.command(context_settings=CONTEXT)
@cache_option
@presets_argument
@output_option(".scene.json", "scene JSON")
@size_option
@click.option("--fps", type=int, default=None, help="Frames per second recorded in the scene.")
@click.option("--for", "target", type=click.Choice(["video", "gif", "sheet"]), default="video", show_default=True,
              help="Lay the scene out for this output: a GIF's or a contact sheet's frames are smaller.")
@look_options
def scene(presets, output, size, fps, target, theme, view_kind, depth, expand, step, pace):
    """Write the resolved Scene (positions, colours, text, timing) as JSON.

    The same file drives the video renderer and the HTML player, and every rendering command
    takes it in place of the preset (docs/formats.md describes it field by field). It is laid
    out for one output size; its theme can still change (`--theme` when rendering it).

    \b
    Examples:
      bprender scene linear -o linear.scene.json --size 1920x1080
      bprender scene linear --for gif -o linear.gif.scene.json
      bprender gif linear.gif.scene.json -o backprop.gif
    """
    from .encode import atomic_output
    from .jsonio import dumps
    out = default_output_many(presets, output, ".scene.json")
    _, s = load_scene(presets, request_of(size=size, fps=fps, theme=theme, view=view_kind, depth=depth, expand=expand, step=step, pace=pace), target=target)
    text = dumps(s)
    run(lambda: _write_text(out, text, atomic_output))
    click.echo(f"wrote {out}", err=True)


def _write_text(path: Path, text: str, atomic_output) -> None:
    with atomic_output(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def size_kb(path: Path) -> int:
    """The size of what was written, in KB (0 for a stream: standard output, a FIFO)."""
    from .encode.atomic import is_stream
    return 0 if is_stream(path) else path.stat().st_size // 1024


@cli.command(context_settings=CONTEXT)
@cache_option
@presets_argument
@output_option(".mp4", "video")
@size_option
@click.option("--fps", type=int, default=None, help="Frames per second (default: the preset's, else 30).")
@click.option("--quality", type=click.Choice(["draft", "final"]), default=None,
              help="draft encodes fast; final is smaller and sharper (default).")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes, each drawing and encoding a range of frames, joined without "
                   "re-encoding (pays with more cores than the encoder uses: see README).")
@look_options
@view_options
@click.option("--subtitles", is_flag=True,
              help="Also write the captions as WebVTT subtitles beside the video (same name, .vtt).")
@lecture_options
@quiet_option
def video(presets, output, size, fps, quality, jobs, theme, view_kind, depth, expand, step, pace, highlight, hide,
          only, list_steps, quiet, subtitles):
    """Render the animation to an MP4 (H.264) video for slides.

    \b
    Examples:
      bprender video linear -o backprop.mp4
      bprender video presets/linear.yaml -o draft.mp4 --quality draft --size 854x480
      bprender trace linear -o linear.trace.json && bprender video linear.trace.json
      bprender video linear -o w-paths.mp4 --highlight w --hide inputs
      bprender video linear --steps
      bprender video linear --only backward -o backward.mp4
      bprender video linear --only backward:2..backward:5 -o steps.mp4
      bprender video deep_sigmoid deep_relu -o compare.mp4     (side by side)
      bprender video deep_sigmoid -o deep.mp4 --jobs 4          (4 worker processes)
      bprender video deep_sigmoid --names torch -o deep.mp4   (PyTorch's names: 0.weight, Addmm)
      bprender video linear --pace slow --subtitles -o lecture.mp4   (and lecture.vtt)
    """
    from .lecture import part_span
    from .render import frame_count, render_video
    out = default_output_many(presets, output, ".mp4")
    source, s = load_scene(presets, request_of(size=size, fps=fps, quality=quality, theme=theme, view=view_kind, depth=depth, expand=expand, step=step, pace=pace, hide=hide))
    if list_steps:
        return print_steps(s)
    span = run(lambda: part_span(s, only)) if only is not None else None
    view = view_for(source, s, highlight, hide, theme)
    fps = fps or video_fps(source, s)
    vtt = subtitles_path(out) if subtitles else None
    with progress_reporter(quiet, frame_count(s, fps, span), "video") as report:
        run(lambda: render_video(s, out, fps=fps, quality=quality_of(source, quality), view=view,
                                 progress=report, span=span, jobs=jobs))
    if vtt is not None:
        from .encode import atomic_output
        from .subtitles import webvtt
        run(lambda: _write_text(vtt, webvtt(s, span), atomic_output))
    if not quiet:
        click.echo(f"wrote {out} ({part_note(s, span)}, {s['width']}x{s['height']}, {fps} fps)"
                   + (f" and {vtt}" if vtt is not None else ""), err=True)


def subtitles_path(out: Path) -> Path:
    """The .vtt beside the video: same name, the suffix replaced."""
    if str(out) == "-":
        raise UserError("--subtitles writes a .vtt file beside the video: give -o FILE.mp4, not -o -")
    return out.with_suffix(".vtt")


def part_note(scene: dict, span) -> str:
    """'14.9 s', or for a part '7.8 s: 5.10 - 12.90 s of 14.9 s'."""
    if span is None:
        return f"{scene['duration']:.1f} s"
    return f"{span[1] - span[0]:.1f} s: {span[0]:.2f} - {span[1]:.2f} s of {scene['duration']:.1f} s"


@cli.command(context_settings=CONTEXT)
@cache_option
@presets_argument
@output_option(".gif", "GIF")
@click.option("--width", type=int, default=None, help="GIF width in pixels (default: the preset's, else 640).")
@click.option("--fps", type=int, default=None, help="GIF frames per second (default: the preset's, else 15).")
@look_options
@view_options
@lecture_options
@quiet_option
def gif(presets, output, width, fps, theme, view_kind, depth, expand, step, pace, highlight, hide, only, list_steps, quiet):
    """Render a looping GIF to drop into PowerPoint, Keynote or Google Slides.

    \b
    Examples:
      bprender gif linear -o backprop.gif --width 800
      bprender gif linear --only forward..loss -o forward.gif
      bprender gif deep_sigmoid deep_relu --width 960 -o compare.gif   (side by side)
    """
    from .lecture import part_span
    from .render import frame_count, render_gif
    out = default_output_many(presets, output, ".gif")
    source, s = load_scene(presets, request_of(gif_width=width, gif_fps=fps, theme=theme, view=view_kind, depth=depth, expand=expand, step=step, pace=pace, hide=hide),
                           target="gif")
    if list_steps:
        return print_steps(s)
    span = run(lambda: part_span(s, only)) if only is not None else None
    view = view_for(source, s, highlight, hide, theme)
    fps = fps or video_fps(source, s, "gif")
    with progress_reporter(quiet, 2 * frame_count(s, fps, span), "gif (2 passes)") as report:
        run(lambda: render_gif(s, out, fps=fps, view=view, progress=report, span=span))
    if not quiet:
        click.echo(f"wrote {out} ({part_note(s, span)}, {s['width']}x{s['height']}, {fps} fps, "
                   f"{size_kb(out)} KB)", err=True)


@cli.command(context_settings=CONTEXT)
@cache_option
@presets_argument
@output_option(".html", "page")
@look_options
@steps_only_option
def html(presets, output, theme, view_kind, depth, expand, step, pace, list_steps):
    """Write the interactive player: one self-contained HTML file.

    The page needs no network and no server: the font, the player and the animation are
    inside it. Open it from disk in any modern browser or put it on a course page. It plays,
    pauses (Space), scrubs, steps through events (arrow keys), jumps to a phase, switches
    between the light, dark and colour-blind themes, shows each node's values on hover and its
    gradient paths on click, opens a folded group of repeated blocks on click (the page carries
    those layouts too, a bounded number), and saves the current frame as a PNG. Its
    presentation mode (P) goes full screen and stops at every step until Space or the right
    arrow continues.

    \b
    Examples:
      bprender html linear -o backprop.html
      bprender html presets/linear.yaml -o backprop.html --theme dark
      bprender scene linear -o linear.scene.json && bprender html linear.scene.json
      bprender html linear --steps
      bprender html deep_sigmoid deep_relu -o compare.html   (side by side)
    """
    from .encode import atomic_output
    from .html import export_html
    from .pipeline import page_for
    out = default_output_many(presets, output, ".html")
    sources = open_sources(presets, request_of(theme=theme, view=view_kind, depth=depth, expand=expand, step=step, pace=pace))
    if list_steps:
        from .pipeline import scene_for
        return print_steps(run(lambda: scene_for(sources, cache=use_cache())))
    s, folds = run(lambda: page_for(sources, cache=use_cache()))
    page = run(lambda: export_html(s, theme, folds=folds))
    run(lambda: _write_text(out, page, atomic_output))
    from .folds import folds_note
    click.echo(f"wrote {out} ({s['duration']:.1f} s, opens in the {theme or s['theme']} theme, "
               f"{len(page.encode('utf-8')) // 1024} KB{folds_note(folds)})", err=True)


@cli.command(context_settings=CONTEXT)
@cache_option
@presets_argument
@click.option("--at", "at", required=True, metavar="SECONDS|EVENT",
              help="Time in seconds, or an event name: intro, forward, loss, backward, end, backward:3.")
@output_option(".png", "image (.png, .svg or .pdf)")
@size_option
@look_options
@view_options
@format_option
def frame(presets, at, output, size, theme, view_kind, depth, expand, step, pace, highlight, hide, image_format):
    """Write one frame as PNG, SVG or PDF (by the output's suffix) for handouts.

    \b
    Examples:
      bprender frame linear --at 3.5 -o figure.png
      bprender frame linear --at end -o figure.pdf
      bprender frame linear --at end --format svg -o -        (an SVG on standard output)
      bprender trace linear -o linear.trace.json && bprender frame linear.trace.json --at backward:2
      bprender frame deep_sigmoid deep_relu --at end -o compare.png   (side by side)
      bprender frame mlp --at backward:1 --names torch -o torch-names.png
    """
    from .render import render_still
    out = default_output_many(presets, output, ".png")
    source, s = load_scene(presets, request_of(size=size, theme=theme, view=view_kind, depth=depth, expand=expand, step=step, pace=pace, hide=hide))
    t = run(lambda: resolve_time(s, at))
    view = view_for(source, s, highlight, hide, theme)
    run(lambda: render_still(s, out, t, view=view, image_format=image_format))
    click.echo(f"wrote {out} (t = {t:.2f} s)", err=True)


@cli.command(context_settings=CONTEXT)
@cache_option
@preset_argument
@output_option(".sheet.png", "sheet (.png or .pdf)")
@click.option("--size", metavar="WxH", default=None,
              help="Size of each frame on the sheet (default: 640 wide, the preset's aspect ratio).")
@click.option("--cols", type=click.IntRange(min=1), default=3, show_default=True, help="Frames per row.")
@click.option("--backward", "backward", type=click.IntRange(min=0), default=5, show_default=True,
              help="At most this many backward steps (evenly spread, first and last included).")
@look_options
@view_options
@format_option
def sheet(preset, output, size, cols, backward, theme, view_kind, depth, expand, step, pace, highlight, hide, image_format):
    """Write a contact sheet for handouts: the key frames in a grid, each labelled with its step.

    One frame per phase and a few backward steps, each a moment after its step starts (as
    `frame --at EVENT` shows it). PNG or PDF (one vector page, fonts embedded) by the suffix.
    A saved scene is drawn at its own size (`bprender scene PRESET --for sheet` lays one out
    for a sheet).

    \b
    Examples:
      bprender sheet linear -o sheet.png
      bprender sheet linear -o sheet.pdf --cols 4 --theme dark
      bprender sheet deep_sigmoid -o deep.pdf --view ops --backward 8
    """
    from .sheet import render_sheet
    out = default_output(preset, output, ".sheet.png")
    if image_format is None and out.suffix.lower() not in (".png", ".pdf", ".svg") and str(out) != "-":
        raise UserError(f"cannot write {out}: a contact sheet is a .png or a .pdf (or an .svg)")
    source, s = load_scene((preset,), request_of(size=size, theme=theme, view=view_kind, depth=depth, expand=expand, step=step, pace=pace, hide=hide),
                      target="video" if size else "sheet")
    view = view_for(source, s, highlight, hide, theme)
    layout = run(lambda: render_sheet(s, out, cols=cols, backward=backward, view=view, image_format=image_format))
    click.echo(f"wrote {out} ({len(layout.cells)} frames, {layout.width}x{layout.height})", err=True)


@cli.command(context_settings=CONTEXT)
@cache_option
@preset_argument
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="The port on 127.0.0.1 to serve on (0: a free one, chosen by the system).")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default web browser.")
@look_options
def watch(preset, port, open_browser, theme, view_kind, depth, expand, step, pace):
    """Serve a live preview of PRESET that follows your edits, until Ctrl-C.

    A local web server (on 127.0.0.1 only: no other machine can connect) serves the player.
    It watches the preset, its model file and the Python files beside it; after every save the
    open page shows the new animation in place (within a second when only the presentation
    changed: the model is traced again only when it changed), at the same time and view. A
    mistake in the edited file is shown in the page (file, line, message) over the last
    animation that worked.

    \b
    Examples:
      bprender watch presets/linear.yaml --open
      bprender watch presets/mlp.yaml --port 8765 --theme dark
    """
    import time
    import webbrowser

    from .watch import Watch
    request = request_of(theme=theme, view=view_kind, depth=depth, expand=expand, step=step, pace=pace)
    live = Watch(preset, request, cache=use_cache(), port=port, theme=theme,
                 log=lambda line: click.echo(f"{time.strftime('%H:%M:%S')} {one_line(line)}", err=True))
    try:
        run(lambda: _start_watch(live, port))
        files = live.files
        more = f" and {len(files) - 1} Python file{'s' if len(files) > 2 else ''} of its model" if len(files) > 1 else ""
        click.echo(f"Watching {files[0] if files else preset}{more}; each save updates the page.", err=True)
        click.echo(f"Serving {live.url} on the loopback interface only (127.0.0.1: other machines "
                   "cannot connect). Ctrl-C stops.", err=True)
        if open_browser and not webbrowser.open(live.url):
            click.echo(f"could not open a browser: open {live.url} yourself", err=True)
        while True:
            time.sleep(1)
    except KeyboardInterrupt as exc:
        live.stop()
        click.echo("\nStopped watching.", err=True)
        sys.exit(128 + getattr(exc, "signum", signal.SIGINT))


def _start_watch(live, port: int) -> None:
    import errno
    try:
        live.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise BprenderError(f"--port {port}: the port is in use on 127.0.0.1; give another or leave "
                                "--port out for a free one") from None
        if exc.errno == errno.EACCES:
            raise BprenderError(f"--port {port}: not allowed to listen on it (ports under 1024 need "
                                "privileges); give another") from None
        raise


def resolve_time(scene: dict, at: str) -> float:
    """--at as seconds within the animation, or the time of a named event."""
    names = {e["name"]: e["t"] for e in scene["events"]}
    if at in names:
        # a moment into the event, so its caption and labels have faded in
        return settle_time(scene, at)
    try:
        t = float(at)
        if t != t:
            raise ValueError(at)
    except ValueError:
        shown = ", ".join(n for n in names if not n.startswith("backward:")) + ", backward:0 ..."
        raise BprenderError(f"--at: '{at}' is neither a number of seconds nor an event ({shown})") from None
    if not 0 <= t <= scene["duration"]:
        raise BprenderError(f"--at: {t:g} s is outside the animation, which lasts {scene['duration']:g} s")
    return t


class _QuotedStream:
    """A text stream whose control characters are quoted on the way to the terminal (newlines,
    tabs, carriage returns and the progress bar's cursor codes pass)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        if isinstance(text, str):
            parts = [text]
            for code in _KEPT_ESCAPES:
                parts = [bit for part in parts for bit in _split_keep(part, code)]
            text = "".join(p if p in _KEPT_ESCAPES else quote_controls(p, "\n\r\t") for p in parts)
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _split_keep(text: str, sep: str) -> list[str]:
    bits = text.split(sep)
    out = [bits[0]]
    for bit in bits[1:]:
        out += [sep, bit]
    return out


def _bug_report(exc: BaseException) -> int:
    """A bug in bprender: one line on stderr, the traceback in a log file; status 70."""
    try:
        fd, log = tempfile.mkstemp(prefix="bprender-bug-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"bprender {__version__}, python {sys.version.split()[0]}, argv: {sys.argv!r}\n")
            f.write("".join(traceback.format_exception(exc)))
        where = f"the traceback is in {log}"
    except OSError:
        where = "the traceback could not be saved"
    what = one_line(f"{type(exc).__name__}: {exc}")[:300]
    click.echo(f"Error: internal error (a bug in bprender, please report it): {what}; {where}", err=True)
    return BUG_STATUS


def entry(argv=None) -> int:
    """Run the command line and return its exit status (see the module's docstring)."""
    handlers = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError, AttributeError):  # not the main thread
            handlers[signum] = signal.signal(signum, _on_signal)
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _QuotedStream(sys.stdout), _QuotedStream(sys.stderr)
    try:
        with warnings.catch_warnings(record=True) as caught:
            status = _entry(argv)
        if status == 0:  # a failed run ends on its error line; a good one keeps torch's warnings
            for w in caught:
                click.echo(one_line(f"warning: {w.category.__name__}: {w.message}")[:500], err=True)
        return status
    finally:
        sys.stdout, sys.stderr = streams
        for signum, handler in handlers.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(signum, handler)


def _entry(argv) -> int:
    try:
        rv = cli.main(args=argv, prog_name="bprender", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except click.UsageError as err:
        where = f" (see '{err.ctx.command_path} --help')" if err.ctx is not None else ""
        click.echo(f"Error: {one_line(err.format_message())}{where}", err=True)
        return err.exit_code
    except click.ClickException as err:
        click.echo(f"Error: {one_line(err.format_message())}", err=True)
        return err.exit_code
    except click.exceptions.Abort as err:
        return interrupted(err.__cause__ or err)
    except KeyboardInterrupt as err:
        return interrupted(err)
    except SystemExit as err:
        return err.code if isinstance(err.code, int) else (0 if err.code is None else 1)
    except BrokenPipeError:
        return 1
    except BaseException as exc:  # noqa: BLE001 - anything else is a bug
        return _bug_report(exc)


def main(argv=None) -> None:
    sys.exit(entry(argv))


if __name__ == "__main__":
    main()
