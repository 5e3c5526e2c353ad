/* Search-as-you-type for relation fields: <select class="lookup-select" data-url=...>. */
(function ($) {
  function init() {
    $("select.lookup-select").each(function () {
      var $el = $(this), byCode = $el.data("by") === "code";
      $el.select2({
        theme: "bootstrap",
        width: "resolve",
        allowClear: true,
        placeholder: $el.data("placeholder") || "输入以搜索",
        minimumInputLength: 0,
        language: {
          inputTooShort: function () { return "请输入关键字"; },
          noResults: function () { return "没有匹配的结果"; },
          searching: function () { return "正在搜索…"; },
          errorLoading: function () { return "无法加载结果"; }
        },
        ajax: {
          url: $el.data("url"),
          dataType: "json",
          delay: 200,
          data: function (params) { return { q: params.term || "" }; },
          processResults: function (data) {
            if (byCode) {
              data.results.forEach(function (r) { r.id = r.code; });
            }
            return data;
          }
        }
      });
    });
  }
  $(init);
})(jQuery);
