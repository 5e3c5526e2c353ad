/* 评分录入 grid: one row per sheet (or per cadre for ballots and indicators), keyboard-first.
   Enter moves to the next cell; Enter in the last cell saves the row (fetch POST, JSON) and moves
   on to the next row. Errors come back per field and are shown on the row. */
(function ($) {
  "use strict";
  var cfg = JSON.parse(document.getElementById("grid-config").textContent);
  var token = $('meta[name="csrf-token"]').attr("content") || "";
  var $table = $("#entry-grid");
  var cols = cfg.fields.length + (cfg.kind === "sheet" ? 5 : 4);
  var $newBody = $('<tbody class="new-rows"></tbody>');
  var $oldBody = $table.find("tbody").first().addClass("old-rows");
  $newBody.insertBefore($oldBody);

  var SELECT2_LANG = {
    inputTooShort: function () { return "请输入关键字"; },
    noResults: function () { return "没有匹配的干部（或不在您的管辖范围内）"; },
    searching: function () { return "正在搜索…"; },
    errorLoading: function () { return "无法加载结果"; }
  };
  var STATUS_TEXT = { 403: "没有权限执行此操作", 404: "记录不存在或不在您的管辖范围内", 409: "已被他人修改，请刷新后重试" };

  function cadreCell(row) {
    var $sel = $('<select class="form-control input-sm grid-cadre" aria-label="干部"><option value=""></option></select>');
    if (row && row.cadre_id) {
      $sel.append($("<option selected></option>").val(row.cadre_id).text(row.cadre_text || row.cadre_id));
    }
    return $('<td class="col-cadre"></td>').append($sel);
  }

  function buildRow(row) {
    var $tr = $('<tr class="grid-row"></tr>');
    if (row && row.id) { $tr.attr("data-id", row.id).attr("data-version", row.version || ""); }
    $tr.append(cadreCell(row));
    cfg.fields.forEach(function (f) {
      var value = row && row.values && row.values[f.key] != null ? row.values[f.key] : "";
      var $in = $('<input class="form-control input-sm grid-input" autocomplete="off">')
        .attr("data-key", f.key).attr("aria-label", f.label)
        .attr("inputmode", f.integer ? "numeric" : "decimal").val(value);
      $tr.append($('<td class="col-num"></td>').append($in));
    });
    if (cfg.kind === "sheet") {
      $tr.append($('<td class="col-count grid-count"></td>').text(row && row.cadre_sheets != null ? row.cadre_sheets : ""));
    }
    $tr.append($('<td class="col-by grid-by"></td>').text(row && row.entered_by ? row.entered_by : ""));
    var versionText = cfg.kind === "sheet" && row && row.id ? "第 " + row.version + " 版" : (row ? "已录入" : "新录入");
    $tr.append($('<td class="col-status"><span class="grid-status text-muted"></span></td>')
      .find(".grid-status").text(versionText).end());
    var $ops = $('<td class="col-ops text-nowrap"></td>');
    if (cfg.editable) {
      $ops.append('<button type="button" class="btn btn-xs btn-primary grid-save">保存</button> ');
      if (cfg.kind === "sheet" && row && row.id) {
        $ops.append('<button type="button" class="btn btn-xs btn-default grid-delete">删除</button>');
      }
    }
    $tr.append($ops);
    if (!cfg.editable) { $tr.find("input, select").prop("disabled", true); }
    var $msg = $('<tr class="grid-msg hidden"><td class="text-danger"></td></tr>');
    $msg.find("td").attr("colspan", cols);
    return $tr.add($msg);
  }

  function initSelect($tr) {
    var $sel = $tr.find("select.grid-cadre");
    $sel.select2({
      theme: "bootstrap", width: "100%", allowClear: true, placeholder: "输入姓名或编号",
      language: SELECT2_LANG,
      ajax: { url: cfg.lookup, dataType: "json", delay: 150, data: function (p) { return { q: p.term || "" }; } }
    });
    $sel.on("select2:select", function () {
      markDirty($tr);
      setTimeout(function () { $tr.find("input.grid-input").first().focus().select(); }, 0);
    });
  }

  function addNewRow(focus) {
    var $rows = buildRow(null);
    $newBody.append($rows);
    var $tr = $rows.first();
    initSelect($tr);
    if (focus) { $tr.find("select.grid-cadre").select2("open"); }
    return $tr;
  }

  function setStatus($tr, text, cls) {
    $tr.find(".grid-status").attr("class", "grid-status " + (cls || "")).text(text);
  }

  function showErrors($tr, message, errors) {
    var $msg = $tr.next(".grid-msg");
    $tr.find(".has-error").removeClass("has-error");
    $tr.find("[title]").filter(".grid-input").removeAttr("title");
    var lines = [];
    Object.keys(errors || {}).forEach(function (key) {
      var field = key.replace(/^(dim|ind)_/, "");
      var $target = key === "cadre" ? $tr.find(".col-cadre") : $tr.find('input.grid-input[data-key="' + field + '"]');
      $target.closest("td").addClass("has-error");
      $target.filter("input").attr("title", errors[key]);
      lines.push(errors[key]);
    });
    if (!lines.length && message) { lines.push(message); }
    $msg.find("td").text(lines.join("；"));
    $msg.toggleClass("hidden", !lines.length);
  }

  function markDirty($tr) {
    if (!$tr.hasClass("saving")) { setStatus($tr, "未保存", "text-warning"); }
  }

  function post(url, data) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token, "Accept": "application/json" },
      body: JSON.stringify(data)
    }).then(function (r) {
      return r.json().then(function (body) { return { status: r.status, body: body }; },
        function () { return { status: r.status, body: { message: STATUS_TEXT[r.status] || ("保存失败（" + r.status + "）") } }; });
    }, function () { return { status: 0, body: { message: "网络错误，未保存" } }; });
  }

  function save($tr) {
    if (!cfg.editable || $tr.hasClass("saving")) { return Promise.resolve(false); }
    var data = { cadre_id: $tr.find("select.grid-cadre").val(), values: {} };
    $tr.find("input.grid-input").each(function () { data.values[$(this).data("key")] = this.value; });
    if (cfg.kind === "sheet" && $tr.attr("data-id")) {
      data.id = Number($tr.attr("data-id"));
      data.version = Number($tr.attr("data-version"));
    }
    $tr.addClass("saving");
    setStatus($tr, "保存中…", "text-muted");
    return post(cfg.urls.save, data).then(function (res) {
      $tr.removeClass("saving");
      if (res.status === 200 && res.body.ok) {
        var row = res.body.row;
        if (cfg.kind === "sheet") { $tr.attr("data-id", row.id).attr("data-version", row.version); }
        if (row.cadre_sheets != null) { $tr.find(".grid-count").text(row.cadre_sheets); }
        if (row.entered_by) { $tr.find(".grid-by").text(row.entered_by); }
        showErrors($tr, null, {});
        setStatus($tr, cfg.kind === "sheet" ? "已保存 · 第 " + row.version + " 版" : "已保存", "text-success");
        if (cfg.kind === "sheet" && !$tr.find(".grid-delete").length) {
          $tr.find(".col-ops").append('<button type="button" class="btn btn-xs btn-default grid-delete">删除</button>');
        }
        return true;
      }
      var message = res.body.message || STATUS_TEXT[res.status] || "保存失败";
      setStatus($tr, res.status === 409 ? "冲突" : "未保存", "text-danger");
      showErrors($tr, message, res.body.errors);
      return false;
    });
  }

  function remove($tr) {
    if (!window.confirm("确定删除这张评分表吗？")) { return; }
    post(cfg.urls["delete"], { id: Number($tr.attr("data-id")), version: Number($tr.attr("data-version")) })
      .then(function (res) {
        if (res.status === 200) { $tr.next(".grid-msg").remove(); $tr.remove(); return; }
        var message = res.body.message || STATUS_TEXT[res.status] || "删除失败";
        setStatus($tr, res.status === 409 ? "冲突" : "未删除", "text-danger");
        showErrors($tr, message, {});
      });
  }

  function nextRow($tr) {
    var $next = $tr.nextAll(".grid-row").first();
    if ($next.length) { return $next; }
    if ($tr.closest("tbody").is($newBody)) { return $oldBody.find(".grid-row").first(); }
    return $();
  }

  $table.on("keydown", "input.grid-input", function (e) {
    if (e.key !== "Enter") { return; }
    e.preventDefault();
    var $tr = $(this).closest("tr");
    var $inputs = $tr.find("input.grid-input");
    var i = $inputs.index(this);
    if (i < $inputs.length - 1) { $inputs.eq(i + 1).focus().select(); return; }
    var isNew = $tr.closest("tbody").is($newBody) && !$tr.nextAll(".grid-row").length;
    save($tr).then(function (ok) {
      if (!ok) { return; }
      if (isNew) { addNewRow(true); return; }
      var $next = nextRow($tr);
      if ($next.length) { $next.find("input.grid-input").first().focus().select(); }
    });
  });
  $table.on("input", "input.grid-input", function () { markDirty($(this).closest("tr")); });
  $table.on("click", ".grid-save", function () { save($(this).closest("tr")); });
  $table.on("click", ".grid-delete", function () { remove($(this).closest("tr")); });

  cfg.rows.forEach(function (row) {
    var $rows = buildRow(row);
    $oldBody.append($rows);
    initSelect($rows.first());
  });
  if (!cfg.rows.length) {
    $oldBody.append($('<tr class="grid-empty"><td class="text-muted"></td></tr>').find("td").attr("colspan", cols)
      .text(cfg.editable ? "尚无已录入数据；请在上方空行录入" : "尚无已录入数据").end());
  }
  if (cfg.editable) { addNewRow(false); }
})(jQuery);
