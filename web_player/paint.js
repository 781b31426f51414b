/* bprender web player: the painter. One frame of a Scene at time t, drawn through the
 * Canvas 2D API only.
 *
 * This file mirrors bprender/paint.py function for function and call for call (paintFrame is
 * paint_frame, ...): same Canvas 2D calls, same order, same arguments, same arithmetic. The
 * op-log test (tests/test_oplog_parity.py) holds them equal. So: no measuring, no formatting,
 * no decisions about looks here. Read the scene, evaluate tracks, draw.
 * Scene keys stay snake_case: they are JSON data written by Python.
 *
 * UMD: module.exports in node; window.bprender_lib (.paint and flat names) in a page
 * (load after tracks.js and geometry.js). */
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) {
    module.exports = factory(require("./tracks.js"), require("./geometry.js"));
  } else {
    var ns = root.bprender_lib = root.bprender_lib || {};
    var lib = factory(ns.tracks, ns.geometry);
    ns.paint = lib;
    for (var k in lib) ns[k] = lib[k];
  }
})(typeof globalThis !== "undefined" ? globalThis : this, function (tracks, geometry) {
  "use strict";
  var valueAt = tracks.valueAt, active = tracks.active, pyMin = tracks.pyMin, pyMax = tracks.pyMax;
  var pointAlong = geometry.pointAlong;

  var TAU = 2 * Math.PI;
  var VISIBLE = 0.002; // below this an alpha is invisible: skip the draw calls
  var LEVELS = 100; // a heatmap cell's level: -LEVELS..LEVELS, then NaN/Inf, then transparent
  var NONFINITE = LEVELS + 1;
  var GAP = LEVELS + 2;

  var hasOwn = Object.prototype.hasOwnProperty;

  /* Python's dict.get(key): undefined for a missing key (never an inherited property such as
   * "constructor"); valueAt treats undefined like None. */
  function get(obj, key) {
    return hasOwn.call(obj, key) ? obj[key] : undefined;
  }

  /* Python truthiness of a list / string / None (an empty list is falsy there, not in JS). */
  function truthy(v) {
    if (Array.isArray(v) || typeof v === "string") return v.length > 0;
    return !!v;
  }

  /* The colours of the view's theme (else the scene's own): role -> CSS colour. */
  function paletteOf(scene, view) {
    var theme = truthy(view) && truthy(get(view, "theme")) ? view.theme : scene.theme;
    return scene.palettes[theme];
  }

  /* Draw the frame at time t. view = {highlight: node id or null, hidden: [group names],
   * theme: palette name or null}: a highlighted node keeps its gradient paths to the loss
   * bright and dims the rest; hidden groups are not drawn; colours come from the theme. */
  function paintFrame(ctx, scene, t, view) {
    if (hasOwn.call(scene, "panels")) {
      paintPanels(ctx, scene, t, view);
      return;
    }
    var colors = paletteOf(scene, view);
    var op = opacities(scene, view || {});
    var nodeOpacity = op[0], edgeOpacity = op[1];
    var edges = scene.edges, nodes = scene.nodes, particles = scene.particles;
    var i;
    ctx.globalAlpha = 1.0;
    ctx.fillStyle = colors.background;
    ctx.fillRect(0, 0, scene.width, scene.height);
    paintHeader(ctx, scene.header, t, colors);
    var camera = get(scene, "camera");
    var lens = null;
    if (camera !== undefined) {  // the graph layer through the camera, clipped to its view
      var at = cameraAt(camera, t, view);
      lens = lensOf(camera, at[0], at[1], at[2]);
      ctx.save();
      ctx.beginPath();
      ctx.rect(camera.x, camera.y, camera.w, camera.h);
      ctx.clip();
      ctx.translate(camera.x + camera.w / 2, camera.y + camera.h / 2);
      ctx.scale(at[2], at[2]);
      ctx.translate(-at[0], -at[1]);
    }
    // under the camera what lies wholly outside the view is not drawn at all (a big graph seen
    // close up: most of it), by the same rule in both painters
    var edgeSeen = [];
    for (i = 0; i < edges.length; i++) edgeSeen.push(edgeOpacity[i] > 0 && inView(lens, edgeBounds(edges[i])));
    for (i = 0; i < edges.length; i++) {
      if (edgeSeen[i]) paintEdge(ctx, edges[i], t, edgeOpacity[i], colors);
    }
    for (i = 0; i < particles.length; i++) {
      var particle = particles[i];
      if (active(particle.track, t) && edgeSeen[particle.edge]) {
        paintParticle(ctx, particle, edges[particle.edge], t, edgeOpacity[particle.edge], colors);
      }
    }
    var step = hasOwn.call(scene, "train") ? Math.trunc(valueAt(scene.train.track, t)) : 0;
    for (i = 0; i < nodes.length; i++) {
      if (nodeOpacity[i] > 0 && inView(lens, nodeBounds(nodes[i]))) {
        paintNode(ctx, nodes[i], t, nodeOpacity[i], step, colors, lens);
      }
    }
    for (i = 0; i < edges.length; i++) {
      if (hasOwn.call(edges[i], "label") && edgeOpacity[i] > 0 && inView(lens, boxBounds(edges[i].label.box))) {
        paintEdgeLabel(ctx, edges[i], t, edgeOpacity[i], colors, step, lens);
      }
    }
    if (camera !== undefined) {
      ctx.restore();
      paintInset(ctx, camera.inset, lens, colors);
    }
    if (hasOwn.call(scene, "loss_curve")) paintLossCurve(ctx, scene.loss_curve, t, colors);
    if (hasOwn.call(scene, "predictions")) paintPredictions(ctx, scene.predictions, t, step, colors);
    paintCaption(ctx, scene.captions, t, colors);
    ctx.globalAlpha = 1.0;
  }

  /* A side-by-side composite: each panel's scene at its place on one clock, its per-layer
     chart under it, a hairline between panels. The view state applies to every panel. */
  function paintPanels(ctx, scene, t, view) {
    var panels = scene.panels;
    var colors = paletteOf(scene, view);
    var i;
    ctx.globalAlpha = 1.0;
    ctx.fillStyle = colors.background;
    ctx.fillRect(0, 0, scene.width, scene.height);
    for (i = 0; i < panels.length; i++) {
      var panel = panels[i];
      ctx.save();
      ctx.translate(panel.x, panel.y);
      paintFrame(ctx, panel.scene, t, view);
      ctx.translate(0, panel.h);
      paintChart(ctx, panel.scene.chart, t, paletteOf(panel.scene, view));
      ctx.restore();
    }
    ctx.strokeStyle = colors[scene.divider];
    ctx.lineWidth = 1.0;
    for (i = 1; i < panels.length; i++) {
      ctx.beginPath();
      ctx.moveTo(panels[i].x, 0);
      ctx.lineTo(panels[i].x, scene.height);
      ctx.stroke();
    }
  }

  /* Per-scene scratch space for opacities(): the draw loop allocates nothing per frame for it
     (a WeakMap entry per scene, arrays reused; the values are recomputed every call). */
  var scratch = new WeakMap();

  function scratchFor(scene) {
    var s = scratch.get(scene);
    if (s === undefined) {
      var index = new Map();
      for (var k = 0; k < scene.nodes.length; k++) index.set(scene.nodes[k].id, k);
      var ends = new Int32Array(2 * scene.edges.length);
      for (k = 0; k < scene.edges.length; k++) {
        ends[2 * k] = index.get(scene.edges[k].from);
        ends[2 * k + 1] = index.get(scene.edges[k].to);
      }
      s = { ends: ends, node: new Array(scene.nodes.length), edge: new Array(scene.edges.length),
            pair: [null, null] };
      s.pair[0] = s.node;
      s.pair[1] = s.edge;
      scratch.set(scene, s);
    }
    return s;
  }

  /* [centre x, centre y, zoom] at t: the view's own camera (the player's pan and zoom), else
   * the scene's camera track. */
  function cameraAt(camera, t, view) {
    var own = truthy(view) ? get(view, "camera") : undefined;
    if (truthy(own)) return [own.x, own.y, own.zoom];
    var track = camera.track;
    return [valueAt(track.x, t), valueAt(track.y, t), valueAt(track.zoom, t)];
  }

  /* [zoom, floor, x0, y0, x1, y1, ix, iy]: the camera's zoom, the type floor, the part of the
   * graph in view, and where the overview inset starts (its top left corner: it covers the view
   * right of ix and below iy while shown), all in graph coordinates. */
  var CULL_MARGIN = 32.0; // graph px around a box or a route that a ring, a glow or a particle may reach

  /* Whether [x0, y0, x1, y1] (graph coordinates) meets the camera's view; true without one. */
  function inView(lens, b) {
    return lens === null || !(b[2] < lens[2] || b[0] > lens[4] || b[3] < lens[3] || b[1] > lens[5]);
  }

  function nodeBounds(node) {
    var m = CULL_MARGIN;
    return [node.x - node.w / 2 - m, node.y - node.h / 2 - m, node.x + node.w / 2 + m, node.y + node.h / 2 + m];
  }

  function boxBounds(box) {
    var m = CULL_MARGIN;
    return [box[0] - m, box[1] - m, box[0] + box[2] + m, box[1] + box[3] + m];
  }

  var routeBounds = new WeakMap(); // edge -> its route's bounds, found once (the scene does not change)

  /* Around an edge's route: a bezier lies inside its control points' hull. */
  function edgeBounds(edge) {
    var hit = routeBounds.get(edge);
    if (hit !== undefined) return hit;
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, route = edge.route;
    for (var s = 0; s < route.length; s++) {
      for (var k = 0; k < 8; k += 2) {
        x0 = Math.min(x0, route[s][k]); x1 = Math.max(x1, route[s][k]);
        y0 = Math.min(y0, route[s][k + 1]); y1 = Math.max(y1, route[s][k + 1]);
      }
    }
    var m = CULL_MARGIN;
    hit = [x0 - m, y0 - m, x1 + m, y1 + m];
    routeBounds.set(edge, hit);
    return hit;
  }

  function lensOf(camera, cx, cy, zoom) {
    var halfW = camera.w / 2 / zoom;
    var halfH = camera.h / 2 / zoom;
    var inset = camera.inset;
    var ix = cx + halfW + 1.0, iy = cy + halfH + 1.0;  // past the view: nothing is under it
    if (zoom > inset.zoom_from) {
      ix = cx + (inset.x - camera.x - camera.w / 2) / zoom;
      iy = cy + (inset.y - camera.y - camera.h / 2) / zoom;
    }
    return [zoom, camera.floor, cx - halfW, cy - halfH, cx + halfW, cy + halfH, ix, iy];
  }

  /* How much of a text of px pixels in the box (x0, y0)-(x1, y1) to draw under the camera:
   * nothing when it is not wholly in view, would be under the overview inset, or would be drawn
   * under the type floor; all of it from 10% above the floor, fading in between. Without a
   * camera, all of it. */
  function legible(lens, px, x0, y0, x1, y1) {
    if (lens === null) return 1.0;
    if (x0 < lens[2] || y0 < lens[3] || x1 > lens[4] || y1 > lens[5] || (x1 > lens[6] && y1 > lens[7])) return 0.0;
    var size = px * lens[0];
    if (size >= lens[1] * 1.1) return 1.0;
    if (size <= lens[1]) return 0.0;
    return (size - lens[1]) / (lens[1] * 0.1);
  }

  /* The overview inset of a zoomed-in camera: the whole graph small, the part in view outlined. */
  function paintInset(ctx, inset, lens, colors) {
    var alpha = pyMin(1.0, (lens[0] - inset.zoom_from) / 0.15);
    if (alpha <= VISIBLE) return;
    ctx.globalAlpha = alpha;
    outlinedBox(ctx, inset.x, inset.y, inset.w, inset.h, 6.0, colors.panel, colors.edge_idle);
    ctx.fillStyle = colors.node_stroke;
    var boxes = inset.boxes;
    for (var i = 0; i < boxes.length; i++) {
      ctx.fillRect(boxes[i][0], boxes[i][1], boxes[i][2], boxes[i][3]);
    }
    var scale = inset.scale;
    var left = inset.x + inset.pad - inset.origin[0] * scale;
    var top = inset.y + inset.pad - inset.origin[1] * scale;
    var x0 = pyMax(inset.x, left + lens[2] * scale);
    var y0 = pyMax(inset.y, top + lens[3] * scale);
    var x1 = pyMin(inset.x + inset.w, left + lens[4] * scale);
    var y1 = pyMin(inset.y + inset.h, top + lens[5] * scale);
    ctx.strokeStyle = colors.loss;
    ctx.lineWidth = 1.5;
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
    ctx.globalAlpha = 1.0;
  }

  /* Opacity of every node and edge under a view state: 0 hidden, scene.dim dimmed, 1.
   * Returns [nodeOpacity, edgeOpacity]. */
  function opacities(scene, view) {
    var hidden = truthy(view.hidden) ? view.hidden : [];
    var highlight = view.highlight === undefined ? null : view.highlight;
    var focus = null;
    var nodes = scene.nodes, edges = scene.edges;
    var s = scratchFor(scene);
    var i;
    for (i = 0; i < nodes.length; i++) {
      if (nodes[i].id === highlight) focus = nodes[i].reach;
    }
    var nodeOpacity = s.node;
    for (i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var opacity;
      if (hidden.includes(node.group)) {
        opacity = 0.0;
      } else if (focus !== null && focus !== undefined && !focus.includes(node.id)) {
        opacity = scene.dim;
      } else {
        opacity = 1.0;
      }
      nodeOpacity[i] = opacity;
    }
    var edgeOpacity = s.edge, ends = s.ends;
    for (i = 0; i < edges.length; i++) {
      edgeOpacity[i] = pyMin(nodeOpacity[ends[2 * i]], nodeOpacity[ends[2 * i + 1]]);
    }
    return s.pair;
  }

  function paintHeader(ctx, header, t, colors) {
    ctx.textBaseline = "alphabetic";
    ctx.textAlign = "left";
    var texts = header.texts;
    for (var k = 0; k < texts.length; k++) {
      var item = texts[k];
      ctx.font = item.font;
      ctx.fillStyle = colors[item.color];
      ctx.fillText(item.text, item.x, item.y);
    }
    var ph = header.phase;
    ctx.textAlign = "right";
    ctx.font = ph.font;
    ctx.fillStyle = colors[ph.color];
    ctx.fillText(ph.texts[Math.trunc(valueAt(ph.track, t))], ph.x, ph.y);
    ctx.textAlign = "left";
    ctx.font = header.legend_font;
    var legend = header.legend;
    for (var i = 0; i < legend.length; i++) {
      var entry = legend[i];
      ctx.fillStyle = colors[entry.color];
      ctx.beginPath();
      ctx.arc(entry.dot_x, entry.dot_y, entry.r, 0, TAU);
      ctx.fill();
      ctx.fillText(entry.text, entry.x, entry.y);
    }
  }

  /* A path made once and drawn every frame: the browser's own Path2D where there is one, with
   * its calls kept as bprOps (what recording.js logs of it, as it logs a bitmap by bprKey). */
  function pathOf(calls) {
    var native = typeof Path2D === "function";  // not in node (the op-log tests)
    var path = native ? new Path2D() : {};
    for (var i = 0; native && i < calls.length; i++) path[calls[i][0]].apply(path, calls[i].slice(1));
    path.bprOps = calls;
    return path;
  }

  var routePaths = new WeakMap();  // an edge's route -> its path (paint.py's route_path)
  var arrowPaths = new WeakMap();  // an edge's arrow head -> its path

  function routePath(route) {
    var path = routePaths.get(route);
    if (path === undefined) {
      var calls = [["moveTo", route[0][0], route[0][1]]];
      for (var i = 0; i < route.length; i++) {
        var seg = route[i];
        calls.push(["bezierCurveTo", seg[2], seg[3], seg[4], seg[5], seg[6], seg[7]]);
      }
      path = pathOf(calls);
      routePaths.set(route, path);
    }
    return path;
  }

  function arrowPath(a) {
    var path = arrowPaths.get(a);
    if (path === undefined) {
      path = pathOf([["moveTo", a[0], a[1]], ["lineTo", a[2], a[3]], ["lineTo", a[4], a[5]], ["closePath"]]);
      arrowPaths.set(a, path);
    }
    return path;
  }

  /* Stroke the path (else the current path) once more in another colour (an overlay that fades in). */
  function strokeAgain(ctx, alpha, color, width, path) {
    ctx.globalAlpha = alpha;
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    if (path === undefined) ctx.stroke();
    else ctx.stroke(path);
  }

  function paintEdge(ctx, edge, t, opacity, colors) {
    var tr = edge.tracks;
    var lit = valueAt(get(tr, "fwd"), t);
    var grad = valueAt(get(tr, "bwd"), t);
    var dashed = edge.dash.length > 0;
    var route = routePath(edge.route);
    if (dashed) ctx.setLineDash(edge.dash);
    // An opaque overlay at least as wide hides the stroke under it: skip that stroke (speed).
    if (!(opacity >= 1.0 && lit >= 1.0 && edge.forward_width >= edge.idle_width)) {
      strokeAgain(ctx, opacity, colors[edge.idle_color], edge.idle_width, route);
    }
    if (lit > VISIBLE && !(opacity >= 1.0 && grad >= 1.0 && edge.grad_width >= edge.forward_width)) {
      strokeAgain(ctx, lit * opacity, colors[edge.forward_color], edge.forward_width, route);
    }
    if (dashed) ctx.setLineDash([]);
    if (grad > VISIBLE) {
      strokeAgain(ctx, grad * opacity * edge.grad_alpha, colors[edge.grad_color], edge.grad_width, route);
    }
    ctx.globalAlpha = opacity;
    ctx.fillStyle = colors[lit > 0.5 ? edge.forward_color : edge.idle_color];
    ctx.fill(arrowPath(edge.arrow));
  }

  function paintParticle(ctx, particle, edge, t, opacity, colors) {
    var p = valueAt(particle.track, t);
    var xy = pointAlong(edge.poly, edge.cum, particle.reverse ? 1.0 - p : p);
    var x = xy[0], y = xy[1];
    var r = particle.radius;
    var alpha = opacity * particle.alpha;
    ctx.fillStyle = colors[particle.color];
    ctx.globalAlpha = 0.25 * alpha;
    ctx.beginPath();
    ctx.arc(x, y, r * 1.8, 0, TAU);
    ctx.fill();
    ctx.globalAlpha = alpha;
    ctx.beginPath();
    ctx.arc(x, y, r, 0, TAU);
    ctx.fill();
  }

  var boxPaths = new WeakMap();   // a node -> its box's path (paint.py's box_path)
  var ringPaths = new WeakMap();  // a node -> the path of the ring around its box (ring_path)

  function boxPath(node) {
    var path = boxPaths.get(node);
    if (path === undefined) {
      path = nodeBoxPath(node, 0.0);
      boxPaths.set(node, path);
    }
    return path;
  }

  function ringPath(node) {
    var path = ringPaths.get(node);
    if (path === undefined) {
      path = nodeBoxPath(node, node.ring_gap);
      ringPaths.set(node, path);
    }
    return path;
  }

  function nodeBoxPath(node, grow) {
    return pathOf([["roundRect", node.x - node.w / 2 - grow, node.y - node.h / 2 - grow,
                    node.w + 2 * grow, node.h + 2 * grow, node.radius + grow]]);
  }

  function paintNode(ctx, node, t, opacity, step, colors, lens) {
    if (lens === undefined) lens = null;
    var tr = node.tracks;
    ctx.globalAlpha = opacity;
    var box = boxPath(node);
    ctx.fillStyle = colors[node.fill];
    ctx.fill(box);
    var dashed = node.dash.length > 0;
    if (dashed) ctx.setLineDash(node.dash);
    ctx.strokeStyle = colors[node.stroke];
    ctx.lineWidth = node.stroke_width;
    ctx.stroke(box);
    if (dashed) ctx.setLineDash([]);
    var grad = valueAt(get(tr, "grad"), t);
    if (grad > VISIBLE) {
      strokeAgain(ctx, grad * opacity, colors[node.grad_color], node.grad_stroke_width, box);
    }
    var rings = [["pulse", node.ring_color], ["gpulse", node.grad_color]];
    for (var k = 0; k < rings.length; k++) {
      var ring = valueAt(get(tr, rings[k][0]), t);
      if (ring > VISIBLE) {
        ctx.globalAlpha = ring * opacity;
        ctx.strokeStyle = colors[rings[k][1]];
        ctx.lineWidth = node.ring_width;
        ctx.stroke(ringPath(node));
      }
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "alphabetic";
    var lines = node.lines;
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i];
      var alpha = line.track ? valueAt(get(tr, line.track), t) : 1.0;
      if (alpha > VISIBLE && lens !== null) {
        var half = line.w / 2;
        alpha *= legible(lens, line.px, node.x - half, line.y - line.px * 0.8, node.x + half,
                         line.y + line.px * 0.25);
      }
      if (alpha > VISIBLE) {
        ctx.globalAlpha = alpha * opacity;
        ctx.font = line.font;
        ctx.fillStyle = colors[line.color];
        ctx.fillText(hasOwn.call(line, "texts") ? line.texts[step] : line.text, node.x, line.y);
      }
    }
    if (hasOwn.call(node, "glyphs")) paintGlyphs(ctx, node, t, opacity, colors, lens);
    ctx.globalAlpha = 1.0;
  }

  /* A tensor node's heatmaps (its value from the forward pass on, its gradient from the
   * backward pass on): each image drawn once, nearest-neighbour, framed, with its range line.
   * Under a camera a glyph is hidden like a text when its cells would be too small to see. */
  function paintGlyphs(ctx, node, t, opacity, colors, lens) {
    ctx.imageSmoothingEnabled = false;
    var glyphs = node.glyphs;
    for (var g = 0; g < glyphs.length; g++) {
      var glyph = glyphs[g];
      var alpha = valueAt(get(node.tracks, glyph.track), t);
      if (alpha <= VISIBLE) continue;
      var text = glyph.text;
      var textAlpha = alpha;
      if (lens !== null) {  // the images by their cells' size, the line as a text
        var box = glyph.box;
        alpha *= legible(lens, glyph.px, box[0], box[1], box[0] + box[2], box[1] + box[3]);
        var half = text.w / 2;
        textAlpha *= legible(lens, text.px, text.x - half, text.y - text.px * 0.8, text.x + half,
                             text.y + text.px * 0.25);
      }
      if (alpha > VISIBLE) {
        ctx.globalAlpha = alpha * opacity;
        var images = glyph.images;
        for (var i = 0; i < images.length; i++) {
          var image = images[i];
          ctx.drawImage(bitmapOf(image, colors), image.x, image.y, image.w, image.h);
        }
        ctx.strokeStyle = colors[glyph.frame_color];
        ctx.lineWidth = glyph.frame_width;
        var frames = glyph.frames;
        for (var f = 0; f < frames.length; f++) {
          ctx.strokeRect(frames[f][0], frames[f][1], frames[f][2], frames[f][3]);
        }
      }
      if (textAlpha > VISIBLE) {
        ctx.globalAlpha = textAlpha * opacity;
        ctx.font = text.font;
        ctx.fillStyle = colors[text.color];
        ctx.fillText(text.text, text.x, text.y);
        // an attention matrix's token labels: in the line's font and colour, with its images
        var labels = alpha > VISIBLE && hasOwn.call(glyph, "labels") ? glyph.labels : [];
        for (var k = 0; k < labels.length; k++) ctx.fillText(labels[k].text, labels[k].x, labels[k].y);
      }
    }
  }

  /* palette -> (glyph image -> bitmap): made once per theme (the scene does not change). */
  var bitmaps = new WeakMap();

  /* The glyph image's pixels in the theme's colours (cached). */
  function bitmapOf(image, colors) {
    var byImage = bitmaps.get(colors);
    if (byImage === undefined) {
      byImage = new WeakMap();
      bitmaps.set(colors, byImage);
    }
    var bitmap = byImage.get(image);
    if (bitmap === undefined) {
      bitmap = makeBitmap(image.cols, image.rows, heatRgba(image.cells, image.map === "signed", colors));
      byImage.set(image, bitmap);
    }
    return bitmap;
  }

  /* A 32-bit rolling hash of the bytes (bprender/canvas/bitmap.py's checksum). */
  function checksum(rgba) {
    var h = 0;
    for (var i = 0; i < rgba.length; i++) h = (Math.imul(h, 31) + rgba[i]) >>> 0;
    return h;
  }

  /* An image for drawImage: a canvas holding the pixels in a page, a plain record elsewhere
   * (node: the op log needs only its key). bprKey = [width, height, checksum], what the
   * recording canvas logs for it (as bprender/canvas/bitmap.py's Bitmap). */
  function makeBitmap(width, height, rgba) {
    var bitmap;
    if (typeof document !== "undefined") {
      bitmap = document.createElement("canvas");
      bitmap.width = width;
      bitmap.height = height;
      var c = bitmap.getContext("2d");
      var data = c.createImageData(width, height);
      data.data.set(rgba);
      c.putImageData(data, 0, 0);
    } else {
      bitmap = { width: width, height: height };
    }
    bitmap.bprKey = [width, height, checksum(rgba)];
    return bitmap;
  }

  function hexRgb(color) {
    return [parseInt(color.substr(1, 2), 16), parseInt(color.substr(3, 2), 16), parseInt(color.substr(5, 2), 16)];
  }

  /* RGBA bytes of heatmap levels: heat_mid blended toward the sign colour (signed) or
   * heat_seq by |level| / LEVELS; NaN/Inf in the NaN colour; GAP transparent. */
  function heatRgba(cells, signed, colors) {
    var mid = hexRgb(colors.heat_mid);
    var high = hexRgb(signed ? colors.positive : colors.heat_seq);
    var low = hexRgb(colors.negative);
    var bad = hexRgb(colors.nonfinite);
    var out = new Uint8ClampedArray(4 * cells.length);
    for (var i = 0; i < cells.length; i++) {
      var level = cells[i], o = 4 * i;
      if (level === GAP) {
        out[o] = 0; out[o + 1] = 0; out[o + 2] = 0; out[o + 3] = 0;
      } else if (level === NONFINITE) {
        out[o] = bad[0]; out[o + 1] = bad[1]; out[o + 2] = bad[2]; out[o + 3] = 255;
      } else {
        var end = level >= 0 ? high : low;
        var f = Math.abs(level) / LEVELS;
        for (var k = 0; k < 3; k++) out[o + k] = Math.floor(mid[k] + (end[k] - mid[k]) * f + 0.5);
        out[o + 3] = 255;
      }
    }
    return out;
  }

  /* A filled round box with a hairline border (edge labels, the loss-curve panel). */
  function outlinedBox(ctx, x, y, w, h, radius, fill, stroke) {
    ctx.beginPath();
    ctx.roundRect(x, y, w, h, radius);
    ctx.fillStyle = fill;
    ctx.fill();
    ctx.strokeStyle = stroke;
    ctx.lineWidth = 1.0;
    ctx.stroke();
  }

  function paintEdgeLabel(ctx, edge, t, opacity, colors, step, lens) {
    if (step === undefined) step = 0;
    if (lens === undefined) lens = null;
    var alpha = valueAt(get(edge.tracks, "label"), t) * opacity;
    var label = edge.label;
    var box = label.box;
    if (alpha > VISIBLE && lens !== null) {
      alpha *= legible(lens, label.px, box[0], box[1], box[0] + box[2], box[1] + box[3]);
    }
    if (alpha <= VISIBLE) return;
    ctx.globalAlpha = alpha;
    outlinedBox(ctx, box[0], box[1], box[2], box[3], label.radius, colors[label.fill], colors[label.stroke]);
    ctx.textAlign = "center";
    ctx.textBaseline = "alphabetic";
    ctx.font = label.font;
    ctx.fillStyle = colors[label.color];
    ctx.fillText(hasOwn.call(label, "texts") ? label.texts[step] : label.text, label.x, label.y);
    ctx.globalAlpha = 1.0;
  }

  function paintCaption(ctx, captions, t, colors) {
    ctx.globalAlpha = 1.0;
    ctx.fillStyle = colors[captions.fill];
    ctx.beginPath();
    ctx.roundRect(captions.x, captions.y, captions.w, captions.h, captions.radius);
    ctx.fill();
    ctx.textAlign = "left";
    ctx.textBaseline = "alphabetic";
    ctx.font = captions.font;
    ctx.fillStyle = colors[captions.color];
    var items = captions.items;
    for (var k = 0; k < items.length; k++) {
      var item = items[k];
      var alpha = valueAt(item.track, t);
      if (alpha > VISIBLE) {
        ctx.globalAlpha = alpha;
        var spans = hasOwn.call(item, "spans") ? item.spans : null;
        for (var i = 0; i < item.lines.length; i++) {
          var x = captions.x + captions.pad;
          var y = captions.y + captions.pad + captions.line_height * (i + 0.75);
          if (spans && spans[i].length) {
            paintSpans(ctx, spans[i], x, y, alpha, t, colors);
            ctx.globalAlpha = alpha;
            ctx.fillStyle = colors[captions.color];
          } else {
            ctx.fillText(item.lines[i], x, y);
          }
        }
        if (hasOwn.call(item, "heatmaps")) {
          paintCaptionHeat(ctx, item.heatmaps, alpha, t, colors);
          ctx.textAlign = "left";
          ctx.font = captions.font;
          ctx.fillStyle = colors[captions.color];
        }
      }
    }
    ctx.globalAlpha = 1.0;
  }

  /* A backward step's factors beside its caption (δ · aᵀ = ∂L/∂W): each heatmap drawn once,
   * nearest-neighbour, framed, its label centred above it, then the operators between them; each
   * shown as its track says, within the caption's alpha. */
  function paintCaptionHeat(ctx, heat, alpha, t, colors) {
    ctx.imageSmoothingEnabled = false;
    ctx.textAlign = "center";
    ctx.strokeStyle = colors[heat.frame_color];
    ctx.lineWidth = heat.frame_width;
    var terms = heat.terms;
    for (var k = 0; k < terms.length; k++) {
      var term = terms[k];
      var a = alpha * valueAt(term.track, t);
      if (a > VISIBLE) {
        ctx.globalAlpha = a;
        var image = term.image;
        ctx.drawImage(bitmapOf(image, colors), image.x, image.y, image.w, image.h);
        var frames = term.frames;
        for (var f = 0; f < frames.length; f++) {
          ctx.strokeRect(frames[f][0], frames[f][1], frames[f][2], frames[f][3]);
        }
        var label = term.label;
        ctx.font = label.font;
        ctx.fillStyle = colors[label.color];
        ctx.fillText(label.text, label.x, label.y);
      }
    }
    var ops = heat.operators;
    for (var o = 0; o < ops.length; o++) {
      var op = ops[o];
      var b = alpha * valueAt(op.track, t);
      if (b > VISIBLE) {
        ctx.globalAlpha = b;
        ctx.font = op.font;
        ctx.fillStyle = colors[op.color];
        ctx.fillText(op.text, op.x, op.y);
      }
    }
    ctx.globalAlpha = alpha;
  }

  /* A caption line's formula, term by term: each span in its own colour at its own x, shown as
   * its track says (within the caption's alpha). */
  function paintSpans(ctx, spans, x, y, alpha, t, colors) {
    for (var k = 0; k < spans.length; k++) {
      var span = spans[k];
      var a = alpha * valueAt(span.track, t);
      if (a > VISIBLE) {
        ctx.globalAlpha = a;
        ctx.fillStyle = colors[span.color];
        ctx.fillText(span.text, x + span.x, y);
      }
    }
  }

  /* A side panel's box and title (the loss curve's, the predictions'). */
  function paintPanelFrame(ctx, panel, colors) {
    outlinedBox(ctx, panel.x, panel.y, panel.w, panel.h, panel.radius, colors[panel.background],
                colors[panel.border]);
    ctx.textBaseline = "alphabetic";
    ctx.textAlign = "left";
    ctx.font = panel.title_font;
    ctx.fillStyle = colors[panel.text];
    ctx.fillText(panel.title.text, panel.title.x, panel.title.y);
  }

  /* The predictions panel: each sample's target and the model's output at the step shown
   * (in the loss colour while it is still far from the target). */
  function paintPredictions(ctx, panel, t, step, colors) {
    var alpha = valueAt(panel.track, t);
    if (alpha <= VISIBLE) return;
    ctx.globalAlpha = alpha;
    paintPanelFrame(ctx, panel, colors);
    ctx.font = panel.font;
    ctx.fillStyle = colors[panel.muted];
    var head = panel.head, k;
    for (k = 0; k < head.texts.length; k++) {
      ctx.textAlign = k === 0 ? "left" : "right";
      ctx.fillText(head.texts[k], head.xs[k], head.y);
    }
    for (k = 0; k < panel.rows.length; k++) {
      var row = panel.rows[k];
      ctx.textAlign = "left";
      ctx.fillStyle = colors[panel.muted];
      ctx.fillText(row.label, head.xs[0], row.y);
      ctx.textAlign = "right";
      ctx.fillStyle = colors[panel.text];
      ctx.fillText(row.target, head.xs[1], row.y);
      ctx.fillStyle = colors[row.colors[step]];
      ctx.fillText(row.texts[step], head.xs[2], row.y);
    }
    if (panel.more !== null) {
      ctx.textAlign = "left";
      ctx.fillStyle = colors[panel.muted];
      ctx.fillText(panel.more.text, panel.more.x, panel.more.y);
    }
    if (hasOwn.call(panel, "boundary")) paintBoundary(ctx, panel.boundary, step, colors);
    ctx.globalAlpha = 1.0;
  }

  /* The decision boundary: the model's output over the input plane at the step shown (one
   * image per step, nearest-neighbour), its scale bar, the samples as dots in their target's
   * colour on the same map, and the legend line. */
  function paintBoundary(ctx, boundary, step, colors) {
    ctx.imageSmoothingEnabled = false;
    var image = boundary.images[step];
    ctx.drawImage(bitmapOf(image, colors), image.x, image.y, image.w, image.h);
    var bar = boundary.bar;
    ctx.drawImage(bitmapOf(bar, colors), bar.x, bar.y, bar.w, bar.h);
    var frame = boundary.frame;
    ctx.strokeStyle = colors[boundary.frame_color];
    ctx.lineWidth = boundary.frame_width;
    ctx.strokeRect(frame[0], frame[1], frame[2], frame[3]);
    ctx.strokeStyle = colors[boundary.dot_ring];
    ctx.lineWidth = boundary.dot_ring_width;
    var dots = boundary.dots;
    for (var i = 0; i < dots.length; i++) {
      ctx.beginPath();
      ctx.arc(dots[i].x, dots[i].y, boundary.dot_r, 0, TAU);
      ctx.fillStyle = heatColor(dots[i].level, colors);
      ctx.fill();
      ctx.stroke();
    }
    var legend = boundary.legend;
    ctx.font = legend.font;
    ctx.fillStyle = colors[legend.color];
    for (var k = 0; k < legend.texts.length; k++) {
      ctx.textAlign = legend.texts[k].align;
      ctx.fillText(legend.texts[k].text, legend.texts[k].x, legend.texts[k].y);
    }
  }

  /* A signed heatmap level's colour as #rrggbb (a boundary's dot: the map's own colour). */
  function heatColor(level, colors) {
    var rgba = heatRgba([level], true, colors);
    var out = "#";
    for (var k = 0; k < 3; k++) out += (rgba[k] < 16 ? "0" : "") + rgba[k].toString(16);
    return out;
  }

  /* The loss-curve panel of a training scene: loss per step, filled in as the steps run,
   * the newest point highlighted and labelled. */
  function paintLossCurve(ctx, curve, t, colors) {
    ctx.globalAlpha = 1.0;
    paintPanelFrame(ctx, curve, colors);
    var plot = curve.plot;
    ctx.font = curve.font;
    ctx.textAlign = "right";
    var i, tick;
    for (i = 0; i < curve.yticks.length; i++) {
      tick = curve.yticks[i];
      ctx.strokeStyle = colors[curve.grid];
      ctx.beginPath();
      ctx.moveTo(plot[0], tick.y);
      ctx.lineTo(plot[2], tick.y);
      ctx.stroke();
      ctx.fillStyle = colors[curve.muted];
      ctx.fillText(tick.text, curve.ytick_x, tick.text_y);
    }
    ctx.textAlign = "center";
    ctx.fillStyle = colors[curve.muted];
    for (i = 0; i < curve.xticks.length; i++) {
      tick = curve.xticks[i];
      ctx.fillText(tick.text, tick.x, curve.xtick_y);
    }
    var points = curve.points;
    var shown = Math.trunc(valueAt(curve.shown, t));
    if (shown > 1) {
      ctx.strokeStyle = colors[curve.line_color];
      ctx.lineWidth = curve.line_width;
      ctx.beginPath();
      ctx.moveTo(points[0].x, points[0].y);
      for (i = 1; i < shown; i++) {
        ctx.lineTo(points[i].x, points[i].y);
      }
      ctx.stroke();
    }
    ctx.fillStyle = colors[curve.line_color];
    for (i = 0; i < shown; i++) {
      ctx.beginPath();
      ctx.arc(points[i].x, points[i].y, curve.dot_r, 0, TAU);
      ctx.fill();
    }
    if (shown > 0) {
      var current = points[shown - 1];
      ctx.fillStyle = colors[curve.current_color];
      ctx.beginPath();
      ctx.arc(current.x, current.y, curve.current_r, 0, TAU);
      ctx.fill();
      ctx.textAlign = "left";
      ctx.fillStyle = colors[curve.text];
      ctx.fillText(current.label, curve.label.x, curve.label.y);
    }
  }

  /* The per-layer gradient-norm chart (its own canvas in the player, under the graph). */
  function paintChart(ctx, chart, t, colors) {
    ctx.globalAlpha = 1.0;
    ctx.fillStyle = colors[chart.background];
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.font = chart.font;
    ctx.textBaseline = "alphabetic";
    ctx.textAlign = "left";
    ctx.fillStyle = colors[chart.text];
    ctx.fillText(chart.title.text, chart.title.x, chart.title.y);
    ctx.strokeStyle = colors[chart.grid];
    ctx.lineWidth = 1.0;
    ctx.textAlign = "center";
    var rows = chart.rows, ticks = chart.ticks;
    var i;
    for (i = 0; i < ticks.length; i++) {
      var tick = ticks[i];
      ctx.beginPath();
      ctx.moveTo(tick.x, truthy(rows) ? rows[0].y : chart.axis_y);
      ctx.lineTo(tick.x, chart.axis_y);
      ctx.stroke();
      ctx.fillStyle = colors[chart.muted];
      ctx.fillText(tick.text, tick.x, chart.tick_y);
    }
    ctx.textBaseline = "middle";
    for (i = 0; i < rows.length; i++) {
      var row = rows[i];
      ctx.textAlign = "left";
      ctx.fillStyle = colors[chart.text];
      ctx.fillText(row.label, chart.label_x, row.text_y);
      var grown = valueAt(row.track, t);
      if (grown > VISIBLE) {
        ctx.globalAlpha = grown;
        ctx.fillStyle = colors[row.color];
        ctx.fillRect(chart.bar_x, row.text_y - row.h / 2, row.w * grown, row.h);
        ctx.fillStyle = colors[chart.text];
        ctx.fillText(row.value, chart.value_x, row.text_y);
        ctx.globalAlpha = 1.0;
      }
    }
  }

  return {
    TAU: TAU, VISIBLE: VISIBLE,
    paintFrame: paintFrame, paintPanels: paintPanels, paletteOf: paletteOf, opacities: opacities,
    cameraAt: cameraAt, lensOf: lensOf, legible: legible, paintInset: paintInset,
    paintHeader: paintHeader, routePath: routePath, arrowPath: arrowPath, strokeAgain: strokeAgain,
    paintEdge: paintEdge, paintParticle: paintParticle, boxPath: boxPath, ringPath: ringPath,
    paintNode: paintNode, paintGlyphs: paintGlyphs, bitmapOf: bitmapOf, heatRgba: heatRgba,
    makeBitmap: makeBitmap, outlinedBox: outlinedBox, paintEdgeLabel: paintEdgeLabel, paintCaption: paintCaption, paintCaptionHeat: paintCaptionHeat,
    paintLossCurve: paintLossCurve, paintPredictions: paintPredictions, paintBoundary: paintBoundary,
    heatColor: heatColor, paintChart: paintChart
  };
});
