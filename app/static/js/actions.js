/* Irreversible buttons ask first, dates already past are pointed out while typing, and a
   list's keyword box keeps the list's other filters.

   - <form data-confirm="…"> or a submit <button data-confirm="…">: the browser's confirm
     dialog with that text; cancelling leaves the page as it was (nothing is sent).
   - <input data-past-warning="…">: the text is shown under the field while its date
     (YYYY-MM-DD) lies before today. */
(function ($) {
  if (window.svActionsLoaded) { return; }  // once per page, or a dialog would be asked twice
  window.svActionsLoaded = true;
  document.addEventListener("submit", function (event) {
    var form = event.target, button = event.submitter;
    var message = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // <form method="get" data-keep-args="q">: a search that keeps the list's other filters of
  // the address (all but the form's own fields and the page number).
  document.addEventListener("submit", function (event) {
    var form = event.target, own = form.getAttribute && form.getAttribute("data-keep-args");
    if (own === null || own === undefined || event.defaultPrevented) { return; }
    var skip = own.split(/\s+/);
    new URLSearchParams(window.location.search).forEach(function (value, key) {
      if (skip.indexOf(key) >= 0 || key.indexOf("page_") === 0) { return; }
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = key;
      input.value = value;
      form.appendChild(input);
    });
  });

  function today() {
    var d = new Date(), pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }

  function checkPast(input) {
    var $input = $(input), value = ($input.val() || "").trim();
    var $holder = $input.closest(".input-group").length ? $input.closest(".input-group") : $input;
    var $note = $holder.next(".past-warning");
    var past = /^\d{4}-\d{2}-\d{2}$/.test(value) && value < today();
    if (past && !$note.length) {
      $note = $('<div class="text-warning past-warning"><i class="fa fa-exclamation-triangle"></i> </div>');
      $note.append(document.createTextNode($input.attr("data-past-warning")));
      $holder.after($note);
    } else if (!past) {
      $note.remove();
    }
  }

  if ($) {
    $(document).on("change input keyup blur changeDate dp.change", "input[data-past-warning]", function () {
      checkPast(this);
    });
    $(function () { $("input[data-past-warning]").each(function () { checkPast(this); }); });
  }
})(window.jQuery);
