"use strict";
/* Unit tests of web_player/tracks.js and geometry.js against hand-computed values (the same
 * values bprender/tracks.py and bprender/layout.py give). Run: node --test tests/js/ */
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("path");

const web = path.join(__dirname, "..", "..", "web_player");
const { valueAt, active, smoothstep, bisectRight, pyMin, pyMax } = require(path.join(web, "tracks.js"));
const { pointAlong } = require(path.join(web, "geometry.js"));

test("smoothstep", () => {
  assert.equal(smoothstep(0), 0);
  assert.equal(smoothstep(1), 1);
  assert.equal(smoothstep(0.5), 0.5);
  assert.equal(smoothstep(0.25), 0.15625);
  assert.equal(smoothstep(0.75), 0.84375);
});

test("valueAt: no track gives the default", () => {
  assert.equal(valueAt(undefined, 1), 0);
  assert.equal(valueAt(null, 1), 0);
  assert.equal(valueAt([], 1), 0);
  assert.equal(valueAt([], 1, 0.5), 0.5);
});

test("valueAt holds before the first and after the last keyframe", () => {
  const track = [[1, 0.2], [2, 0.9]];
  assert.equal(valueAt(track, 0), 0.2);
  assert.equal(valueAt(track, 1), 0.2);
  assert.equal(valueAt(track, 2), 0.9);
  assert.equal(valueAt(track, 7), 0.9);
  assert.equal(valueAt([[3, 4]], 3.5), 4);
});

test("valueAt follows a smoothstep between keyframes", () => {
  assert.equal(valueAt([[0, 0], [2, 1]], 1), 0.5);
  assert.equal(valueAt([[0, 0], [4, 1]], 1), 0.15625);
  assert.equal(valueAt([[0, 0], [2, 1]], 1.5), 0.84375);
  assert.equal(valueAt([[0, 10], [2, 20]], 1), 15);
  // a pulse: up and down again
  const pulse = [[0, 0], [1, 1], [2, 0]];
  assert.equal(valueAt(pulse, 1), 1);
  assert.equal(valueAt(pulse, 1.5), 0.5);
  // exactly at an inner keyframe: bisect_right picks the segment that starts there
  assert.equal(valueAt([[0, 0], [1, 5], [2, 9]], 1), 5);
});

test("valueAt uses bisect_right semantics even on a track out of order", () => {
  // values from Python's bprender.tracks.value_at
  const track = [[0, 0], [2, 5], [1, 7], [3, 9]];
  assert.equal(valueAt(track, 0.5), 0.78125);
  assert.equal(valueAt(track, 1.5), 7.3125);
  assert.equal(valueAt(track, 2.5), 8.6875);
  assert.equal(bisectRight([[0], [1], [1], [2]], 1), 3);
  assert.equal(bisectRight([[0], [1], [1], [2]], -1), 0);
  assert.equal(bisectRight([[0], [1], [1], [2]], 5), 4);
});

test("active: a particle exists while t is within its keyframes", () => {
  assert.equal(active([[1, 0], [2, 1]], 0.99), false);
  assert.equal(active([[1, 0], [2, 1]], 1), true);
  assert.equal(active([[1, 0], [2, 1]], 2), true);
  assert.equal(active([[1, 0], [2, 1]], 2.01), false);
  assert.equal(active([[1, 0], [1, 1]], 1), true);
});

test("two keyframes at one time are a jump (values from Python's value_at)", () => {
  const steps = [[1, 0], [1, 1], [2, 1], [2, 2]];
  assert.deepEqual([0.5, 1, 1.5, 2, 3].map((t) => valueAt(steps, t)), [0, 1, 1, 2, 2]);
  assert.equal(valueAt([[0, 0], [2, 1]], 0), 0);
});

test("pyMin / pyMax keep Python's tie and NaN rules", () => {
  assert.equal(pyMin(1, NaN), 1);
  assert.equal(pyMax(0, NaN), 0);
  assert.ok(Object.is(pyMax(0, -0), 0));
  assert.equal(pyMin(1, 0.5), 0.5);
  assert.equal(pyMax(0, 0.5), 0.5);
});

test("pointAlong", () => {
  const poly = [0, 0, 10, 0, 10, 10];
  const cum = [0, 10, 20];
  assert.deepEqual(pointAlong(poly, cum, 0), [0, 0]);
  assert.deepEqual(pointAlong(poly, cum, 0.3), [6, 0]);
  assert.deepEqual(pointAlong(poly, cum, 0.5), [10, 0]);
  assert.deepEqual(pointAlong(poly, cum, 0.75), [10, 5]);
  assert.deepEqual(pointAlong(poly, cum, 1), [10, 10]);
  assert.deepEqual(pointAlong(poly, cum, 1.5), [10, 10]);   // clamped
  assert.deepEqual(pointAlong(poly, cum, -0.5), [0, 0]);    // clamped
  assert.deepEqual(pointAlong([3, 4, 3, 4], [0, 0], 0.5), [3, 4]); // zero length
});
