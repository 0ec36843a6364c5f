/* The console's only script: SLA countdowns, the live queue (EventSource + re-fetch of the rows), select-all. */
(function () {
  "use strict";

  function format(seconds) {
    var s = Math.abs(seconds), text = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    return seconds < 0 ? "-" + text : text;
  }

  var loadedAt = Date.now();
  function tick() {
    var elapsed = Math.floor((Date.now() - loadedAt) / 1000);
    document.querySelectorAll(".sla[data-left]").forEach(function (el) {
      if (el.dataset.paused === "1") { return; }
      if (el.dataset.base === undefined) { el.dataset.base = el.dataset.left; el.dataset.since = String(elapsed); }
      var left = Number(el.dataset.base) - (elapsed - Number(el.dataset.since));
      el.textContent = format(left);
      el.classList.toggle("overdue", left < 0);
    });
  }

  function liveQueue(table) {
    var body = document.getElementById("queue-rows"), badge = document.getElementById("live");
    var pending = null, generation = 0;
    function refresh() {
      var mine = ++generation;
      fetch(table.dataset.rowsUrl, {credentials: "same-origin", headers: {"Accept": "text/html"}})
        .then(function (response) {
          if (response.redirected) { window.location.reload(); return Promise.reject("logged out"); }  // to login
          return response.ok ? response.text() : Promise.reject(response.status);
        })
        .then(function (html) {
          if (mine !== generation) { return; }
          var picked = Array.from(body.querySelectorAll(".pick:checked")).map(function (box) { return box.value; });
          body.innerHTML = html;
          body.querySelectorAll(".pick").forEach(function (box) { box.checked = picked.indexOf(box.value) >= 0; });
          tick();
        })
        .catch(function () { /* the next event or reconnect tries again */ });
    }
    function changed() {
      if (pending) { clearTimeout(pending); }
      pending = setTimeout(refresh, 150);  // a burst of events (a bulk action) costs one fetch
    }
    var source = null, lastId = null, retry = null, missed = false;
    function connect() {
      var url = new URL(table.dataset.streamUrl, window.location.href);
      if (lastId !== null) { url.searchParams.set("after", lastId); }
      source = new EventSource(url.toString(), {withCredentials: true});
      table.dataset.eventTypes.split(",").forEach(function (type) {
        source.addEventListener(type, function (event) { lastId = event.lastEventId || lastId; changed(); });
      });
      source.onopen = function () {
        badge.textContent = badge.dataset.live; badge.classList.add("on");
        if (missed) { missed = false; changed(); }  // events may have come and gone while no stream was open
      };
      source.onerror = function () {
        badge.textContent = badge.dataset.offline; badge.classList.remove("on");
        // A network error: EventSource reconnects by itself. An HTTP error (503 streams_busy: the server has as
        // many live streams open as it serves) closes it for good: open a new one later.
        if (source.readyState === EventSource.CLOSED && retry === null) {
          missed = true;
          retry = setTimeout(function () { retry = null; connect(); }, Number(table.dataset.retryMs || 5000));
        }
      };
      // Logged out elsewhere, revoked or deactivated: the page reloads, which lands on the login form.
      source.addEventListener("session_ended", function () { source.close(); window.location.reload(); });
    }
    connect();
    window.addEventListener("pagehide", function () { if (retry !== null) { clearTimeout(retry); } source.close(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    var table = document.getElementById("queue");
    if (table && window.EventSource) { liveQueue(table); }
    var all = document.getElementById("select-all");
    if (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll(".pick").forEach(function (box) { box.checked = all.checked; });
      });
    }
    document.querySelectorAll("form").forEach(function (form) {
      form.addEventListener("submit", function () {  // one click, one request: no duplicate drafts or actions
        setTimeout(function () { form.querySelectorAll("button").forEach(function (b) { b.disabled = true; }); }, 0);
      });
    });
  });
})();
