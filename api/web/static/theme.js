// Before the page paints: the theme the viewer chose last (else the system's), so nothing flashes.
(function () {
  try {
    var chosen = localStorage.getItem("lrb-theme");
    if (chosen === "dark" || chosen === "light") document.documentElement.dataset.theme = chosen;
  } catch (e) { /* storage off: the system's theme */ }
})();
