/* The scheme form: add/remove rows of dimensions, groups and indicators; vote points only for vote groups. */
(function ($) {
  function syncKinds() {
    $("#groups tr.group-row").each(function () {
      var votes = $(this).find("select.grp-kind").val() === "votes";
      $(this).find("input.vote-point").prop("disabled", !votes).toggleClass("invisible", !votes);
    });
  }
  $(function () {
    $(document).on("click", ".row-add", function () {
      var tpl = document.getElementById($(this).data("template"));
      var body = document.getElementById($(this).data("target"));
      body.appendChild(document.importNode(tpl.content, true));
      $(body).find("tr:last input:first").focus();
      syncKinds();
    });
    $(document).on("click", ".row-remove", function () {
      $(this).closest("tr").remove();
    });
    $(document).on("change", "select.grp-kind", syncKinds);
    // Disabled inputs are not posted: re-enable them (empty) so the columns stay aligned.
    $("#scheme-form").on("submit", function () {
      $(this).find("input.vote-point:disabled").prop("disabled", false).val("");
    });
    syncKinds();
  });
})(jQuery);
