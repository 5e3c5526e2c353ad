/* Dashboard: choosing a cadre in the search-as-you-type picker opens that cadre's profile. */
(function ($) {
  $(function () {
    var $picker = $("#cadre-picker");
    if (!$picker.length) { return; }
    $picker.on("change", function () {
      var id = $picker.val();
      if (id && /^\d+$/.test(String(id))) {
        window.location.href = $picker.data("profile-url") + id;
      }
    });
  });
})(jQuery);
