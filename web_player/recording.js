/* bprender web player: RecordingCanvas2D, the Canvas 2D subset as an op log. Mirrors
 * bprender/canvas/recording.py so the JS painter's log can be compared with the Python one.
 *
 * Each method call is logged as [name, ...args] (every argument passed, no more, no fewer)
 * and each property assignment as ["set", name, value], with the value as the painter passed
 * it (even one the spec ignores). Arrays are copied into the log. measureText logs nothing.
 * The drawing state is kept with the spec's validation for numbers, enums and the line dash
 * (an ignored assignment leaves the property unchanged) and a save/restore stack. Unlike the
 * Python canvas, colour and font strings are stored as given (not parsed or serialised).
 *
 * UMD: module.exports in node; window.bprender_lib (.recording and flat names) in a page. */
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) {
    module.exports = factory();
  } else {
    var ns = root.bprender_lib = root.bprender_lib || {};
    var lib = factory();
    ns.recording = lib;
    for (var k in lib) ns[k] = lib[k];
  }
})(typeof globalThis !== "undefined" ? globalThis : this, function () {
  "use strict";

  var METHODS = ["save", "restore", "translate", "scale", "rotate", "transform", "setTransform",
    "resetTransform", "beginPath", "closePath", "moveTo", "lineTo", "bezierCurveTo",
    "quadraticCurveTo", "arc", "rect", "roundRect", "fill", "stroke", "clip",
    "fillRect", "strokeRect", "clearRect", "fillText", "strokeText", "setLineDash", "drawImage"];
  var PROPERTIES = ["fillStyle", "strokeStyle", "lineWidth", "lineCap", "lineJoin", "miterLimit",
    "globalAlpha", "font", "textAlign", "textBaseline", "lineDashOffset", "imageSmoothingEnabled"];
  var ENUMS = {
    lineCap: ["butt", "round", "square"],
    lineJoin: ["miter", "round", "bevel"],
    textAlign: ["start", "end", "left", "right", "center"],
    textBaseline: ["top", "hanging", "middle", "alphabetic", "ideographic", "bottom"]
  };
  var DEFAULT_FONT = "10px sans-serif";

  /* A logged value: arrays copied (recursively), an image by its key ([width, height,
   * checksum], paint.js's makeBitmap), a path as ["Path2D", ...its calls], everything else as passed. */
  function norm(value) {
    if (Array.isArray(value)) return value.map(norm);
    if (value !== null && typeof value === "object" && Array.isArray(value.bprKey)) return value.bprKey.slice();
    if (value !== null && typeof value === "object" && Array.isArray(value.bprOps)) {
      return ["Path2D"].concat(value.bprOps.map(norm));  // a path by its calls (paint.js's pathOf)
    }
    return value;
  }

  /* A finite number, or null (the spec ignores non-finite values for these properties). */
  function finite(value) {
    return typeof value === "number" && isFinite(value) ? value : null;
  }

  function defaultState() {
    return {
      fillStyle: "#000000", strokeStyle: "#000000", lineWidth: 1.0, lineCap: "butt",
      lineJoin: "miter", miterLimit: 10.0, globalAlpha: 1.0, font: DEFAULT_FONT,
      textAlign: "start", textBaseline: "alphabetic", lineDashOffset: 0.0, imageSmoothingEnabled: true,
      dash: []
    };
  }

  function copyState(s) {
    var out = {};
    for (var k in s) out[k] = s[k];
    out.dash = s.dash.slice();
    return out;
  }

  /* Validation: returns [accepted, value]. */
  var accept = {
    fillStyle: function (v) { return [typeof v === "string", v]; },
    strokeStyle: function (v) { return [typeof v === "string", v]; },
    font: function (v) { return [typeof v === "string" && v.trim() !== "", v]; },
    lineWidth: function (v) { v = finite(v); return [v !== null && v > 0, v]; },
    miterLimit: function (v) { v = finite(v); return [v !== null && v > 0, v]; },
    globalAlpha: function (v) { v = finite(v); return [v !== null && v >= 0.0 && v <= 1.0, v]; },
    lineDashOffset: function (v) { v = finite(v); return [v !== null, v]; },
    imageSmoothingEnabled: function (v) { return [true, !!v]; }  // the spec converts to a boolean
  };
  Object.keys(ENUMS).forEach(function (name) {
    accept[name] = function (v) { return [ENUMS[name].indexOf(v) >= 0, v]; };
  });

  function RecordingCanvas2D(fonts) {
    this.ops = [];
    this.fonts = fonts === undefined ? null : fonts;
    this._state = defaultState();
    this._stack = [];
  }

  METHODS.forEach(function (name) {
    RecordingCanvas2D.prototype[name] = function () {
      var op = [name];
      for (var i = 0; i < arguments.length; i++) op.push(norm(arguments[i]));
      this.ops.push(op);
      var hook = this["_after_" + name];
      if (typeof hook === "function") hook.apply(this, arguments);
    };
  });

  PROPERTIES.forEach(function (name) {
    Object.defineProperty(RecordingCanvas2D.prototype, name, {
      get: function () { return this._state[name]; },
      set: function (value) {
        this.ops.push(["set", name, norm(value)]);
        var r = accept[name](value);
        if (r[0]) this._state[name] = r[1];
      },
      enumerable: true,
      configurable: true
    });
  });

  RecordingCanvas2D.prototype._after_save = function () {
    this._stack.push(copyState(this._state));
  };

  RecordingCanvas2D.prototype._after_restore = function () {
    if (this._stack.length) this._state = this._stack.pop(); // empty stack: nothing
  };

  RecordingCanvas2D.prototype._after_setLineDash = function (segments) {
    if (segments === null || segments === undefined || typeof segments[Symbol.iterator] !== "function") return;
    var vals = [];
    for (var v of segments) {
      var n = finite(v);
      if (n === null || n < 0) return; // the spec ignores the call
      vals.push(n);
    }
    if (vals.length % 2) vals = vals.concat(vals);
    this._state.dash = vals;
  };

  RecordingCanvas2D.prototype.getLineDash = function () {
    return this._state.dash.slice();
  };

  /* Logs nothing. Without a font measurer every metric is 0 (as the Python canvas without a
   * FontBook). fonts may be a function (text, font) -> width. */
  RecordingCanvas2D.prototype.measureText = function (text) {
    var width = typeof this.fonts === "function" ? this.fonts(String(text), this._state.font) : 0.0;
    return { width: width, fontBoundingBoxAscent: 0.0, fontBoundingBoxDescent: 0.0,
             emHeightAscent: 0.0, emHeightDescent: 0.0, actualBoundingBoxLeft: 0.0,
             actualBoundingBoxRight: 0.0 };
  };

  /* ops_diff / ops_equal as in bprender/canvas/__init__.py: numbers within tol (relative
   * above 1), NaN equals NaN, infinities must match exactly. */
  function same(x, y, tol) {
    if (typeof x === "boolean" || typeof y === "boolean") return x === y;
    if (typeof x === "number" && typeof y === "number") {
      if (isNaN(x) || isNaN(y)) return isNaN(x) && isNaN(y);
      if (!isFinite(x) || !isFinite(y)) return x === y;
      return Math.abs(x - y) <= tol * Math.max(1.0, Math.abs(x), Math.abs(y));
    }
    if (Array.isArray(x) && Array.isArray(y)) {
      if (x.length !== y.length) return false;
      for (var i = 0; i < x.length; i++) if (!same(x[i], y[i], tol)) return false;
      return true;
    }
    return typeof x === typeof y && x === y;
  }

  function opsDiff(a, b, tol) {
    if (tol === undefined) tol = 1e-6;
    var n = Math.min(a.length, b.length);
    for (var i = 0; i < n; i++) {
      if (!same(a[i], b[i], tol)) {
        return "op " + i + " differs: " + JSON.stringify(a[i]) + " != " + JSON.stringify(b[i]);
      }
    }
    if (a.length !== b.length) {
      var extra = (a.length > n ? a : b)[n];
      return "logs differ in length (" + a.length + " vs " + b.length + "); first extra op " + n +
        ": " + JSON.stringify(extra);
    }
    return null;
  }

  function opsEqual(a, b, tol) {
    return opsDiff(a, b, tol) === null;
  }

  return { RecordingCanvas2D: RecordingCanvas2D, METHODS: METHODS, PROPERTIES: PROPERTIES,
           opsDiff: opsDiff, opsEqual: opsEqual };
});
