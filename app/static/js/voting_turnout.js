/* A session's page: the turnout, refreshed every 5 seconds while voting is open. */
(function () {
  var box = document.getElementById("turnout");
  if (!box || box.getAttribute("data-live") !== "1") { return; }
  var url = box.getAttribute("data-url");
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        box.querySelectorAll("[data-k]").forEach(function (el) {
          el.textContent = data[el.getAttribute("data-k")];
        });
        var bar = document.getElementById("turnout-bar");
        if (bar) { bar.style.width = data.rate + "%"; }
        if (data.state !== "open") { window.location.reload(); }
      })
      .catch(function () {});
  }
  window.setInterval(refresh, 5000);
})();
