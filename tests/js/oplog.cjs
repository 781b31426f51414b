#!/usr/bin/env node
/* Op logs of the JS painter, for the parity test (tests/test_oplog_parity.py).
 *
 *   node tests/js/oplog.cjs SCENE.json CASES.json
 *
 * CASES is a JSON list of {"t": float, "view": {...} or null, "what": "frame" | "chart"} (a
 * chart case names its "theme").
 * Prints a JSON list with one op log per case (paintFrame or paintChart on a fresh
 * RecordingCanvas2D). Non-finite numbers are written as NaN / Infinity / -Infinity, which
 * Python's json.loads reads back as floats. */
"use strict";
const fs = require("fs");
const path = require("path");

const web = path.join(__dirname, "..", "..", "web_player");
const { paintFrame, paintChart } = require(path.join(web, "paint.js"));
const { RecordingCanvas2D } = require(path.join(web, "recording.js"));

function dump(value) {
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (value === Infinity) return "Infinity";
    if (value === -Infinity) return "-Infinity";
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return "[" + value.map(dump).join(",") + "]";
  if (value === undefined) return "null";
  if (value !== null && typeof value === "object") {
    return "{" + Object.keys(value).map((k) => JSON.stringify(k) + ":" + dump(value[k])).join(",") + "}";
  }
  return JSON.stringify(value);
}

function main(argv) {
  if (argv.length !== 2) {
    process.stderr.write("usage: node tests/js/oplog.cjs SCENE.json CASES.json\n");
    return 2;
  }
  const scene = JSON.parse(fs.readFileSync(argv[0], "utf8"));
  const cases = JSON.parse(fs.readFileSync(argv[1], "utf8"));
  const logs = cases.map((c) => {
    const ctx = new RecordingCanvas2D();
    const what = c.what === undefined ? "frame" : c.what;
    if (what === "frame") paintFrame(ctx, scene, c.t, c.view);
    else if (what === "chart") paintChart(ctx, scene.chart, c.t, scene.palettes[c.theme]);
    else throw new Error("unknown case kind: " + what);
    return ctx.ops;
  });
  process.stdout.write(dump(logs) + "\n");
  return 0;
}

process.exitCode = main(process.argv.slice(2));
