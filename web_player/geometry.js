/* bprender web player: geometry the painter needs. pointAlong mirrors point_along in
 * bprender/layout.py operation for operation.
 * UMD: module.exports in node; window.bprender_lib (.geometry and flat names) in a page
 * (load after tracks.js). */
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) {
    module.exports = factory(require("./tracks.js"));
  } else {
    var ns = root.bprender_lib = root.bprender_lib || {};
    var lib = factory(ns.tracks);
    ns.geometry = lib;
    for (var k in lib) ns[k] = lib[k];
  }
})(typeof globalThis !== "undefined" ? globalThis : this, function (tracks) {
  "use strict";
  var pyMin = tracks.pyMin, pyMax = tracks.pyMax;

  /* The point at `fraction` of the polyline's length: [x, y]. poly is flat [x0, y0, x1, y1, ...],
   * cum the cumulative length at each vertex. */
  function pointAlong(poly, cum, fraction) {
    var target = fraction * cum[cum.length - 1];
    var i = 1;
    while (i < cum.length - 1 && cum[i] < target) i += 1;
    var span = cum[i] - cum[i - 1];
    var u = span <= 0 ? 0.0 : (target - cum[i - 1]) / span;
    u = pyMin(1.0, pyMax(0.0, u));
    var x = poly[2 * i - 2] + (poly[2 * i] - poly[2 * i - 2]) * u;
    var y = poly[2 * i - 1] + (poly[2 * i + 1] - poly[2 * i - 1]) * u;
    return [x, y];
  }

  return { pointAlong: pointAlong };
});
