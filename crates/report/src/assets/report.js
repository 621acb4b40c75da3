(function () {
  "use strict";
  var island = document.getElementById("report-data");
  if (!island) return;
  var D;
  try { D = JSON.parse(island.textContent); } catch (e) { return; }
  function fmt(v, f) {
    if (v === null || v === undefined || !isFinite(v)) return "\u2014";
    if (f === "percent") return (v * 100).toFixed(2) + "%";
    if (f === "money") {
      return (v < 0 ? "-" : "") + D.prefix + Math.abs(v).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    }
    return v.toLocaleString("en-US", { maximumFractionDigits: 4 });
  }
  function nearest(xs, x) {
    var lo = 0, hi = xs.length - 1;
    while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (xs[mid] <= x) lo = mid; else hi = mid; }
    return Math.abs(xs[hi] - x) < Math.abs(xs[lo] - x) ? hi : lo;
  }
  D.charts.forEach(function (c) {
    var root = document.getElementById("chart-" + c.id);
    if (!root) return;
    var svg = root.querySelector("svg.plot"), tip = root.querySelector(".tip");
    var xh = svg.querySelector(".xh"), dots = svg.querySelector(".dots"), SVGNS = svg.namespaceURI;
    var mode = "lin", hidden = {};
    var btn = root.querySelector(".logtoggle");
    function label() { btn.textContent = mode === "lin" ? "Scale: linear \u2014 switch to log" : "Scale: log \u2014 switch to linear"; }
    if (btn) {
      label();
      btn.addEventListener("click", function () {
        mode = mode === "lin" ? "log" : "lin";
        svg.querySelector(".mode-lin").style.display = mode === "lin" ? "" : "none";
        svg.querySelector(".mode-log").style.display = mode === "log" ? "" : "none";
        btn.classList.toggle("on", mode === "log");
        btn.setAttribute("data-mode", mode);
        label();
      });
    }
    root.querySelectorAll(".lg").forEach(function (b) {
      b.addEventListener("click", function () {
        var i = b.getAttribute("data-i");
        hidden[i] = !hidden[i];
        b.classList.toggle("off", hidden[i]);
        svg.querySelectorAll(".s" + i).forEach(function (p) { p.style.display = hidden[i] ? "none" : ""; });
      });
    });
    function px(x) { return c.plot[0] + (x - c.x[0]) / (c.x[1] - c.x[0]) * (c.plot[2] - c.plot[0]); }
    function py(v) {
      var u;
      if (mode === "log" && c.log) {
        if (!(v > 0)) return null;
        u = (Math.log(v) - Math.log(c.log[0])) / (Math.log(c.log[1]) - Math.log(c.log[0]));
      } else {
        u = (v - c.lin[0]) / (c.lin[1] - c.lin[0]);
      }
      return c.plot[3] - u * (c.plot[3] - c.plot[1]);
    }
    function hide() { tip.style.display = "none"; xh.style.display = "none"; while (dots.firstChild) dots.removeChild(dots.firstChild); }
    function move(ev) {
      var r = svg.getBoundingClientRect();
      var sx = (ev.clientX - r.left) * c.vb[0] / r.width;
      if (sx < c.plot[0] || sx > c.plot[2]) { hide(); return; }
      var x = c.x[0] + (sx - c.plot[0]) / (c.plot[2] - c.plot[0]) * (c.x[1] - c.x[0]);
      while (dots.firstChild) dots.removeChild(dots.firstChild);
      var rows = [], title = null, best = Infinity, snap = sx;
      c.series.forEach(function (s, i) {
        if (hidden[i]) return;
        var ax = D.axes[s.axis], xs = ax.x, n = xs.length;
        if (!n) return;
        var gap = n > 1 ? 3 * (xs[n - 1] - xs[0]) / (n - 1) : 1;
        if (x < xs[0] - gap || x > xs[n - 1] + gap) { rows.push([s, null]); return; }
        var k = nearest(xs, x), v = s.v[k], d = Math.abs(xs[k] - x);
        if (d < best) { best = d; title = ax.dates[k]; snap = px(xs[k]); }
        rows.push([s, v]);
        var y = py(v);
        if (y !== null && isFinite(y)) {
          var dot = document.createElementNS(SVGNS, "circle");
          dot.setAttribute("cx", px(xs[k]).toFixed(1)); dot.setAttribute("cy", y.toFixed(1));
          dot.setAttribute("r", "4"); dot.setAttribute("fill", s.color); dot.setAttribute("stroke", "#fff");
          dots.appendChild(dot);
        }
      });
      if (title === null) { hide(); return; }
      xh.setAttribute("x1", snap.toFixed(1)); xh.setAttribute("x2", snap.toFixed(1)); xh.style.display = "";
      while (tip.firstChild) tip.removeChild(tip.firstChild);
      var h = document.createElement("b"); h.textContent = title; tip.appendChild(h);
      rows.forEach(function (rw) {
        var row = document.createElement("div"); row.className = "row";
        var sw = document.createElement("i"); sw.style.background = rw[0].color;
        var name = document.createElement("span"); name.textContent = rw[0].name;
        var val = document.createElement("span"); val.className = "v"; val.textContent = fmt(rw[1], c.fmt);
        row.appendChild(sw); row.appendChild(name); row.appendChild(val); tip.appendChild(row);
      });
      tip.style.display = "";
      var rr = root.getBoundingClientRect();
      var left = ev.clientX - rr.left + 16, top = ev.clientY - rr.top + 12;
      if (left + tip.offsetWidth > rr.width) left = ev.clientX - rr.left - tip.offsetWidth - 16;
      tip.style.left = Math.max(0, left) + "px"; tip.style.top = top + "px";
    }
    svg.addEventListener("mousemove", move);
    svg.addEventListener("mouseleave", hide);
  });
})();
