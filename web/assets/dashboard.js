// Keeps the board up to date from /api/stream without reloading the page,
// so a date being picked is not wiped. Every word and number arrives as
// HTML rendered by the server in the page's language; this script only
// swaps it in and says when the stream has gone quiet (the figures are then
// stale, and the page shows the stale banner from the catalogue).
//
// The script holds no words of its own. Everything it shows comes from
// the catalogue through the server, in the page's language:
//   - the "N baru" bar over a held list: the template's text, the script
//     writes only the count (data-hold-bar);
//   - the row's question, its buttons, the saved verdict's result, the
//     undo's label and answer, a refusal: the console's JSON answer
//     (confirm, yes, no, result, undo_label, error), asked in the page's
//     language by the form's back address; the countdown adds only
//     digits and brackets;
//   - the red "not responding since" banner: data-down on the newest
//     "now" strip, which also holds "last updated";
//   - the mute button: data-label-on and data-label-off;
//   - "+N more" on a cut list: data-more-fmt, with the count formatted
//     for the page's language;
//   - the longest wait's ticking clock: digits and data-sep;
//   - the stale and down marks, and the incident banner's unknown state:
//     served with the page and only shown by data-stream (CSS).
// TestBoardScriptSpeaksOneLanguage reads the board in each of these states.
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
    if (!el || typeof html !== "string") { return; }
    var fresh = document.createElement("div");
    fresh.innerHTML = html;
    ring(fresh);
    hold(el, fresh);
    el.replaceChildren.apply(el, Array.prototype.slice.call(fresh.childNodes));
    showMute();
  }

  // Lists hold still under the hand. On a busy day new calls arrive every
  // second or two and each update would move the rows down: a click aimed
  // at one call's button landed on another's. So while the pointer or the
  // keyboard focus is on a list (any element with data-hold), or a
  // verdict's question or undo is open in it, the list shown is kept as it
  // is; the new one waits, and the bar above the list says how many new
  // rows it holds until the supervisor clicks it.
  var pointerZone = null, focusZone = null, waiting = {};
  function zoneOf(node) {
    var z = node && node.closest ? node.closest("[data-hold]") : null;
    return z ? z.getAttribute("data-hold") : null;
  }
  document.addEventListener("pointerover", function (e) { pointerZone = zoneOf(e.target); });
  document.documentElement.addEventListener("pointerleave", function () { pointerZone = null; });
  document.addEventListener("focusin", function (e) { focusZone = zoneOf(e.target); });
  document.addEventListener("focusout", function (e) { if (!e.relatedTarget) { focusZone = null; } });
  function held(zone) {
    var name = zone.getAttribute("data-hold");
    return pointerZone === name || focusZone === name || !!zone.querySelector("tr.ask-row.open");
  }
  function callIDs(zone) {
    var ids = {}, rows = zone.querySelectorAll("tr[data-call-id]");
    for (var i = 0; i < rows.length; i++) { ids[rows[i].getAttribute("data-call-id")] = true; }
    return ids;
  }
  // hold puts each held list of el, as it stands, in place of its new
  // version in fresh, keeps the new version for the bar, and keeps the
  // list where it was on the screen even if what is above it grew.
  function hold(el, fresh) {
    var zones = el.querySelectorAll("[data-hold]");
    var anchor = null, top = 0, focused = document.activeElement;
    for (var i = 0; i < zones.length; i++) {
      var old = zones[i], name = old.getAttribute("data-hold");
      var next = fresh.querySelector('[data-hold="' + name + '"]');
      if (!next) { delete waiting[name]; continue; }
      if (!held(old)) { delete waiting[name]; continue; }
      if (!anchor) { anchor = old; top = old.getBoundingClientRect().top; }
      var had = callIDs(old), now = callIDs(next), n = 0;
      for (var id in now) { if (!had[id]) { n++; } }
      waiting[name] = next;
      next.parentNode.replaceChild(old, next);
      var bar = old.querySelector("[data-hold-bar]");
      if (bar) {
        bar.querySelector("b").textContent = String(n);
        bar.hidden = n === 0;
      }
    }
    if (anchor) {
      // Swapped after this returns; the scroll is fixed on the next frame.
      requestAnimationFrame(function () {
        var moved = anchor.getBoundingClientRect().top - top;
        if (moved) { window.scrollBy(0, moved); }
        if (focused && focused !== document.activeElement && document.contains(focused)) { focused.focus({ preventScroll: true }); }
      });
    }
  }
  document.addEventListener("click", function (e) {
    var bar = e.target.closest ? e.target.closest("[data-hold-bar]") : null;
    if (!bar) { return; }
    var zone = bar.closest("[data-hold]"), name = zone.getAttribute("data-hold");
    if (waiting[name]) {
      zone.parentNode.replaceChild(waiting[name], zone);
      delete waiting[name];
    }
  });

  // A verdict is asked before it is saved, in the row that was clicked:
  // the server names the number and what the verdict would do to it now
  // (blocked for how long, a block lifted). A confirmed prank verdict can
  // be undone for the seconds the server grants. Without fetch the form
  // posts as it is and the server answers with its confirmation page.
  function send(url, data) {
    return fetch(url, { method: "POST", body: new URLSearchParams(data), headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); });
  }
  function askRow(row) {
    var next = row.nextElementSibling;
    if (next && next.classList.contains("ask-row")) { next.parentNode.removeChild(next); }
    var tr = document.createElement("tr"), td = document.createElement("td");
    tr.className = "ask-row open";
    tr.setAttribute("data-testid", "ask");
    td.colSpan = row.children.length;
    tr.appendChild(td);
    row.parentNode.insertBefore(tr, row.nextSibling);
    return tr;
  }
  function say(tr, words, buttons) {
    var td = tr.firstChild, span = document.createElement("span");
    td.textContent = "";
    span.className = "ask-text";
    span.textContent = words;
    td.appendChild(span);
    for (var i = 0; i < buttons.length; i++) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = buttons[i].label;
      b.className = buttons[i].cls || "";
      b.addEventListener("click", buttons[i].fn);
      td.appendChild(b);
    }
    return td;
  }
  // failed shows the server's refusal in the row; with none (the network
  // or a non-JSON answer), the row keeps what it said, without buttons.
  function failed(tr, res) {
    tr.classList.remove("open");
    var msg = res && res.j && (res.j.error || res.j.result);
    say(tr, msg || (tr.querySelector(".ask-text") || {}).textContent || "", []);
  }
  // postPlain posts the form as a page would, confirmed: the server's
  // answer page then says what happened.
  function postPlain(form) {
    var f = form.cloneNode(true), c = document.createElement("input");
    c.type = "hidden";
    c.name = "confirm";
    c.value = "1";
    f.appendChild(c);
    f.removeAttribute("data-ask");
    f.hidden = true;
    document.body.appendChild(f);
    f.submit();
  }
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute || !form.hasAttribute("data-ask") || !window.fetch || !window.URLSearchParams) { return; }
    e.preventDefault();
    var row = form.closest("tr"), data = new FormData(form);
    send(form.action, data).then(function (res) {
      if (!res.ok || typeof res.j.confirm !== "string") { failed(askRow(row), res); return; }
      var tr = askRow(row);
      if (res.j.lifts) { tr.classList.add("lifts"); }
      var td = say(tr, res.j.confirm, [
        { label: res.j.yes, cls: "yes", fn: function () { confirmVerdict(tr, form); } },
        { label: res.j.no, cls: "no", fn: function () { tr.parentNode.removeChild(tr); } }
      ]);
      // The safe answer has the focus: Enter does not block anyone.
      td.querySelector("button.no").focus({ preventScroll: true });
    }, function () { form.submit(); });
  });
  function confirmVerdict(tr, form) {
    var data = new FormData(form);
    data.set("confirm", "1");
    send(form.action, data).then(function (res) {
      if (!res.ok) { failed(tr, res); return; }
      tr.classList.remove("lifts");
      tr.classList.add("done");
      if (!res.j.undo) { tr.classList.remove("open"); say(tr, res.j.result, []); return; }
      var left = res.j.undo_seconds, label = res.j.undo_label;
      var td = say(tr, res.j.result, [{ label: label + " (" + left + ")", cls: "undo", fn: function () {
        clearInterval(timer);
        var u = new FormData();
        u.set("csrf", data.get("csrf"));
        u.set("back", data.get("back"));
        u.set("undo", res.j.undo);
        send(form.action + "/undo", u).then(function (r) { tr.classList.remove("open"); say(tr, (r.j.result || r.j.error || ""), []); },
          function () { failed(tr, null); });
      } }]);
      var btn = td.querySelector("button.undo");
      var timer = setInterval(function () {
        left--;
        if (left > 0) { btn.textContent = label + " (" + left + ")"; return; }
        clearInterval(timer);
        if (btn.parentNode) { btn.parentNode.removeChild(btn); }
        tr.classList.remove("open");
      }, 1000);
    }, function () { postPlain(form); });
  }

  // A new silent-help or call-back item in needs-attention flashes the
  // panel and, unless this screen is muted, beeps. The mute is this
  // screen's own, remembered in localStorage.
  var muteKey = "siaga112.attention.muted", known = null, audio = null;
  function muted() { try { return localStorage.getItem(muteKey) === "1"; } catch (e) { return false; } }
  function showMute() {
    var b = document.querySelector("[data-mute]");
    if (!b) { return; }
    b.hidden = false;
    b.textContent = b.getAttribute(muted() ? "data-label-off" : "data-label-on");
    b.setAttribute("aria-pressed", muted() ? "true" : "false");
  }
  document.addEventListener("click", function (e) {
    if (!e.target.closest || !e.target.closest("[data-mute]")) { return; }
    try { localStorage.setItem(muteKey, muted() ? "0" : "1"); } catch (err) { /* private mode: the mute lasts this page */ }
    showMute();
  });
  function beep() {
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) { return; }
    try {
      audio = audio || new AC();
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880;
      g.gain.value = 0.2;
      o.connect(g);
      g.connect(audio.destination);
      o.start();
      o.stop(audio.currentTime + 0.4);
    } catch (e) { /* no sound device: the flash still shows */ }
  }
  function ring(container) {
    var panel = container.querySelector("[data-hold=attention]");
    if (!panel) { return; }
    var rows = panel.querySelectorAll("tr[data-kind]"), now = {}, fresh = false;
    for (var i = 0; i < rows.length; i++) {
      var id = rows[i].getAttribute("data-call-id"), kind = rows[i].getAttribute("data-kind");
      now[id] = true;
      if (known && !known[id] && (kind === "silent_help" || kind === "callback")) { fresh = true; }
    }
    known = now;
    if (!fresh) { return; }
    root.setAttribute("data-rang", String(Date.now()));
    requestAnimationFrame(function () {
      var live = document.querySelector("[data-hold=attention]");
      if (live) { live.classList.remove("flash"); void live.offsetWidth; live.classList.add("flash"); }
    });
    if (!muted()) { beep(); }
  }
  ring(document);
  showMute();
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
      var right = -Infinity, vb = svg.viewBox.baseVal;
      for (var x = 0; x < xs.length; x++) {
        xs[x].removeAttribute("visibility");
        xs[x].removeAttribute("dx");
        var b = xs[x].getBBox();
        // A label grown wider than the room at the chart's edge moves in
        // rather than losing its first or last letters ("27 Nov").
        var shift = Math.max(0, vb.x - b.x) + Math.min(0, vb.x + vb.width - b.x - b.width);
        if (shift) { xs[x].setAttribute("dx", String(shift)); b = xs[x].getBBox(); }
        if (b.x < right + 6) { xs[x].setAttribute("visibility", "hidden"); continue; }
        right = b.x + b.width;
      }
    }
  }
  // A tile's figures keep the size the style sheet gives them unless that
  // would cut one at the tile's edge ("100% 100% 10", a wait of "10:57"):
  // then they shrink together, just enough to fit, so a figure is never
  // read wrong from across the room. Without the script the tile clips.
  function figures() {
    var rows = document.querySelectorAll(".kpi .figs");
    for (var i = 0; i < rows.length; i++) {
      var vs = rows[i].querySelectorAll(".v");
      for (var j = 0; j < vs.length; j++) { vs[j].style.fontSize = ""; }
      if (!vs.length || !rows[i].getClientRects().length) { continue; }
      // The tile clips at its border: a figure may use its padding.
      var tile = rows[i].closest(".kpi");
      var edge = tile.getBoundingClientRect().right - parseFloat(getComputedStyle(tile).borderRightWidth);
      var left = rows[i].getBoundingClientRect().left;
      // Gaps and labels keep their size, so one step may not be enough.
      for (var pass = 0; pass < 3; pass++) {
        var right = vs[vs.length - 1].getBoundingClientRect().right;
        if (right <= edge + 0.5 || !(edge > left)) { break; }
        var k = (edge - left) / (right - left);
        for (var v = 0; v < vs.length; v++) {
          vs[v].style.fontSize = Math.floor(parseFloat(getComputedStyle(vs[v]).fontSize) * k) + "px";
        }
      }
    }
  }
  function layout() { tv(); figures(); axes(); fit(); }
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
    figures();
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
