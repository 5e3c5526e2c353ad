/* A background job's page: poll its status (JSON) and move the progress bar; reload the
   page once the job has ended, to show its result, its error rows or its download. */
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.getAttribute("data-finished") === "1") { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("job-bar");
  var message = document.getElementById("job-message");
  var state = document.getElementById("job-state");
  var seconds = document.getElementById("job-seconds");

  function show(s) {
    bar.style.width = s.bar_width + "%";
    bar.setAttribute("aria-valuenow", String(s.percent));
    bar.textContent = s.bar_text;
    message.textContent = s.message || "";
    seconds.textContent = s.seconds === null ? "" : "（已运行 " + s.seconds + " 秒）";
    state.textContent = s.state_label;
    state.className = "label job-state job-" + s.state;
  }

  function poll() {
    var req = new XMLHttpRequest();
    req.open("GET", url, true);
    req.setRequestHeader("Accept", "application/json");
    req.onload = function () {
      if (req.status !== 200) { window.setTimeout(poll, 3000); return; }
      var s;
      try { s = JSON.parse(req.responseText); } catch (e) { window.setTimeout(poll, 3000); return; }
      show(s);
      if (s.finished) { window.location.reload(); return; }
      window.setTimeout(poll, 1000);
    };
    req.onerror = function () { window.setTimeout(poll, 3000); };
    req.send();
  }

  window.setTimeout(poll, 1000);
}());
