// Zoom and pan for timelines: the inner <svg class="zoomable"> shows a window of the run by its
// viewBox (x and width in unzoomed pixels); the tick labels under it are redrawn for the window.
(function () {
  var NS = "http://www.w3.org/2000/svg";
  function niceStep(raw) {
    if (!(raw > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  function label(v, step) {
    var d = Math.max(0, Math.min(6, -Math.floor(Math.log10(step))));
    return v.toFixed(d);
  }
  function el(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  var views = {};
  document.querySelectorAll("svg.timeline[data-zoom]").forEach(function (svg) {
    var inner = svg.querySelector("svg.zoomable");
    var W = +svg.dataset.width, L = +svg.dataset.left, H = +svg.dataset.height, top = +svg.dataset.top;
    var from = +svg.dataset.from, to = +svg.dataset.to;
    var ticks = svg.querySelector("g.ticks");
    var view = { x: 0, w: W };
    function axis() {
      var t0 = from + (to - from) * view.x / W, t1 = from + (to - from) * (view.x + view.w) / W;
      var step = niceStep((t1 - t0) / 10);
      while (ticks.firstChild) ticks.removeChild(ticks.firstChild);
      for (var t = Math.ceil(t0 / step) * step; t <= t1 + step * 1e-9; t += step) {
        var px = L + (t - t0) / (t1 - t0) * W;
        ticks.appendChild(el("line", { "class": "tick", x1: px, x2: px, y1: top + H, y2: top + H + 4 }));
        ticks.appendChild(el("text", { x: px, y: top + H + 16, "text-anchor": "middle" }, label(t, step)));
      }
    }
    function apply() {
      inner.setAttribute("viewBox", view.x + " 0 " + view.w + " " + H);
      axis();
    }
    function zoom(f, cx) {
      var w = Math.min(W, Math.max(W / 20000, view.w * f));
      var anchor = view.x + view.w * cx;
      view.w = w;
      view.x = Math.min(W - w, Math.max(0, anchor - w * cx));
      apply();
    }
    function show(t0, t1) {
      var pad = (t1 - t0) * 0.15 + (to - from) / 20000;
      var x0 = Math.max(0, (t0 - pad - from) / (to - from) * W), x1 = Math.min(W, (t1 + pad - from) / (to - from) * W);
      view.x = x0; view.w = Math.max(W / 20000, x1 - x0);
      apply();
    }
    svg.addEventListener("wheel", function (e) {
      var r = inner.getBoundingClientRect(), cx = (e.clientX - r.left) / r.width;
      if (cx < 0 || cx > 1) return;
      e.preventDefault();
      zoom(e.deltaY < 0 ? 0.8 : 1.25, cx);
    }, { passive: false });
    var drag = null;
    svg.addEventListener("mousedown", function (e) { drag = { x: e.clientX, vx: view.x }; svg.style.cursor = "grabbing"; });
    window.addEventListener("mouseup", function () { drag = null; svg.style.cursor = ""; });
    window.addEventListener("mousemove", function (e) {
      if (!drag) return;
      var r = inner.getBoundingClientRect();
      view.x = Math.min(W - view.w, Math.max(0, drag.vx - (e.clientX - drag.x) / r.width * view.w));
      apply();
    });
    views[svg.id] = { zoom: zoom, show: show, reset: function () { view = { x: 0, w: W }; apply(); } };
    apply();
  });
  document.querySelectorAll("[data-timeline]").forEach(function (b) {
    b.addEventListener("click", function (e) {
      var v = views[b.dataset.timeline];
      if (!v) return;
      e.preventDefault();
      var a = b.dataset.action;
      if (a === "in") v.zoom(0.5, 0.5);
      else if (a === "out") v.zoom(2, 0.5);
      else if (a === "reset") v.reset();
      else if (a === "show") {
        v.show(+b.dataset.from, +b.dataset.to);
        document.getElementById(b.dataset.timeline).scrollIntoView({ block: "center" });
      }
    });
  });
  // A link may open the report on a stretch of the run: report.html#t=FROM-TO (seconds).
  var m = /^#t=([0-9.]+)-([0-9.]+)$/.exec(location.hash);
  if (m && views.timeline) views.timeline.show(+m[1], +m[2]);
  document.body.setAttribute("data-ready", "1");
})();
