/* The codes sheet: print it. */
(function () {
  var button = document.getElementById("print-sheet");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
})();
