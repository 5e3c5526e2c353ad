/* The ballot page: count the 优秀 chosen against the cap, keep the page from going over it,
   and submit once. The server checks the same rules again. */
(function () {
  var form = document.getElementById("ballot");
  if (!form) { return; }
  var cap = parseInt(form.getAttribute("data-cap"), 10) || 0;
  var excellentOut = document.getElementById("excellent-count");
  var doneOut = document.getElementById("done-count");
  var counter = document.getElementById("vote-counter");
  var button = document.getElementById("vote-submit");

  function radios() { return form.querySelectorAll("input[type=radio]"); }

  function update() {
    var excellent = 0, done = {};
    radios().forEach(function (r) {
      if (r.checked) {
        done[r.name] = true;
        if (r.value === "优秀") { excellent += 1; }
      }
    });
    excellentOut.textContent = excellent;
    doneOut.textContent = Object.keys(done).length;
    var full = excellent >= cap;
    radios().forEach(function (r) {
      if (r.value === "优秀" && !r.checked) {
        r.disabled = full;
        r.parentNode.classList.toggle("vote-disabled", full);
      }
    });
    counter.classList.toggle("vote-full", full);
  }

  form.addEventListener("change", update);
  form.addEventListener("submit", function (event) {
    var excellent = form.querySelectorAll("input[type=radio][value='优秀']:checked").length;
    if (excellent > cap) {
      event.preventDefault();
      window.alert("“优秀”最多可评 " + cap + " 人，请减少后再提交");
      return;
    }
    button.disabled = true;
    button.textContent = "正在提交…";
  });
  update();
})();
