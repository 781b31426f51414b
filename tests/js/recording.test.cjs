"use strict";
/* Unit tests of web_player/recording.js: the op-log format must match
 * bprender/canvas/recording.py. Run: node --test tests/js/ */
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("path");

const web = path.join(__dirname, "..", "..", "web_player");
const { RecordingCanvas2D, opsDiff, opsEqual, METHODS, PROPERTIES } = require(path.join(web, "recording.js"));

test("method calls are logged as [name, ...args], every argument passed", () => {
  const ctx = new RecordingCanvas2D();
  ctx.beginPath();
  ctx.arc(1, 2, 3, 0, 2 * Math.PI);
  ctx.arc(1, 2, 3, 0, 1, true);
  ctx.fillText("text", 10, 20);
  ctx.roundRect(1, 2, 3, 4, 5);
  ctx.fill();
  assert.deepEqual(ctx.ops, [
    ["beginPath"],
    ["arc", 1, 2, 3, 0, 2 * Math.PI],
    ["arc", 1, 2, 3, 0, 1, true],
    ["fillText", "text", 10, 20],
    ["roundRect", 1, 2, 3, 4, 5],
    ["fill"],
  ]);
});

test("property assignments are logged as ['set', name, value], even ignored ones", () => {
  const ctx = new RecordingCanvas2D();
  ctx.fillStyle = "#fff";
  ctx.globalAlpha = 0.5;
  ctx.globalAlpha = 2;          // outside [0, 1]: ignored by the state, still logged
  ctx.lineWidth = 0;            // <= 0: ignored
  ctx.textAlign = "middle";     // not a textAlign value: ignored
  ctx.textAlign = "center";
  assert.deepEqual(ctx.ops, [
    ["set", "fillStyle", "#fff"],
    ["set", "globalAlpha", 0.5],
    ["set", "globalAlpha", 2],
    ["set", "lineWidth", 0],
    ["set", "textAlign", "middle"],
    ["set", "textAlign", "center"],
  ]);
  assert.equal(ctx.globalAlpha, 0.5);
  assert.equal(ctx.lineWidth, 1);
  assert.equal(ctx.textAlign, "center");
  assert.equal(ctx.fillStyle, "#fff");
});

test("other attributes are not logged", () => {
  const ctx = new RecordingCanvas2D();
  ctx.somethingElse = 3;
  assert.deepEqual(ctx.ops, []);
});

test("setLineDash is a method; its array is copied into the log", () => {
  const ctx = new RecordingCanvas2D();
  const dash = [4, 2, 1];
  ctx.setLineDash(dash);
  dash.push(9);
  assert.deepEqual(ctx.ops, [["setLineDash", [4, 2, 1]]]);
  assert.deepEqual(ctx.getLineDash(), [4, 2, 1, 4, 2, 1]); // odd length doubled
  ctx.setLineDash([1, -1]);                                // negative: the call is ignored
  assert.deepEqual(ctx.getLineDash(), [4, 2, 1, 4, 2, 1]);
  ctx.setLineDash([]);
  assert.deepEqual(ctx.getLineDash(), []);
  assert.equal(ctx.ops.length, 3);
});

test("save and restore keep the drawing state; measureText logs nothing", () => {
  const ctx = new RecordingCanvas2D();
  ctx.globalAlpha = 0.25;
  ctx.save();
  ctx.globalAlpha = 0.75;
  ctx.restore();
  ctx.restore(); // empty stack: nothing
  assert.equal(ctx.globalAlpha, 0.25);
  const n = ctx.ops.length;
  assert.equal(ctx.measureText("abc").width, 0);
  assert.equal(ctx.ops.length, n);
  assert.deepEqual(ctx.ops.slice(-4), [["save"], ["set", "globalAlpha", 0.75], ["restore"], ["restore"]]);
});

test("defaults match the Canvas 2D spec", () => {
  const ctx = new RecordingCanvas2D();
  assert.equal(ctx.font, "10px sans-serif");
  assert.equal(ctx.textAlign, "start");
  assert.equal(ctx.textBaseline, "alphabetic");
  assert.equal(ctx.lineWidth, 1);
  assert.equal(ctx.globalAlpha, 1);
  assert.equal(ctx.fillStyle, "#000000");
});

test("the method and property lists match the Python recording canvas", () => {
  assert.ok(METHODS.includes("roundRect") && METHODS.includes("setLineDash") && METHODS.includes("drawImage"));
  assert.ok(!METHODS.includes("measureText"));
  assert.equal(PROPERTIES.length, 12);
  assert.ok(PROPERTIES.includes("imageSmoothingEnabled"));
});

test("opsDiff / opsEqual", () => {
  assert.equal(opsDiff([["fillRect", 0, 0, 10, 10]], [["fillRect", 0, 0, 10, 10 + 1e-9]]), null);
  assert.ok(opsEqual([["set", "globalAlpha", 1]], [["set", "globalAlpha", 1.0]]));
  assert.match(opsDiff([["fill"]], [["stroke"]]), /^op 0 differs/);
  assert.match(opsDiff([["fill"]], [["fill"], ["stroke"]]), /differ in length/);
  assert.ok(!opsEqual([["arc", true]], [["arc", 1]]));
  assert.ok(opsEqual([[NaN]], [[NaN]]));
});
