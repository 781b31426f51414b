/* bprender web player: the live preview's side of `bprender watch` (bprender/watch/server.py).
 *
 * Inlined only into the pages that the watch server serves, never into an exported page (whose
 * Content-Security-Policy forbids any connection anyway). It long-polls the server that served
 * the page for its state, {version, scene_version, error, building}; when the scene's version
 * moves on it fetches scene.json and swaps it into the running player through
 * window.bprender.replaceScene (player.js) with its folded groups' variants (a group opened
 * stays open when the new scene has it), so the time and view stay; an error in an edited
 * file is shown in a banner above the last good animation, which keeps playing.
 *
 * window.bprender_live (read-only) tells a test or a curious reader the scene version shown,
 * the server's last state, and whether the server is reachable. */
(function () {
  "use strict";

  var RETRY_MS = 1000;       // after the server went away (Ctrl-C), try again this often

  var api = window.bprender;
  var live = JSON.parse(document.getElementById("bp-scenes").textContent).live;
  if (!api || !api.replaceScene || !live) return;

  var shown = live.scene_version;   // the version of the scene the player shows
  var seen = 0;                     // the server's state version last heard of (0: ask at once)
  var last = null, connected = true;
  var fontsKey = fontKey(JSON.parse(document.getElementById("bp-scenes").textContent).scene);

  var banner = document.createElement("div");
  banner.id = "bp-live";
  banner.className = "bp-live";
  banner.setAttribute("role", "alert");
  banner.hidden = true;
  var app = document.getElementById("bp-app");
  app.insertBefore(banner, app.firstChild);

  /* The fonts a scene names: the page has only its first scene's inlined. */
  function fontKey(scene) {
    return JSON.stringify((scene.fonts || []).map(function (f) { return [f.family, f.weight, f.file]; }));
  }

  function say(kind, where, message) {
    while (banner.firstChild) banner.removeChild(banner.firstChild);
    banner.hidden = !message;
    banner.dataset.kind = kind || "";
    if (!message) return;
    if (where) {
      var head = document.createElement("strong");
      head.className = "bp-live-where";
      head.textContent = where;
      banner.appendChild(head);
    }
    var body = document.createElement("span");
    body.className = "bp-live-message";
    body.textContent = message;
    banner.appendChild(body);
  }

  function showState(state) {
    var err = state.error;
    if (err) {
      var where = err.file ? err.file + (err.line ? ":" + err.line : "") : "";
      say("error", where, err.message + " (the animation is the last one that worked)");
    } else if (state.building) {
      say("building", "", "tracing the model again…");
    } else {
      say("", "", "");
    }
  }

  function getJSON(path) {
    return fetch(path, { cache: "no-store" }).then(function (response) {
      if (!response.ok) throw new Error(path + ": HTTP " + response.status);
      return response.json();
    });
  }

  function update(state) {
    seen = state.version;
    last = state;
    connected = true;
    if (state.scene_version === shown) {
      showState(state);
      return null;
    }
    return getJSON("scene.json").then(function (reply) {
      if (fontKey(reply.scene) !== fontsKey) {
        location.reload();          // other fonts: they are inlined, so the page is made again
        return;
      }
      return api.replaceScene(reply.scene, reply.folds).then(function () {
        shown = reply.scene_version;
        showState(state);
      });
    }).catch(function (err) {
      say("error", "", "the new animation could not be shown: " + (err && err.message ? err.message : String(err)));
    });
  }

  function poll() {
    getJSON("events?after=" + seen).then(update).then(poll, function () {
      connected = false;
      say("offline", "", "bprender watch is not running any more (the page shows the last animation)");
      setTimeout(poll, RETRY_MS);
    });
  }

  window.bprender_live = Object.freeze({
    get sceneVersion() { return shown; },
    get state() { return last; },
    get connected() { return connected; }
  });

  api.ready.then(poll);
})();
