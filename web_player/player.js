/* bprender web player: the UI. Everything around the interpreter (tracks.js, geometry.js,
 * paint.js, loaded before this file): the time loop, controls, hover and click, the legend,
 * themes, and the window.bprender API.
 *
 * The frame itself is paint.paintFrame(ctx, scene, t, view): a pure function of the scene,
 * the time and the view state. This file only decides which t and view to pass, and sizes
 * the canvases; it draws nothing of its own on them.
 *
 * Text from the scene reaches the page only through textContent (and the painter's canvas
 * fillText), never as markup. */
(function () {
  "use strict";

  var lib = window.bprender_lib;
  var paintFrame = lib.paint.paintFrame;
  var paintChart = lib.paint.paintChart;

  var PHASE_BUTTONS = ["forward", "loss", "backward", "update"];
  var VISIBLE = 0.002;      // the painters' threshold: a caption fainter than this is not drawn
  var MAX_STEP = 0.25;      // seconds of wall clock at most per animation frame (after a stall)
  var EVENT_EPS = 1e-6;

  function $(id) { return document.getElementById(id); }

  var el = {
    stage: $("bp-stage"), graph: $("bp-graph"), chart: $("bp-chart"), tooltip: $("bp-tooltip"),
    controls: $("bp-controls"), play: $("bp-play"), prev: $("bp-prev"), next: $("bp-next"),
    scrub: $("bp-scrub"), time: $("bp-time"), phases: $("bp-phases"), speed: $("bp-speed"),
    loop: $("bp-loop"), theme: $("bp-theme"), save: $("bp-save"), event: $("bp-event"),
    legend: $("bp-legend"), error: $("bp-error"), app: $("bp-app"), present: $("bp-present"),
    camera: $("bp-camera"), follow: $("bp-follow"), fit: $("bp-fit"), caption: $("bp-caption"),
    folds: $("bp-folds"), foldHint: $("bp-fold-hint"), chartField: $("bp-chart-field"),
    showChart: $("bp-show-chart")
  };

  /* The scene versions this player reads: a page whose scene is another major version says
   * so on the page instead of drawing something wrong. */
  var READS = ["bprender.scene/2", "bprender.composite/1"];

  var data = JSON.parse($("bp-scenes").textContent);
  var scene0 = data.scene || {};
  // the theme menu's order (JSON keeps no key order): the usual ones first, any others after
  var THEME_ORDER = ["light", "dark", "colorblind"];
  function themeNames(palettes) {
    return Object.keys(palettes || {}).sort(function (a, b) {
      var i = THEME_ORDER.indexOf(a), j = THEME_ORDER.indexOf(b);
      i = i < 0 ? THEME_ORDER.length : i;
      j = j < 0 ? THEME_ORDER.length : j;
      return i !== j ? i - j : (a < b ? -1 : a > b ? 1 : 0);
    });
  }
  var themes = themeNames(scene0.palettes);

  var state = {
    scene: scene0,
    t: 0,
    playing: false,
    speed: 1,
    loop: false,
    chart: true,         // the per-layer chart shown (where the scene has one)
    // the painter's view state: what is highlighted or hidden, and the theme's palette
    // camera: null follows the scene's camera track; {x, y, zoom} is where the user put it
    view: { highlight: null, hidden: [], theme: data.theme, camera: null },
    hover: null,         // the node under the pointer (tooltip), or null
    hoverCell: "",       // the tooltip line of the heatmap cell under the pointer, or ""
    presenting: false,   // presentation mode: playback stops at every step (lecture mode)
    // the folded groups' variants the page carries (bprender/folds.py), or null; `fold` is
    // the one shown: 0 is the page's own scene, the others open groups in it
    folds: data.folds || null,
    fold: 0,
    base: scene0         // the page's own scene (the live preview's latest)
  };

  var gctx = el.graph.getContext("2d");
  var cctx = el.chart.getContext("2d");
  var graphScale = [1, 1], chartScale = [1, 1];
  var started = false;     // fonts loaded: frames may be drawn
  var rafId = 0, lastNow = null, dirty = true, scrubbing = false;
  var offscreen = null;    // reused by snapshot()

  // ------------------------------------------------------------------ errors

  function fail(err) {
    el.error.hidden = false;
    // a refusal of ours reads as a sentence; anything else is a bug: show where it happened
    var text = err && err.refusal ? err.message : (err && err.stack ? err.stack : String(err));
    el.error.textContent = "bprender player: " + text;
    if (window.console) console.error(err);
  }

  // ------------------------------------------------------------------ time

  function clampTime(seconds) {
    var d = state.scene.duration;
    var t = Number(seconds);
    if (!isFinite(t)) t = 0;
    return t < 0 ? 0 : (t > d ? d : t);
  }

  function advance(dt) {
    var d = state.scene.duration;
    var t = state.t + dt;
    if (state.presenting) {
      var stop = nextStop(state.t);
      // presentation mode: wait at the next step's start (within EVENT_EPS: a sum of frame
      // steps can land a hair short of it, and nextStop would then skip it)
      if (stop !== null && t >= stop - EVENT_EPS) {
        state.t = stop;
        state.playing = false;
        lastNow = null;
        dirty = true;
        return;
      }
    }
    if (t >= d) {
      if (state.loop && d > 0) {
        t = t % d;
      } else {
        t = d;
        state.playing = false;
      }
    }
    state.t = t;
    dirty = true;
  }

  function tick(now) {
    rafId = 0;
    if (state.playing) {
      if (lastNow !== null) advance(Math.min((now - lastNow) / 1000, MAX_STEP) * state.speed);
      lastNow = now;
    }
    if (dirty) render();
    if (state.playing) schedule();
  }

  function schedule() {
    if (!rafId) rafId = requestAnimationFrame(tick);
  }

  function invalidate() {
    dirty = true;
    schedule();
  }

  function seek(seconds) {
    state.t = clampTime(seconds);
    lastNow = null;
    dirty = true;
    render();
  }

  function play() {
    if (state.playing) return;
    if (state.t >= state.scene.duration) state.t = 0;   // play at the end starts again
    state.playing = true;
    lastNow = null;
    invalidate();
  }

  function pause() {
    state.playing = false;
    lastNow = null;
    invalidate();
  }

  function toggle() {
    if (state.playing) pause(); else play();
  }

  function nextEvent() {
    var events = state.scene.events;
    for (var i = 0; i < events.length; i++) {
      if (events[i].t > state.t + EVENT_EPS) return events[i];
    }
    return null;
  }

  function previousEvent() {
    var events = state.scene.events;
    for (var i = events.length - 1; i >= 0; i--) {
      if (events[i].t < state.t - 1e-3) return events[i];
    }
    return null;
  }

  /* Step to the next / previous event and stop there (stepping through the backward pass). */
  function stepEvent(direction) {
    var ev = direction > 0 ? nextEvent() : previousEvent();
    pause();
    seek(ev ? ev.t : (direction > 0 ? state.scene.duration : 0));
  }

  // ------------------------------------------------------------------ presentation (lecture mode)

  /* Where presentation mode stops: the scene's stops (a moment into every event, where its
   * caption is fully shown: lecture.stop_times); a scene saved before it had them stops at each
   * distinct event time. */
  function stops() {
    if (state.scene.stops) return state.scene.stops.slice();
    var events = state.scene.events, out = [];
    for (var i = 0; i < events.length; i++) {
      if (!out.length || events[i].t > out[out.length - 1] + EVENT_EPS) out.push(events[i].t);
    }
    return out;
  }

  function nextStop(t) {
    var s = stops();
    for (var i = 0; i < s.length; i++) {
      if (s[i] > t + EVENT_EPS) return s[i];
    }
    return null;
  }

  function previousStop(t) {
    var s = stops();
    for (var i = s.length - 1; i >= 0; i--) {
      if (s[i] < t - 1e-3) return s[i];
    }
    return null;
  }

  /* Space / Right arrow while presenting: while a step plays, finish it (jump to the next stop);
   * while waiting at a stop (or paused), play on to the next one. */
  function presentNext() {
    if (state.playing) {
      var stop = nextStop(state.t);
      pause();
      seek(stop === null ? state.scene.duration : stop);
    } else if (state.t < state.scene.duration - EVENT_EPS) {
      play();
    }
  }

  /* Left arrow while presenting: back to the start of the previous step, waiting there. */
  function presentPrevious() {
    var stop = previousStop(state.t);
    pause();
    seek(stop === null ? 0 : stop);
  }

  var fullscreenByUs = false;

  function fullscreenElement() {
    return document.fullscreenElement || document.webkitFullscreenElement || null;
  }

  function enterFullscreen() {
    var root = document.documentElement;
    var request = root.requestFullscreen || root.webkitRequestFullscreen;
    if (!request || fullscreenElement()) return;
    try {
      var result = request.call(root);
      fullscreenByUs = true;
      if (result && result.catch) result.catch(function () { fullscreenByUs = false; });  // not allowed here
    } catch (err) {
      fullscreenByUs = false;
    }
  }

  function leaveFullscreen() {
    var wasOurs = fullscreenByUs;
    fullscreenByUs = false;
    if (!wasOurs || !fullscreenElement()) return;
    var exit = document.exitFullscreen || document.webkitExitFullscreen;
    try {
      var result = exit && exit.call(document);
      if (result && result.catch) result.catch(function () {});
    } catch (err) { /* already left */ }
  }

  /* Presentation mode on or off: full screen where the browser allows it, the legend row
   * hidden, and playback stopping at every step. Returns whether it is on. */
  function present(on) {
    on = on === undefined ? !state.presenting : !!on;
    if (on === state.presenting) return on;
    state.presenting = on;
    el.app.classList.toggle("bp-presenting", on);
    el.present.setAttribute("aria-pressed", on ? "true" : "false");
    if (on) enterFullscreen(); else leaveFullscreen();
    lastShown.event = undefined;
    layout();
    // before the first stop (the title still fading in) the presentation opens at that stop
    var s = stops();
    if (on && !state.playing && s.length && state.t < s[0] - EVENT_EPS) seek(s[0]);
    return on;
  }

  function onFullscreenChange() {
    // leaving full screen (Escape) ends the presentation it started
    if (!fullscreenElement() && fullscreenByUs) {
      fullscreenByUs = false;
      if (state.presenting) present(false);
    }
  }

  function currentEvent() {
    var events = state.scene.events, found = null;
    for (var i = 0; i < events.length; i++) {
      if (events[i].t <= state.t + EVENT_EPS) found = events[i];
    }
    return found;
  }

  // ------------------------------------------------------------------ drawing

  /* The frame at state.t on the visible canvases. The painter gets only (scene, t, view). */
  function render() {
    dirty = false;
    if (!started) return;
    var scene = state.scene;
    try {
      gctx.setTransform(graphScale[0], 0, 0, graphScale[1], 0, 0);
      paintFrame(gctx, scene, state.t, state.view);
      if (chartShown()) {   // a side-by-side composite draws each panel's chart in its frame
        cctx.setTransform(chartScale[0], 0, 0, chartScale[1], 0, 0);
        paintChart(cctx, scene.chart, state.t, palette());
      }
    } catch (err) {
      state.playing = false;
      fail(err);
      return;
    }
    syncControls();
  }

  /* Fit the graph and chart to the window, keeping the aspect ratio; the canvases' pixel
   * buffers are their CSS size times devicePixelRatio, so lines and text stay sharp. */
  function layout() {
    var scene = state.scene, shown = chartShown();
    var chart = shown ? scene.chart : {width: 0, height: 0};
    el.chart.hidden = !shown;
    el.chartField.hidden = !scene.chart;
    var dpr = window.devicePixelRatio || 1;
    var availW = Math.max(document.documentElement.clientWidth - 16, 50);
    var scale = Infinity;
    // the controls take the canvas's width, so a narrower canvas wraps them onto more rows and
    // leaves less height: shrink until the controls' height stops changing (the scale only ever
    // goes down, so this settles in a few passes)
    for (var pass = 0; pass < 8; pass++) {
      var availH = window.innerHeight - el.controls.offsetHeight - 16 - 18;
      var next = Math.min(availW / scene.width, Math.max(availH / (scene.height + chart.height), 0.25), scale);
      if (!(next > 0)) next = 0.25;
      if (Math.abs(next - scale) * scene.width < 0.5) break;   // under half a CSS pixel: settled
      scale = next;
      document.documentElement.style.setProperty("--bp-width", Math.round(scene.width * scale) + "px");
    }
    graphScale = sizeCanvas(el.graph, scene.width, scene.height, scale, dpr);
    if (scene.chart) chartScale = sizeCanvas(el.chart, chart.width, chart.height, scale, dpr);
    dirty = true;
    render();
  }

  function sizeCanvas(canvas, w, h, scale, dpr) {
    var pw = Math.max(1, Math.round(w * scale * dpr));
    var ph = Math.max(1, Math.round(h * scale * dpr));
    if (canvas.width !== pw) canvas.width = pw;
    if (canvas.height !== ph) canvas.height = ph;
    canvas.style.width = (w * scale) + "px";
    canvas.style.height = (h * scale) + "px";
    return [pw / w, ph / h];
  }

  /* A frame at its native size and scale 1, with the current view and theme. */
  function snapshotCanvas(seconds) {
    var scene = state.scene;
    if (!offscreen) offscreen = document.createElement("canvas");
    if (offscreen.width !== scene.width) offscreen.width = scene.width;
    if (offscreen.height !== scene.height) offscreen.height = scene.height;
    var ctx = offscreen.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    paintFrame(ctx, scene, seconds === undefined || seconds === null ? state.t : clampTime(seconds), state.view);
    return offscreen;
  }

  function snapshot(seconds) {
    return ready.then(function () {
      return snapshotCanvas(seconds).toDataURL("image/png");
    });
  }

  function savePng() {
    var t = state.t;
    ready.then(function () {
      snapshotCanvas(t).toBlob(function (blob) {
        if (!blob) return;
        var url = URL.createObjectURL(blob);
        var a = document.createElement("a");
        a.href = url;
        a.download = "bprender-" + t.toFixed(2) + "s.png";
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      }, "image/png");
    }).catch(fail);
  }

  // ------------------------------------------------------------------ controls

  var lastShown = { t: null, playing: null, event: null, caption: null };

  /* The caption on screen at t as text (bprender/subtitles.py caption_at mirrors it): the most
   * visible page's lines, one per line; a composite names each panel before its caption. */
  function captionText(scene, t) {
    if (scene.panels) {
      var parts = [];
      for (var p = 0; p < scene.panels.length; p++) {
        var text = captionText(scene.panels[p].scene, t);
        if (text) parts.push(scene.panels[p].label + ": " + text);
      }
      return parts.join("\n");
    }
    var items = scene.captions.items, best = null, bestAlpha = VISIBLE;
    for (var i = 0; i < items.length; i++) {
      var alpha = lib.tracks.valueAt(items[i].track, t);
      if (alpha > VISIBLE && alpha >= bestAlpha) { best = items[i]; bestAlpha = alpha; }
    }
    return best ? best.lines.join("\n") : "";
  }

  function syncControls() {
    var scene = state.scene;
    if (lastShown.playing !== state.playing) {
      el.play.textContent = state.playing ? "Pause" : "Play";
      el.play.setAttribute("aria-label", state.playing ? "Pause" : "Play");
      lastShown.playing = state.playing;
    }
    if (lastShown.t !== state.t) {
      if (!scrubbing) el.scrub.value = String(state.t);
      el.time.textContent = state.t.toFixed(2) + " / " + scene.duration.toFixed(2) + " s";
      lastShown.t = state.t;
    }
    var ev = currentEvent();
    if (lastShown.event !== ev) {
      el.event.textContent = ev ? ev.label : "";
      var phase = null;
      for (var i = 0; i < scene.phases.length; i++) {
        if (scene.phases[i].t0 <= state.t + EVENT_EPS) phase = scene.phases[i].name;
      }
      var buttons = el.phases.children;
      for (var k = 0; k < buttons.length; k++) {
        buttons[k].setAttribute("aria-current", buttons[k].dataset.phase === phase ? "true" : "false");
      }
      lastShown.event = ev;
    }
    // the screen-reader line (aria-live): written only when the words change, so a caption is
    // announced once, not at every frame
    var caption = captionText(scene, state.t);
    if (lastShown.caption !== caption) {
      el.caption.textContent = caption;
      lastShown.caption = caption;
    }
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function buildPhaseButtons() {
    clear(el.phases);
    var phases = state.scene.phases;
    for (var i = 0; i < phases.length; i++) {
      if (PHASE_BUTTONS.indexOf(phases[i].name) < 0) continue;
      var b = document.createElement("button");
      b.type = "button";
      b.className = "bp-button bp-phase";
      b.dataset.phase = phases[i].name;
      b.textContent = phases[i].label || phases[i].name;
      b.title = "Jump to " + (phases[i].label || phases[i].name);
      b.addEventListener("click", jumpToPhase.bind(null, phases[i].name));
      el.phases.appendChild(b);
    }
    lastShown.event = undefined;
  }

  function jumpToPhase(name) {
    var phases = state.scene.phases;
    for (var i = 0; i < phases.length; i++) {
      if (phases[i].name === name) seek(phases[i].t0);
    }
  }

  /* Past LEGEND_OPEN groups (a deep model's layers) the checkboxes fold into a closed
   * <details>: a row of boxes per few layers would take the canvas's height. */
  var LEGEND_OPEN = 8;

  function buildLegend() {
    clear(el.legend);
    var groups = state.scene.groups || [];
    var into = el.legend;
    if (groups.length > LEGEND_OPEN) {
      var details = document.createElement("details");
      details.className = "bp-legend-more";
      var summary = document.createElement("summary");
      summary.textContent = groups.length + " groups";
      details.appendChild(summary);
      details.addEventListener("toggle", layout);   // the controls' height changed
      el.legend.appendChild(details);
      into = details;
    }
    for (var i = 0; i < groups.length; i++) {
      var label = document.createElement("label");
      label.className = "bp-legend-item";
      var box = document.createElement("input");
      box.type = "checkbox";
      box.checked = state.view.hidden.indexOf(groups[i]) < 0;
      box.dataset.index = String(i);
      box.addEventListener("change", onLegendChange);
      var name = document.createElement("span");
      name.textContent = groups[i];
      label.appendChild(box);
      label.appendChild(name);
      into.appendChild(label);
    }
  }

  function syncLegend() {
    var boxes = el.legend.querySelectorAll("input[type=checkbox]");
    var groups = state.scene.groups || [];
    for (var i = 0; i < boxes.length; i++) {
      boxes[i].checked = state.view.hidden.indexOf(groups[Number(boxes[i].dataset.index)]) < 0;
    }
  }

  function onLegendChange(e) {
    var group = (state.scene.groups || [])[Number(e.target.dataset.index)];
    var hidden = state.view.hidden.filter(function (g) { return g !== group; });
    if (!e.target.checked) hidden.push(group);
    setView({ highlight: state.view.highlight, hidden: hidden });
  }

  function setView(view) {
    view = view || {};
    var hidden = Array.isArray(view.hidden) ? view.hidden.map(String) : [];
    state.view = { highlight: view.highlight === undefined ? null : view.highlight, hidden: hidden,
                   theme: state.view.theme, camera: state.view.camera };
    syncLegend();
    hideTooltip();
    invalidate();
    render();
  }

  function getView() {
    return { highlight: state.view.highlight, hidden: state.view.hidden.slice() };
  }

  function palette() {
    return state.scene.palettes[state.view.theme];
  }

  /* The current theme's colours drive the page chrome. */
  function applyChrome() {
    var c = palette() || {};
    var root = document.documentElement.style;
    var pairs = [["--bp-bg", c.background], ["--bp-panel", c.panel], ["--bp-text", c.text],
                 ["--bp-muted", c.muted], ["--bp-border", c.edge_idle], ["--bp-accent", c.loss]];
    for (var i = 0; i < pairs.length; i++) {
      if (typeof pairs[i][1] === "string") root.setProperty(pairs[i][0], pairs[i][1]);
    }
    root.setProperty("color-scheme", isDark(c.background) ? "dark" : "light");
  }

  function isDark(color) {
    var m = /^#([0-9a-f]{6})$/i.exec(color || "");
    if (!m) return false;
    var n = parseInt(m[1], 16);
    var lum = 0.2126 * (n >> 16 & 255) + 0.7152 * (n >> 8 & 255) + 0.0722 * (n & 255);
    return lum < 128;
  }

  /* Another theme: the same scene, its colour roles looked up in another palette. */
  function setTheme(name) {
    if (!Object.prototype.hasOwnProperty.call(state.scene.palettes, name)) {
      throw new Error("no theme called " + JSON.stringify(name) + " (themes: " + themes.join(", ") + ")");
    }
    state.view = { highlight: state.view.highlight, hidden: state.view.hidden, theme: name,
                   camera: state.view.camera };
    state.t = clampTime(state.t);
    el.theme.value = name;
    el.scrub.max = String(state.scene.duration);
    applyChrome();
    buildPhaseButtons();
    buildLegend();
    hideTooltip();
    lastShown = { t: null, playing: null, event: null, caption: null };
    layout();
  }

  function buildCameraControls() {
    el.camera.hidden = !state.scene.camera;
  }

  function buildThemeSelect() {
    clear(el.theme);
    el.theme.parentNode.hidden = false;
    for (var i = 0; i < themes.length; i++) {
      var opt = document.createElement("option");
      opt.value = themes[i];
      opt.textContent = themes[i];
      el.theme.appendChild(opt);
    }
    if (themes.length < 2) el.theme.parentNode.hidden = true;
  }

  // ------------------------------------------------------------------ pointer

  /* The node drawn on top at a point in scene coordinates (hidden groups cannot be hit). */
  function nodeAt(x, y) {
    var nodes = state.scene.nodes || [], hidden = state.view.hidden;
    for (var i = nodes.length - 1; i >= 0; i--) {
      var n = nodes[i];
      if (hidden.indexOf(n.group) >= 0) continue;
      if (Math.abs(x - n.x) <= n.w / 2 && Math.abs(y - n.y) <= n.h / 2) return n;
    }
    return null;
  }

  /* The pointer in frame coordinates, and in graph coordinates (through the camera). */
  function frameXY(e) {
    var rect = el.graph.getBoundingClientRect();
    return [(e.clientX - rect.left) * state.scene.width / rect.width,
            (e.clientY - rect.top) * state.scene.height / rect.height];
  }

  function sceneXY(e) {
    return toGraph(frameXY(e));
  }

  function toGraph(xy) {
    var camera = state.scene.camera;
    if (!camera) return xy;
    var at = cameraNow();
    return [(xy[0] - camera.x - camera.w / 2) / at[2] + at[0], (xy[1] - camera.y - camera.h / 2) / at[2] + at[1]];
  }

  // ------------------------------------------------------------------ camera (zoom, pan, follow, fit)

  var ZOOM_MAX = 3;

  function cameraNow() {
    return lib.paint.cameraAt(state.scene.camera, state.t, state.view);
  }

  /* Put the camera somewhere by hand ({x, y, zoom}), or back on its track (null). */
  function setCamera(camera) {
    if (camera) {
      var least = state.scene.camera.track.zoom[0][1] * 0.6;
      camera = { x: camera.x, y: camera.y, zoom: Math.min(ZOOM_MAX, Math.max(least, camera.zoom)) };
    }
    state.view = { highlight: state.view.highlight, hidden: state.view.hidden, theme: state.view.theme,
                   camera: camera || null };
    el.follow.checked = !camera;
    invalidate();
  }

  /* Zoom by `factor` keeping the frame point xy (default the view's centre) where it is. */
  function zoomBy(factor, xy) {
    var camera = state.scene.camera;
    if (!camera) return;
    var at = cameraNow();
    var mid = [camera.x + camera.w / 2, camera.y + camera.h / 2];
    xy = xy || mid;
    var fixed = toGraph(xy);
    var zoom = at[2] * factor;
    setCamera({ x: fixed[0] - (xy[0] - mid[0]) / zoom, y: fixed[1] - (xy[1] - mid[1]) / zoom, zoom: zoom });
  }

  function fit() {
    var track = state.scene.camera.track;
    setCamera({ x: track.x[0][1], y: track.y[0][1], zoom: track.zoom[0][1] });
  }

  var drag = null;   // {start frame xy, camera at the start, moved}

  function onWheel(e) {
    if (!state.scene.camera) return;
    e.preventDefault();
    zoomBy(Math.exp(-e.deltaY * 0.0015), frameXY(e));
  }

  function onPointerDown(e) {
    if (!state.scene.camera || e.button !== 0) return;
    var at = cameraNow();
    drag = { xy: frameXY(e), x: at[0], y: at[1], zoom: at[2], moved: false };
  }

  function onDrag(e) {
    if (!drag) return false;
    var xy = frameXY(e);
    var dx = xy[0] - drag.xy[0], dy = xy[1] - drag.xy[1];
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return false;
    drag.moved = true;
    setCamera({ x: drag.x - dx / drag.zoom, y: drag.y - dy / drag.zoom, zoom: drag.zoom });
    return true;
  }

  function onDoubleClick(e) {
    var node = nodeAt.apply(null, sceneXY(e));
    if (node && state.scene.camera) setCamera({ x: node.x, y: node.y, zoom: 1 });
  }

  /* The tooltip line of the heatmap cell at graph point xy in a node ("" when none is there
   * or the glyph is not shown yet): the scene's tips, one per pixel of the glyph's image. */
  function cellTip(node, xy) {
    var glyphs = node.glyphs || [];
    for (var g = 0; g < glyphs.length; g++) {
      var image = glyphs[g].images[0];
      var tips = image.tips || [];
      if (!tips.length || xy[0] < image.x || xy[1] < image.y || xy[0] >= image.x + image.w ||
          xy[1] >= image.y + image.h) continue;
      if (lib.tracks.valueAt(node.tracks[glyphs[g].track], state.t) <= lib.paint.VISIBLE) return "";
      var col = Math.min(image.cols - 1, Math.floor((xy[0] - image.x) / image.w * image.cols));
      var row = Math.min(image.rows - 1, Math.floor((xy[1] - image.y) / image.h * image.rows));
      return tips[row * image.cols + col] || "";
    }
    return "";
  }

  function showTooltip(node, e, xy) {
    var tip = el.tooltip;
    var cell = xy ? cellTip(node, xy) : "";
    if (state.hover !== node || state.hoverCell !== cell) {
      clear(tip);
      var link = foldLink(node);
      var lines = ((node.info && node.info.lines) || [node.id]).concat(cell ? [cell] : [], link ? [link.tip] : []);
      for (var i = 0; i < lines.length; i++) {
        var line = document.createElement("div");
        if (i === 0) line.className = "bp-tip-title";
        if (cell && i === lines.length - (link ? 2 : 1)) line.className = "bp-tip-cell";
        if (link && i === lines.length - 1) line.className = "bp-tip-fold";
        line.textContent = lines[i];
        tip.appendChild(line);
      }
      state.hover = node;
      state.hoverCell = cell;
      tip.hidden = false;
    }
    var stage = el.stage.getBoundingClientRect();
    var x = e.clientX - stage.left + 14, y = e.clientY - stage.top + 16;
    if (x + tip.offsetWidth > stage.width) x = Math.max(0, e.clientX - stage.left - tip.offsetWidth - 10);
    if (y + tip.offsetHeight > stage.height) y = Math.max(0, e.clientY - stage.top - tip.offsetHeight - 10);
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }

  function hideTooltip() {
    if (state.hover === null) return;
    state.hover = null;
    state.hoverCell = "";
    el.tooltip.hidden = true;
    clear(el.tooltip);
  }

  function onPointerMove(e) {
    if (onDrag(e)) {
      hideTooltip();
      return;
    }
    var xy = sceneXY(e);
    var node = nodeAt(xy[0], xy[1]);
    el.graph.classList.toggle("bp-over-node", node !== null);
    if (node) showTooltip(node, e, xy); else hideTooltip();
  }

  function onClick(e) {
    var dragged = drag && drag.moved;
    drag = null;
    if (dragged) return;   // the end of a pan, not a click on a node
    var xy = sceneXY(e);
    var node = nodeAt(xy[0], xy[1]);
    var link = node ? foldLink(node) : null;
    if (link && link.to !== null) {   // a folded group: open it
      showFold(link.to, link.times);
      return;
    }
    var highlight = node && node.id !== state.view.highlight ? node.id : null;
    setView({ highlight: highlight, hidden: state.view.hidden });
    if (node) showTooltip(node, e, xy);
  }

  // ------------------------------------------------------------------ keyboard

  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var target = e.target;
    if (target && target.tagName === "SELECT") return;   // let a focused list keep its keys
    if (e.key === " " || e.code === "Space") {
      e.preventDefault();
      if (!e.repeat) toggle();
    } else if (e.key === "p" || e.key === "P") {
      e.preventDefault();
      if (!e.repeat) present(!state.presenting);
    } else if (state.presenting && (e.key === "ArrowRight" || e.key === "PageDown")) {
      e.preventDefault();                  // PageDown / PageUp: what slide clickers send
      presentNext();
    } else if (state.presenting && (e.key === "ArrowLeft" || e.key === "PageUp")) {
      e.preventDefault();
      presentPrevious();
    } else if (state.presenting && e.key === "Escape") {
      present(false);
    } else if ((e.key === "c" || e.key === "C") && state.scene.chart) {
      if (!e.repeat) setChart(!state.chart);
    } else if ((e.key === "+" || e.key === "=") && state.scene.camera) {
      e.preventDefault();
      zoomBy(1.25);
    } else if (e.key === "-" && state.scene.camera) {
      e.preventDefault();
      zoomBy(0.8);
    } else if (e.key === "ArrowRight") {
      e.preventDefault();
      stepEvent(1);
    } else if (e.key === "ArrowLeft") {
      e.preventDefault();
      stepEvent(-1);
    }
  }

  function onKeyUp(e) {
    // a focused button or checkbox would act on Space's keyup: Space is play/pause here
    if ((e.key === " " || e.code === "Space") && !(e.target && e.target.tagName === "SELECT")) e.preventDefault();
  }

  // ------------------------------------------------------------------ wiring

  function wire() {
    el.play.addEventListener("click", toggle);
    el.prev.addEventListener("click", function () { stepEvent(-1); });
    el.next.addEventListener("click", function () { stepEvent(1); });
    el.scrub.addEventListener("pointerdown", function () { scrubbing = true; });
    el.scrub.addEventListener("input", function () {
      state.t = clampTime(el.scrub.value);
      lastNow = null;
      invalidate();
    });
    el.scrub.addEventListener("change", function () { scrubbing = false; invalidate(); });
    window.addEventListener("pointerup", function () { scrubbing = false; });
    el.speed.addEventListener("change", function () { setSpeed(el.speed.value); });
    el.loop.addEventListener("change", function () { state.loop = el.loop.checked; });
    el.showChart.addEventListener("change", function () { setChart(el.showChart.checked); });
    el.theme.addEventListener("change", function () { setTheme(el.theme.value); });
    el.save.addEventListener("click", savePng);
    el.present.addEventListener("click", function () { present(!state.presenting); });
    document.addEventListener("fullscreenchange", onFullscreenChange);
    document.addEventListener("webkitfullscreenchange", onFullscreenChange);
    el.graph.addEventListener("pointermove", onPointerMove);
    el.graph.addEventListener("pointerleave", function () {
      el.graph.classList.remove("bp-over-node");
      hideTooltip();
    });
    el.graph.addEventListener("click", onClick);
    el.graph.addEventListener("wheel", onWheel, { passive: false });
    el.graph.addEventListener("pointerdown", onPointerDown);
    el.graph.addEventListener("dblclick", onDoubleClick);
    window.addEventListener("pointerup", function () { if (drag && !drag.moved) drag = null; });
    el.follow.addEventListener("change", function () {
      if (!state.scene.camera) return;
      if (el.follow.checked) {
        setCamera(null);
      } else {
        var at = cameraNow();      // stay where the track is now, by hand from here
        setCamera({ x: at[0], y: at[1], zoom: at[2] });
      }
    });
    el.fit.addEventListener("click", function () { if (state.scene.camera) fit(); });
    window.addEventListener("keydown", onKey, true);
    window.addEventListener("keyup", onKeyUp, true);
    window.addEventListener("resize", layout);
  }

  function setSpeed(x) {
    var s = Number(x);
    if (!(s > 0)) return;
    state.speed = Math.min(4, Math.max(0.25, s));
    if (el.speed.value !== String(state.speed)) el.speed.value = String(state.speed);
  }

  /* The per-layer chart on or off: off, the graph grows into its room (a laptop screen). */
  function chartShown() { return !!state.scene.chart && state.chart; }

  function setChart(on) {
    state.chart = !!on;
    el.showChart.checked = state.chart;
    layout();
    return chartShown();
  }

  function setLoop(on) {
    state.loop = !!on;
    el.loop.checked = state.loop;
  }

  /* Every font the scenes name, loaded before the first frame (canvas text does not wait). */
  function loadFonts() {
    if (!document.fonts || !document.fonts.load) return Promise.resolve();
    var wanted = {}, loads = [];
    (state.scene.fonts || []).forEach(function (f) {
      var spec = String(f.weight) + " 16px \"" + f.family + "\"";
      if (!wanted[spec]) {
        wanted[spec] = true;
        loads.push(document.fonts.load(spec));
      }
    });
    return Promise.all(loads);
  }

  /* A scene of a version this player does not read is refused on the page. */
  function checkVersion(scene) {
    scene = scene || state.scene;
    if (READS.indexOf(scene.schema) < 0) {
      var err = new Error("this page holds a scene of version " + JSON.stringify(scene.schema) +
                          "; this player reads " + READS.join(" and ") +
                          ". Make the page again with the bprender that wrote the scene.");
      err.refusal = true;
      throw err;
    }
  }

  // ------------------------------------------------------------------ live preview (bprender watch)

  function hasKey(object, key) {
    return !!object && Object.prototype.hasOwnProperty.call(object, key);
  }

  /* The live-preview hook: put another scene (the edited preset's) in place of the current one
   * without reloading, keeping what the viewer set: the time (clamped to the new duration),
   * playing or paused, the highlight and hidden groups (those that still exist), a camera put
   * by hand, and a theme picked in the page (a page still in the scene's own theme takes the
   * new scene's, so a theme edited in the preset shows). Resolves once the new frame is drawn.
   * It exists only on pages served by `bprender watch` (their data has a `live` section); an
   * exported page has no such function. The new scene's fonts must be the page's own (they
   * are inlined in the page): live.js reloads the page when they are not. */
  function replaceScene(next, folds) {
    return ready.then(function () {
      checkVersion(next);
      // the same groups stay open when the new page data has them (the same key)
      var key = JSON.stringify(currentFold() ? currentFold().key : []);
      var index = 0;
      var variants = folds ? folds.variants : [];
      for (var i = 0; i < variants.length; i++) {
        if (JSON.stringify(variants[i].key) === key) index = i;
      }
      state.folds = folds || null;
      state.fold = index;
      state.base = next;
      swapScene(index ? variants[index].scene : next, true);
    });
  }

  /* Put another scene in place of the current one, keeping the viewer's theme, time (clamped),
   * playing or paused and hidden groups (those that still exist); keepPlace: also the
   * highlight and a camera put by hand (the same graph, edited), else those go (another
   * layout: a group opened or folded). */
  function swapScene(next, keepPlace) {
    var followTheme = state.view.theme === state.scene.theme;
    var theme = followTheme || !hasKey(next.palettes, state.view.theme) ? next.theme : state.view.theme;
    var ids = {};
    (next.nodes || []).forEach(function (n) { ids[n.id] = true; });
    var groups = next.groups || [];
    state.view = {
      highlight: keepPlace && hasKey(ids, state.view.highlight) ? state.view.highlight : null,
      hidden: state.view.hidden.filter(function (g) { return groups.indexOf(g) >= 0; }),
      theme: theme,
      camera: keepPlace && next.camera ? state.view.camera : null
    };
    hideTooltip();
    state.scene = next;
    themes = themeNames(next.palettes);
    buildThemeSelect();
    buildCameraControls();
    buildFoldButtons();
    el.follow.checked = !state.view.camera;
    document.title = next.title || "bprender";
    setTheme(theme);                 // clamps the time, rebuilds the phases and legend, draws
    if (state.playing) invalidate();
  }

  // ------------------------------------------------------------------ folded groups

  function currentFold() {
    return state.folds ? state.folds.variants[state.fold] : null;
  }

  /* The link a folded group's node opens ({label, name, to, tip, times}), or null. */
  function foldLink(node) {
    var fold = currentFold();
    return fold && hasKey(fold.open, node.id) ? fold.open[node.id] : null;
  }

  /* The time in the other scene: piecewise linear through the link's pairs (folds.py). */
  function mapTime(pairs, t) {
    if (!pairs || !pairs.length) return t;
    if (t <= pairs[0][0]) return pairs[0][1];
    for (var i = 1; i < pairs.length; i++) {
      if (t <= pairs[i][0]) {
        var a = pairs[i - 1], b = pairs[i];
        return a[1] + (t - a[0]) * (b[1] - a[1]) / (b[0] - a[0]);
      }
    }
    return pairs[pairs.length - 1][1];
  }

  /* Show variant `index` (0: the page's own scene) at the time the link maps the current to. */
  function showFold(index, pairs) {
    var next = index ? state.folds.variants[index].scene : state.base;
    try {
      checkVersion(next);
    } catch (err) {
      fail(err);
      return;
    }
    state.t = mapTime(pairs, state.t);
    state.fold = index;
    lastNow = null;
    swapScene(next, false);
  }

  /* One "Fold …" button per group opened in the variant shown. */
  function buildFoldButtons() {
    clear(el.folds);
    var fold = currentFold();
    var closes = fold ? fold.close : [];
    el.folds.hidden = !closes.length;
    el.foldHint.hidden = !(fold && Object.keys(fold.open).length);
    for (var i = 0; i < closes.length; i++) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "bp-button bp-fold";
      b.textContent = closes[i].label;
      b.title = "Draw the opened group as one node again, at the same moment";
      b.addEventListener("click", showFold.bind(null, closes[i].to, closes[i].times));
      el.folds.appendChild(b);
    }
  }

  var ready = Promise.resolve().then(function () {
    checkVersion();
    buildThemeSelect();
    buildCameraControls();
    buildFoldButtons();
    wire();
    return loadFonts();
  }).then(function () {
    started = true;
    setTheme(state.view.theme);     // lays out and draws the first frame
    var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (!reduce) play();
  });
  ready.catch(fail);

  var api = {
    get duration() { return state.scene.duration; },
    get time() { return state.t; },
    get playing() { return state.playing; },
    get theme() { return state.view.theme; },
    get themes() { return themes.slice(); },
    get speed() { return state.speed; },
    get loop() { return state.loop; },
    get chart() { return chartShown(); },
    get schema() { return state.scene.schema; },
    get events() { return state.scene.events.map(function (e) { return { t: e.t, name: e.name, label: e.label }; }); },
    get presenting() { return state.presenting; },
    get step() { var ev = currentEvent(); return ev ? ev.name : null; },
    get stops() { return stops(); },
    get caption() { return el.caption.textContent; },
    // the groups opened now (their drawn paths, as --expand takes them) and the drawn nodes
    get opened() { return currentFold() ? currentFold().key.slice() : []; },
    get nodes() { return state.scene.nodes ? state.scene.nodes.map(function (n) { return { id: n.id, label: (n.info || {}).label }; }) : []; },
    ready: ready,
    seek: seek,
    play: play,
    pause: pause,
    toggle: toggle,
    snapshot: snapshot,
    setView: setView,
    getView: getView,
    get camera() { return state.scene.camera ? cameraNow() : null; },
    setCamera: function (c) { if (state.scene.camera) setCamera(c); },
    fit: function () { if (state.scene.camera) fit(); },
    zoomBy: function (f) { zoomBy(f); },
    setTheme: setTheme,
    setSpeed: setSpeed,
    setLoop: setLoop,
    setChart: setChart,
    nextEvent: function () { stepEvent(1); },
    previousEvent: function () { stepEvent(-1); },
    present: present,
    nextStep: presentNext,
    previousStep: presentPrevious
  };
  if (data.live) api.replaceScene = replaceScene;   // served by `bprender watch` only (live.js)
  window.bprender = Object.freeze(api);
})();
