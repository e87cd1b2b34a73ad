// Keeps the board up to date from /api/stream without reloading the page,
// so a date being picked is not wiped. Every word and number arrives as
// HTML rendered by the server in the page's language; this script only
// swaps it in and says when the stream has gone quiet (the figures are then
// stale, and the page shows the stale banner from the catalogue).
(function () {
  "use strict";
  var root = document.documentElement;
  var body = document.body;
  var url = body.getAttribute("data-stream-url");
  if (!url || !window.EventSource) {
    // Without EventSource, reload as the no-script page does.
    var secs = Number(body.getAttribute("data-refresh")) || 10;
    setTimeout(function () { location.reload(); }, secs * 1000);
    return;
  }
  // The server sends at least every refresh interval; three missed
  // intervals mean the stream is dead even if no error was reported.
  var quiet = (Number(body.getAttribute("data-refresh")) || 10) * 3000;
  var timer = null;
  // A quiet stream alone cannot tell a stuck stream from a dead server, so
  // the page then asks the server for itself with a plain request: if that
  // fails too, nobody is answering, and the page says so in red with the
  // time of the last update (the newest "now" strip carries the sentence,
  // written by the server in the page's language and the one clock).
  var checking = false;
  function down() {
    var u = document.querySelector("[data-down]");
    var b = document.getElementById("down-banner");
    if (u && b) { b.textContent = u.getAttribute("data-down"); }
    root.setAttribute("data-stream", "down");
  }
  function check(then) {
    if (checking || !window.fetch) { return; }
    checking = true;
    var ctl = window.AbortController ? new AbortController() : null;
    var limit = setTimeout(function () { if (ctl) { ctl.abort(); } }, 5000);
    fetch(location.href, { method: "HEAD", cache: "no-store", signal: ctl ? ctl.signal : undefined })
      .then(function (r) { if (!r.ok) { throw new Error("status " + r.status); } })
      .then(function () {
        if (root.getAttribute("data-stream") === "down") { root.setAttribute("data-stream", "stale"); }
        if (then) { then(); }
      }, function () {
        if (root.getAttribute("data-stream") !== "live") { down(); }
      })
      .then(function () { clearTimeout(limit); checking = false; });
  }
  function stale() {
    if (root.getAttribute("data-stream") !== "down") { root.setAttribute("data-stream", "stale"); }
    check();
  }
  // While the stream is not live, the server is asked again every few
  // seconds, so a server that dies after the stream went quiet is still
  // noticed (and a stale page that recovers drops the red banner with the
  // stream's next message).
  setInterval(function () {
    var st = root.getAttribute("data-stream");
    if (st === "stale" || st === "down") { check(); }
  }, 5000);
  function arm() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(stale, quiet);
  }
  function swap(id, html) {
    var el = document.getElementById(id);
    if (el && typeof html === "string") { el.innerHTML = html; }
  }
  // The longest wait in the queue ticks between updates: the server gives
  // when that call was handed over and its own clock (ms), so a wall PC
  // with a wrong clock still counts right; the form (m.ss or m:ss) is the
  // one the server wrote, with the separator it names.
  var skew = 0;
  function readClock() {
    var el = document.querySelector("[data-wait-since]");
    if (el) { skew = Number(el.getAttribute("data-now")) - Date.now(); }
  }
  function tick() {
    var els = document.querySelectorAll("[data-wait-since]");
    for (var i = 0; i < els.length; i++) {
      var s = Math.max(0, Math.floor((Date.now() + skew - Number(els[i].getAttribute("data-wait-since"))) / 1000));
      var ss = s % 60;
      els[i].textContent = Math.floor(s / 60) + els[i].getAttribute("data-sep") + (ss < 10 ? "0" : "") + ss;
      // The wait's threshold (reports.thresholds.waiting_seconds) is
      // passed between two updates too: the tile turns red that second.
      var after = Number(els[i].getAttribute("data-alarm-after")) || 0;
      if (after > 0 && s > after) {
        els[i].parentNode.classList.add("alarm");
        var tile = els[i].closest(".kpi");
        if (tile) { tile.classList.add("alarm"); }
      }
    }
  }
  // A list longer than its panel would be cut mid-row by the screen: rows
  // that do not fit are hidden whole instead, and counted into the list's
  // last row ("+3 lainnya"), whose sentence the server wrote.
  function fit() {
    var tables = document.querySelectorAll("table[data-fit]");
    for (var i = 0; i < tables.length; i++) {
      var box = tables[i].closest(".panel");
      var more = tables[i].querySelector(".more-row");
      if (!box || !more) { continue; }
      var rows = tables[i].querySelectorAll("tbody tr:not(.more-row)");
      var base = Number(more.getAttribute("data-more")) || 0;
      for (var j = 0; j < rows.length; j++) { rows[j].hidden = false; }
      var hidden = 0;
      var show = function () {
        var n = base + hidden;
        more.hidden = n === 0;
        more.cells[0].textContent = more.getAttribute("data-more-fmt").replace("%s", n.toLocaleString(root.lang));
      };
      show();
      var head = tables[i].tHead;
      if (head) { head.hidden = false; }
      for (var k = rows.length - 1; k >= 0 && box.scrollHeight > box.clientHeight + 1; k--) {
        rows[k].hidden = true;
        hidden++;
        show();
      }
      // A panel too short for even one row keeps its title and the count.
      if (head && box.scrollHeight > box.clientHeight + 1) { head.hidden = true; }
    }
  }
  // TV mode: asked for with ?tv=1 (the server writes data-tv), else the
  // default on a screen 1920 px wide or more; ?tv=0 turns it off.
  var tvAuto = root.getAttribute("data-tv") === "";
  function tv() {
    if (tvAuto) { root.setAttribute("data-tv", window.innerWidth >= 1920 ? "1" : ""); }
  }
  // Charts scale to their panels, and their axis labels with them: a
  // panel squeezed by a banner made them 13 px. --k undoes the scaling (at
  // most 2.5 times, and only as far as the widest y label still fits left
  // of the axis), then x labels that would overlap their left neighbour
  // are hidden: every other hour rather than a smudge.
  function axes() {
    var svgs = document.querySelectorAll("svg.chart");
    for (var i = 0; i < svgs.length; i++) {
      var svg = svgs[i];
      var m = svg.getScreenCTM();
      if (!m || !m.a) { continue; }
      var k = Math.min(2.5, Math.max(1, 1 / m.a));
      svg.style.setProperty("--k", String(k));
      var ys = svg.querySelectorAll(".ylab");
      var over = 1;
      for (var j = 0; j < ys.length; j++) {
        var room = Number(ys[j].getAttribute("x")) - svg.viewBox.baseVal.x;
        var w = ys[j].getBBox().width;
        if (w > room - 2 && room > 2) { over = Math.max(over, w / (room - 2)); }
      }
      if (over > 1) { k = Math.max(1, k / over); svg.style.setProperty("--k", String(k)); }
      var xs = svg.querySelectorAll(".xlab");
      var right = -Infinity;
      for (var x = 0; x < xs.length; x++) {
        xs[x].removeAttribute("visibility");
        var b = xs[x].getBBox();
        if (b.x < right + 6) { xs[x].setAttribute("visibility", "hidden"); continue; }
        right = b.x + b.width;
      }
    }
  }
  function layout() { tv(); axes(); fit(); }
  layout();
  window.addEventListener("resize", layout);
  readClock();
  setInterval(tick, 1000);
  var es = new EventSource(url);
  es.addEventListener("board", function (ev) {
    var msg;
    try { msg = JSON.parse(ev.data); } catch (e) { return; }
    swap("now", msg.now);
    swap("board", msg.board);
    swap("more", msg.more);
    axes();
    fit();
    readClock();
    root.setAttribute("data-health", msg.health);
    root.setAttribute("data-live", msg.live ? "true" : "false");
    root.setAttribute("data-stream", "live");
    arm();
  });
  es.addEventListener("error", function () {
    stale();
    // EventSource retries by itself after a dropped connection, but gives
    // up for good on an error answer (a server restarting behind a proxy):
    // then reload the whole page, as the no-script page does, but only once
    // the page answers again, so a dead server leaves the red banner on the
    // wall rather than a browser's error page.
    if (es.readyState === EventSource.CLOSED) {
      var again = setInterval(function () {
        check(function () { clearInterval(again); location.reload(); });
      }, quiet / 3);
    }
  });
  arm();
})();
