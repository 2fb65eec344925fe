// Progressive enhancement only: every page works without it.
// Times arrive as UTC <time datetime>; they are shown relative and in the viewer's own time zone.
(function () {
  "use strict";
  var rtf = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }) : null;
  var clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  var full = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "long" });
  var day = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

  function relative(seconds) {
    var abs = Math.abs(seconds), units = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
    for (var i = 0; i < units.length; i++) {
      if (abs >= units[i][1] || units[i][0] === "second") {
        var n = Math.round(seconds / units[i][1]);
        return rtf ? rtf.format(n, units[i][0]) : (n + " " + units[i][0] + "s");
      }
    }
  }

  function render(el) {
    var at = new Date(el.getAttribute("datetime"));
    if (isNaN(at)) return;
    var seconds = (at - Date.now()) / 1000;
    var sameDay = new Date().toDateString() === at.toDateString();
    el.textContent = relative(seconds) + " (" + (sameDay ? clock.format(at) : day.format(at)) + ")";
    el.title = full.format(at);
  }

  function renderAll(root) {
    (root || document).querySelectorAll("time[datetime]").forEach(render);
  }

  function toggleTheme() {
    var root = document.documentElement;
    var dark = root.dataset.theme ? root.dataset.theme === "dark" : window.matchMedia("(prefers-color-scheme: dark)").matches;
    root.dataset.theme = dark ? "light" : "dark";
    try { localStorage.setItem("lrb-theme", root.dataset.theme); } catch (e) { /* not kept */ }
  }

  document.addEventListener("DOMContentLoaded", function () {
    renderAll();
    setInterval(renderAll, 15000);
    var button = document.getElementById("theme-toggle");
    if (button) button.addEventListener("click", toggleTheme);
  });
  document.addEventListener("htmx:afterSwap", function (e) { renderAll(e.target); });
  document.addEventListener("htmx:sseMessage", function (e) { renderAll(e.target); });
})();
