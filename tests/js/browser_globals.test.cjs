"use strict";
/* The web_player files also work inlined one after another in plain <script> tags (no module
 * system): simulated here with a fresh vm context that has no `module` or `require`.
 * Run: node --test tests/js/ */
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const path = require("path");
const vm = require("vm");

const web = path.join(__dirname, "..", "..", "web_player");
const ORDER = ["tracks.js", "geometry.js", "paint.js", "recording.js"];

function pageContext() {
  const context = vm.createContext({});
  vm.runInContext("var window = globalThis;", context);
  for (const file of ORDER) {
    const source = fs.readFileSync(path.join(web, file), "utf8");
    vm.runInContext(source, context, { filename: file });
  }
  return context;
}

test("the files define window.bprender_lib without a module system", () => {
  const context = pageContext();
  const lib = vm.runInContext("window.bprender_lib", context);
  for (const name of ["valueAt", "active", "smoothstep", "pointAlong", "paintFrame", "paintChart",
                      "opacities", "paletteOf", "paintHeader", "routePath", "arrowPath", "strokeAgain",
                      "paintEdge", "paintParticle", "boxPath", "paintNode", "paintEdgeLabel",
                      "paintCaption", "RecordingCanvas2D", "opsDiff", "opsEqual"]) {
    assert.equal(typeof lib[name], "function", name);
  }
  for (const ns of ["tracks", "geometry", "paint", "recording"]) {
    assert.equal(typeof lib[ns], "object", ns);
  }
  assert.equal(lib.paint.valueAt, undefined); // namespaces hold their own file's names only
  assert.equal(lib.tracks.valueAt, lib.valueAt);
});

test("the inlined painter draws the same ops as the required one", () => {
  const context = pageContext();
  const { paintChart } = require(path.join(web, "paint.js"));
  const { RecordingCanvas2D } = require(path.join(web, "recording.js"));
  const chart = {
    width: 100, height: 40, background: "panel", font: "12px sans-serif", text: "text",
    muted: "muted", grid: "edge_idle", axis_y: 30, tick_y: 38, label_x: 2, bar_x: 10, value_x: 90,
    title: { text: "T", x: 2, y: 10 }, ticks: [{ text: "1e0", x: 10 }],
    rows: [{ label: "w", text_y: 20, y: 15, h: 6, w: 50, color: "forward", value: "6",
             track: [[0, 0], [1, 1]] }],
  };
  const palette = { panel: "#fff", text: "#000", muted: "#777", edge_idle: "#ccc", forward: "#444" };
  context.chart = chart;
  context.palette = palette;
  const inPage = JSON.parse(vm.runInContext(
    "(function () { var lib = window.bprender_lib; var ctx = new lib.RecordingCanvas2D();" +
    " lib.paintChart(ctx, chart, 0.5, palette); return JSON.stringify(ctx.ops); })()", context));
  const ctx = new RecordingCanvas2D();
  paintChart(ctx, chart, 0.5, palette);
  assert.deepEqual(inPage, JSON.parse(JSON.stringify(ctx.ops)));
  assert.ok(inPage.length > 10);
});
