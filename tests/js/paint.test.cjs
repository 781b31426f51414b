"use strict";
/* The JS painter on a small hand-made scene (the parity with the Python painter on real
 * scenes is tests/test_oplog_parity.py). Run: node --test tests/js/ */
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("path");

const web = path.join(__dirname, "..", "..", "web_player");
const paint = require(path.join(web, "paint.js"));
const { RecordingCanvas2D } = require(path.join(web, "recording.js"));
const { paintFrame, paintChart, opacities, paletteOf, TAU } = paint;

const FONT = "14px bprender-sans";

function node(id, group, x, reach, tracks) {
  return {
    id, group, x, y: 100, w: 40, h: 20, radius: 4, reach, kind: "op",
    fill: "node_fill", stroke: "node_stroke", stroke_width: 2, dash: [],
    grad_color: "positive", grad_stroke_width: 2.5,
    ring_color: "forward_glow", ring_gap: 5, ring_width: 4,
    lines: [{ text: id, font: FONT, color: "text", y: 104, track: "" },
            { text: "grad", font: FONT, color: "positive", y: 118, track: "grad" }],
    tracks,
  };
}

const PALETTE = {
  background: "#fafafa", panel: "#f4f5f7", text: "#111111", muted: "#777777", node_fill: "#ffffff",
  node_stroke: "#333333", edge_idle: "#cccccc", forward: "#444444", forward_glow: "#f5b700",
  positive: "#d62728", negative: "#1f5fbf", caption_fill: "#eeeeee", caption_text: "#222222",
};

function tinyScene() {
  return {
    width: 320, height: 200, dim: 0.15, duration: 4, theme: "light",
    palettes: { light: PALETTE, dark: Object.assign({}, PALETTE, { background: "#14161c" }) },
    header: {
      texts: [{ text: "Title", font: FONT, color: "text", x: 10, y: 20 },
              { text: "Desc", font: FONT, color: "muted", x: 10, y: 40 }],
      phase: { font: FONT, color: "muted", x: 310, y: 20, texts: ["Forward pass", "Backward pass"],
               track: [[2, 0], [2, 1]] },
      legend_font: FONT,
      legend: [{ color: "positive", dot_x: 200, dot_y: 36, r: 5, text: "positive", x: 210, y: 40 }],
    },
    phases: [{ name: "forward", label: "Forward pass", t0: 0, t1: 2 },
             { name: "backward", label: "Backward pass", t0: 2, t1: 4 }],
    nodes: [
      node("a", "inputs", 50, ["a", "b"], { grad: [[3, 0], [3.5, 1]] }),
      node("b", "ops", 250, ["b"], { pulse: [[0, 0], [1, 1], [2, 0]] }),
    ],
    edges: [{
      id: "e0", from: "a", to: "b", dash: [4, 2],
      route: [[70, 100, 120, 100, 180, 100, 230, 100]],
      poly: [70, 100, 150, 100, 230, 100], cum: [0, 80, 160],
      arrow: [224, 96, 230, 100, 224, 104],
      idle_color: "edge_idle", idle_width: 1.5, forward_color: "forward", forward_width: 2,
      grad_color: "negative", grad_width: 3, grad_alpha: 1,
      tracks: { fwd: [[0.5, 0], [1, 1]], bwd: [[2, 0], [3, 1]], label: [[3, 0], [3.2, 1]] },
      label: { box: [130, 80, 40, 20], radius: 10, fill: "background", stroke: "negative",
               font: FONT, color: "negative", text: "−2", x: 150, y: 95 },
    }],
    particles: [{ edge: 0, track: [[2, 0], [3, 1]], radius: 4, color: "negative", reverse: true, alpha: 1 }],
    captions: {
      x: 10, y: 160, w: 300, h: 30, radius: 6, pad: 8, line_height: 16,
      fill: "caption_fill", font: FONT, color: "caption_text",
      items: [{ track: [[1, 0], [1.5, 1], [3, 1], [3, 0]], lines: ["first line", "second line"] }],
    },
    chart: {
      width: 320, height: 80, background: "panel", font: FONT, text: "text",
      muted: "muted", grid: "edge_idle", axis_y: 60, tick_y: 75, label_x: 10, bar_x: 30,
      value_x: 300, title: { text: "Gradient norm", x: 10, y: 14 },
      ticks: [{ text: "1e0", x: 30 }, { text: "1e1", x: 290 }],
      rows: [{ label: "w", text_y: 30, y: 24, h: 10, w: 200, color: "forward", value: "6",
               track: [[3, 0], [3.5, 1]] }],
    },
  };
}

function record(fn) {
  const ctx = new RecordingCanvas2D();
  fn(ctx);
  return ctx.ops;
}

test("a frame starts with the background and ends at full alpha", () => {
  const scene = tinyScene();
  const ops = record((ctx) => paintFrame(ctx, scene, 0, null));
  assert.deepEqual(ops.slice(0, 3), [
    ["set", "globalAlpha", 1], ["set", "fillStyle", "#fafafa"], ["fillRect", 0, 0, 320, 200],
  ]);
  assert.deepEqual(ops.slice(3, 6), [
    ["set", "textBaseline", "alphabetic"], ["set", "textAlign", "left"], ["set", "font", FONT],
  ]);
  assert.deepEqual(ops[ops.length - 1], ["set", "globalAlpha", 1]);
  assert.ok(ops.some((op) => op[0] === "fillText" && op[1] === "Forward pass"));
  assert.ok(ops.some((op) => op[0] === "arc" && op[5] === TAU && op.length === 6));
});

test("the edge's route is one path, dashed and stroked, then its arrow path is filled", () => {
  const scene = tinyScene();
  const ops = record((ctx) => paintFrame(ctx, scene, 0, null));
  const route = ["Path2D", ["moveTo", 70, 100], ["bezierCurveTo", 120, 100, 180, 100, 230, 100]];
  const start = ops.findIndex((op) => op[0] === "setLineDash" && op[1].length > 0);
  assert.deepEqual(ops.slice(start, start + 9), [
    ["setLineDash", [4, 2]], ["set", "globalAlpha", 1], ["set", "strokeStyle", "#cccccc"],
    ["set", "lineWidth", 1.5], ["stroke", route], ["setLineDash", []],
    ["set", "globalAlpha", 1], ["set", "fillStyle", "#cccccc"],
    ["fill", ["Path2D", ["moveTo", 224, 96], ["lineTo", 230, 100], ["lineTo", 224, 104], ["closePath"]]],
  ]);
  // made once: a second frame strokes the same path object (the log is the same)
  const again = record((ctx) => paintFrame(ctx, scene, 0, null));
  assert.deepEqual(again, ops);
});

test("a particle flies along its edge (reversed: from the end)", () => {
  const scene = tinyScene();
  const ops = record((ctx) => paintFrame(ctx, scene, 2.5, null));
  const arcs = ops.filter((op) => op[0] === "arc" && op[3] !== 5);
  // progress 0.5, reversed -> fraction 0.5 -> (150, 100); halo radius 4 * 1.8
  assert.deepEqual(arcs, [["arc", 150, 100, 4 * 1.8, 0, TAU], ["arc", 150, 100, 4, 0, TAU]]);
  const halo = ops.findIndex((op) => op[0] === "arc" && op[3] === 4 * 1.8);
  assert.deepEqual(ops.slice(halo - 3, halo), [
    ["set", "fillStyle", "#1f5fbf"], ["set", "globalAlpha", 0.25], ["beginPath"],
  ]);
  // outside its flight no particle is drawn
  const before = record((ctx) => paintFrame(ctx, scene, 1.9, null));
  assert.equal(before.filter((op) => op[0] === "arc").length, 1); // the legend dot only
});

test("captions fade in and show their lines", () => {
  const scene = tinyScene();
  const ops = record((ctx) => paintFrame(ctx, scene, 1.25, null));
  const i = ops.findIndex((op) => op[0] === "fillText" && op[1] === "first line");
  assert.deepEqual(ops[i - 1], ["set", "globalAlpha", 0.5]);
  assert.deepEqual(ops[i], ["fillText", "first line", 18, 160 + 8 + 16 * 0.75]);
  assert.deepEqual(ops[i + 1], ["fillText", "second line", 18, 160 + 8 + 16 * 1.75]);
  const none = record((ctx) => paintFrame(ctx, scene, 3, null));
  assert.ok(!none.some((op) => op[1] === "first line"));
});

test("edge labels appear with their track", () => {
  const scene = tinyScene();
  const early = record((ctx) => paintFrame(ctx, scene, 2, null));
  assert.ok(!early.some((op) => op[0] === "fillText" && op[1] === "−2"));
  const late = record((ctx) => paintFrame(ctx, scene, 4, null));
  const i = late.findIndex((op) => op[0] === "fillText" && op[1] === "−2");
  assert.deepEqual(late[i], ["fillText", "−2", 150, 95]);
  assert.ok(late.some((op) => op[0] === "roundRect" && op[1] === 130 && op[5] === 10));
});

test("view state: highlight dims, hidden groups vanish", () => {
  const scene = tinyScene();
  assert.deepEqual(opacities(scene, {}), [[1, 1], [1]]);
  assert.deepEqual(opacities(scene, { highlight: "b" }), [[0.15, 1], [0.15]]);
  assert.deepEqual(opacities(scene, { highlight: "nope" }), [[1, 1], [1]]);
  assert.deepEqual(opacities(scene, { hidden: ["inputs"] }), [[0, 1], [0]]);
  assert.deepEqual(opacities(scene, { highlight: "a", hidden: ["ops"] }), [[1, 0], [0]]);
  const ops = record((ctx) => paintFrame(ctx, scene, 2.5, { hidden: ["inputs"] }));
  const routeStroked = (log) => log.some((op) => op[0] === "stroke" && op.length > 1 &&
    op[1].some((call) => call[0] === "bezierCurveTo"));
  assert.ok(!routeStroked(ops));
  assert.ok(routeStroked(record((ctx) => paintFrame(ctx, scene, 2.5, {}))));
  assert.ok(!ops.some((op) => op[0] === "fillText" && op[1] === "a"));
  assert.ok(ops.some((op) => op[0] === "fillText" && op[1] === "b"));
});

test("a node's box, grad overlay and pulse ring", () => {
  const scene = tinyScene();
  const ops = record((ctx) => paintFrame(ctx, scene, 1, null));
  // node b pulses at t=1: ring box grown by ring_gap
  const box = (op) => (op.length > 1 && op[1][0] === "Path2D" && op[1][1][0] === "roundRect" ? op[1][1] : null);
  const rr = (x) => ops.filter((op) => box(op) !== null && box(op)[1] === x).map((op) => [op[0], box(op)]);
  assert.deepEqual(rr(250 - 20 - 5), [["stroke", ["roundRect", 225, 85, 50, 30, 9]]]);
  assert.deepEqual(rr(30), [["fill", ["roundRect", 30, 90, 40, 20, 4]], ["stroke", ["roundRect", 30, 90, 40, 20, 4]]]);
});

test("the header shows the phase under way, by its track", () => {
  const scene = tinyScene();
  const phase = (t) => record((ctx) => paintFrame(ctx, scene, t, null))
    .filter((op) => op[0] === "fillText" && op[1].endsWith("pass")).map((op) => op[1]);
  assert.deepEqual(phase(-1), ["Forward pass"]);
  assert.deepEqual(phase(1.99), ["Forward pass"]);
  assert.deepEqual(phase(2), ["Backward pass"]);
});

test("colours are roles looked up in the view's theme, else the scene's", () => {
  const scene = tinyScene();
  assert.equal(paletteOf(scene, null), scene.palettes.light);
  assert.equal(paletteOf(scene, { theme: "dark" }), scene.palettes.dark);
  assert.equal(paletteOf(scene, { theme: null }), scene.palettes.light);
  const dark = record((ctx) => paintFrame(ctx, scene, 0, { theme: "dark" }));
  assert.deepEqual(dark[1], ["set", "fillStyle", "#14161c"]);
  assert.ok(dark.every((op) => op[0] !== "set" || !/Style$/.test(op[1]) || op[2].startsWith("#")));
});

test("the chart", () => {
  const scene = tinyScene();
  const ops = record((ctx) => paintChart(ctx, scene.chart, 4, PALETTE));
  assert.deepEqual(ops.slice(0, 3), [
    ["set", "globalAlpha", 1], ["set", "fillStyle", "#f4f5f7"], ["fillRect", 0, 0, 320, 80],
  ]);
  assert.ok(ops.some((op) => op[0] === "moveTo" && op[1] === 30 && op[2] === 24));
  assert.ok(ops.some((op) => op[0] === "fillRect" && op[1] === 30 && op[2] === 25 && op[3] === 200));
  const empty = record((ctx) => paintChart(ctx, Object.assign({}, scene.chart, { rows: [] }), 4, PALETTE));
  assert.ok(empty.some((op) => op[0] === "moveTo" && op[1] === 30 && op[2] === 60)); // axis_y
  const early = record((ctx) => paintChart(ctx, scene.chart, 0, PALETTE));
  assert.ok(!early.some((op) => op[0] === "fillText" && op[1] === "6"));
});

test("training: node lines show the current step's strings", () => {
  const scene = tinyScene();
  scene.train = { steps: 3, track: [[2, 0], [2, 1], [3, 1], [3, 2]] };
  scene.nodes[1].lines[0].texts = ["L1", "L2", "L3"];
  const texts = (t) => record((ctx) => paintFrame(ctx, scene, t, null))
    .filter((op) => op[0] === "fillText").map((op) => op[1]);
  assert.ok(texts(-1).includes("L1") && !texts(-1).includes("b"));
  assert.ok(texts(1.99).includes("L1"));
  assert.ok(texts(2).includes("L2"));
  assert.ok(texts(2.99).includes("L2"));
  assert.ok(texts(10).includes("L3"));
});

function lossCurve() {
  return {
    x: 200, y: 50, w: 100, h: 80, radius: 6, background: "panel", border: "edge_idle",
    grid: "edge_idle", text: "text", muted: "muted", title_font: FONT, font: FONT,
    title: { text: "Loss", x: 206, y: 64 }, label: { x: 206, y: 78 },
    plot: [220, 85, 295, 120], ytick_x: 216, xtick_y: 128,
    yticks: [{ y: 120, text: "0", text_y: 124 }, { y: 85, text: "1", text_y: 89 }],
    xticks: [{ x: 220, text: "1" }, { x: 295, text: "3" }],
    line_color: "forward", line_width: 2, dot_r: 2, current_r: 4, current_color: "positive",
    points: [{ x: 220, y: 90, label: "step 1" }, { x: 257.5, y: 100, label: "step 2" },
             { x: 295, y: 110, label: "step 3" }],
    shown: [[1, 0], [1, 1], [2, 1], [2, 2], [3, 2], [3, 3]],
  };
}

test("the loss curve fills in per step and highlights the newest point", () => {
  const curve = lossCurve();
  const ops = record((ctx) => paint.paintLossCurve(ctx, curve, 2.5, PALETTE));
  assert.deepEqual(ops.slice(0, 4), [
    ["set", "globalAlpha", 1], ["beginPath"], ["roundRect", 200, 50, 100, 80, 6],
    ["set", "fillStyle", "#f4f5f7"],
  ]);
  const line = ops.findIndex((op) => op[0] === "moveTo" && op[1] === 220 && op[2] === 90);
  assert.deepEqual(ops.slice(line, line + 3), [["moveTo", 220, 90], ["lineTo", 257.5, 100], ["stroke"]]);
  const arcs = ops.filter((op) => op[0] === "arc");
  assert.deepEqual(arcs, [["arc", 220, 90, 2, 0, TAU], ["arc", 257.5, 100, 2, 0, TAU],
                          ["arc", 257.5, 100, 4, 0, TAU]]);
  assert.deepEqual(ops[ops.length - 1], ["fillText", "step 2", 206, 78]);
  const before = record((ctx) => paint.paintLossCurve(ctx, curve, 0, PALETTE));
  assert.ok(!before.some((op) => op[0] === "arc" || (op[0] === "lineTo" && op[1] !== 295)));
  assert.ok(!before.some((op) => op[0] === "fillText" && op[1].startsWith("step")));
  // a frame draws the panel (after the nodes, before the caption) only when the scene has one
  const scene = tinyScene();
  const plain = record((ctx) => paintFrame(ctx, scene, 2.5, null));
  scene.loss_curve = curve;
  const withCurve = record((ctx) => paintFrame(ctx, scene, 2.5, null));
  assert.ok(!plain.some((op) => op[0] === "fillText" && op[1] === "Loss"));
  const i = withCurve.findIndex((op) => op[0] === "fillText" && op[1] === "Loss");
  const j = withCurve.findIndex((op) => op[0] === "fillText" && op[1] === "first line");
  assert.ok(i > 0 && j > i);
});
