/* bprender web player: keyframed tracks. Mirrors bprender/tracks.py (value_at, active,
 * smoothstep) operation for operation, so both backends get the same numbers to 1e-6.
 * A track is a list of [time, value] pairs; between two keyframes the value follows a
 * smoothstep, before the first and after the last it holds; two keyframes at one time are
 * a jump (the later one holds from then on).
 * UMD: module.exports in node; window.bprender_lib (.tracks and flat names) in a page. */
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) {
    module.exports = factory();
  } else {
    var ns = root.bprender_lib = root.bprender_lib || {};
    var lib = factory();
    ns.tracks = lib;
    for (var k in lib) ns[k] = lib[k];
  }
})(typeof globalThis !== "undefined" ? globalThis : this, function () {
  "use strict";

  /* Python's min(a, b) and max(a, b) for two numbers: the first argument wins ties and
   * NaN comparisons (Math.min/Math.max would return NaN). */
  function pyMin(a, b) { return b < a ? b : a; }
  function pyMax(a, b) { return b > a ? b : a; }

  /* Python's bisect.bisect_right over the keyframe times track[k][0]. */
  function bisectRight(track, t) {
    var lo = 0, hi = track.length;
    while (lo < hi) {
      var mid = Math.floor((lo + hi) / 2);
      if (t < track[mid][0]) hi = mid; else lo = mid + 1;
    }
    return lo;
  }

  function smoothstep(u) {
    return u * u * (3.0 - 2.0 * u);
  }

  function valueAt(track, t, dflt) {
    if (dflt === undefined) dflt = 0.0;
    if (!track || track.length === 0) return dflt;
    if (t < track[0][0]) return track[0][1];
    if (t >= track[track.length - 1][0]) return track[track.length - 1][1];
    var i = bisectRight(track, t);
    var ta = track[i - 1][0], va = track[i - 1][1];
    var tb = track[i][0], vb = track[i][1];
    if (tb <= ta) return vb;
    return va + (vb - va) * smoothstep((t - ta) / (tb - ta));
  }

  /* Whether t lies within the track's keyframes (a particle exists only while it moves). */
  function active(track, t) {
    return track[0][0] <= t && t <= track[track.length - 1][0];
  }

  return { smoothstep: smoothstep, valueAt: valueAt, active: active,
           bisectRight: bisectRight, pyMin: pyMin, pyMax: pyMax };
});
