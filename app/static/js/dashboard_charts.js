/* 领导看板 charts (ECharts, served from app/static): grade distribution by post category,
   the lights of the supervision items, the trend over periods and the sub-units (a click on a
   sub-unit's bar opens that unit's dashboard). The data comes from the JSON block
   #dashboard-data, so the page carries no inline code. */
(function () {
  "use strict";
  var GRADE_COLORS = { "优秀": "#3c9b4a", "称职": "#337ab7", "基本称职": "#f0ad4e", "不称职": "#d9534f", "不定等次": "#999" };
  var LIGHT_COLORS = { green: "#3c9b4a", yellow: "#f0ad4e", red: "#d9534f", overdue_done: "#e08a5a", done: "#9aa5b1" };
  var charts = [];

  function readData() {
    var el = document.getElementById("dashboard-data");
    if (!el) { return null; }
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  function fixed(v) { return v === null || v === undefined ? "—" : Number(v).toFixed(2); }

  function empty(text) {
    return { title: { text: text, left: "center", top: "middle", textStyle: { color: "#999", fontSize: 13, fontWeight: "normal" } } };
  }

  function title(text) { return { text: text, left: "center", textStyle: { fontSize: 14 } }; }

  function gradesOption(data) {
    if (!data.categories.length) { return [empty("本范围在该考评期没有考评结果"), title("等次分布")]; }
    var names = data.categories.map(function (c) { return c.name; });
    var series = data.grades.map(function (g) {
      return { name: g, type: "bar", stack: "grades", barMaxWidth: 36, itemStyle: { color: GRADE_COLORS[g] },
               data: data.categories.map(function (c) { return c.grades[g] || 0; }) };
    });
    return [{
      animation: false, title: title("等次分布（按岗位类别）"),
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { bottom: 0, itemWidth: 12, itemHeight: 10 },
      grid: { left: 40, right: 16, top: 36, bottom: 60, containLabel: true },
      xAxis: { type: "category", data: names, axisLabel: { interval: 0, rotate: names.length > 3 ? 20 : 0 } },
      yAxis: { type: "value", name: "人", minInterval: 1 },
      series: series
    }];
  }

  function lightsOption(data) {
    var items = data.lights.filter(function (l) { return l.count > 0; });
    if (!items.length) { return [empty("本范围暂无督查事项"), title("督查事项红黄绿灯")]; }
    var lit = items.reduce(function (n, l) { return n + l.count; }, 0);
    var heading = title("督查事项红黄绿灯");
    heading.subtext = "共 " + lit + " 项（草稿、已终止不计灯色）";
    heading.itemGap = 4;
    return [{
      animation: false, title: heading,
      tooltip: { trigger: "item", formatter: "{b}：{c} 项（{d}%）" },
      legend: { bottom: 0, itemWidth: 12, itemHeight: 10 },
      series: [{ type: "pie", radius: ["32%", "58%"], center: ["50%", "54%"],
                 label: { formatter: "{c}" },
                 data: items.map(function (l) { return { name: l.label, value: l.count, itemStyle: { color: LIGHT_COLORS[l.key] } }; }) }]
    }];
  }

  function trendOption(data) {
    if (!data.trend.length) { return [empty("暂无历次考评结果"), title("历次考评走势")]; }
    var periods = data.trend.map(function (t) { return t.name; });
    var means = data.trend.map(function (t) { return t.mean; });
    var present = means.filter(function (v) { return v !== null; });
    var low = present.length ? Math.max(0, Math.floor((Math.min.apply(null, present) - 10) / 10) * 10) : 0;
    return [{
      animation: false, title: title("历次考评走势"),
      tooltip: { trigger: "axis" },
      legend: { bottom: 0, itemWidth: 12, itemHeight: 10 },
      grid: { left: 40, right: 40, top: 40, bottom: 40, containLabel: true },
      xAxis: { type: "category", data: periods, axisLabel: { interval: 0, rotate: periods.length > 3 ? 30 : 0, fontSize: 11 } },
      yAxis: [{ type: "value", name: "平均分", min: low, max: 100 },
              { type: "value", name: "优秀率%", min: 0, max: 100, splitLine: { show: false } }],
      series: [
        { name: "平均综合得分", type: "line", data: means, symbolSize: 7, lineStyle: { width: 3 }, itemStyle: { color: "#c23531" },
          label: { show: true, formatter: function (p) { return fixed(p.value); } } },
        { name: "优秀率", type: "bar", yAxisIndex: 1, barMaxWidth: 28, itemStyle: { color: "#91c7ae" },
          data: data.trend.map(function (t) { return t.evaluated ? Math.round(1000 * (t.grades["优秀"] || 0) / t.evaluated) / 10 : 0; }) }
      ]
    }];
  }

  function listUrl(base, params) {
    var q = Object.keys(params).filter(function (k) { return params[k]; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
    return q ? base + "?" + q : base;
  }

  function drillUrl(data, code) {
    var q = "unit=" + encodeURIComponent(code);
    if (data.drill.period) { q += "&period=" + encodeURIComponent(data.drill.period); }
    return data.drill.url + "?" + q;
  }

  function unitsOption(data) {
    // Two panels side by side on the same units: the mean composite (0-100) and the overdue items.
    var units = data.units;
    var names = units.map(function (u) { return u.name; });
    var category = { type: "category", data: names, inverse: true, triggerEvent: true,
                     axisLabel: { interval: 0, color: "#337ab7", width: 140, overflow: "truncate" } };
    return [{
      animation: false, title: title("下级单位：平均综合得分与主办事项超期"),
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: [{ left: 150, right: "36%", top: 56, bottom: 36 }, { left: "70%", right: 28, top: 56, bottom: 36 }],
      legend: { bottom: 0, itemWidth: 12, itemHeight: 10 },
      xAxis: [{ gridIndex: 0, type: "value", position: "top", min: 0, max: 100 },
              { gridIndex: 1, type: "value", position: "top", minInterval: 1 }],
      yAxis: [Object.assign({ gridIndex: 0 }, category),
              { gridIndex: 1, type: "category", data: names, inverse: true, axisLabel: { show: false }, axisTick: { show: false } }],
      series: [
        { name: "平均综合得分", type: "bar", xAxisIndex: 0, yAxisIndex: 0, barMaxWidth: 16, itemStyle: { color: "#337ab7" },
          cursor: "pointer", label: { show: true, position: "right", formatter: function (p) { return fixed(p.value); } },
          data: units.map(function (u) { return u.mean; }) },
        { name: "主办事项超期", type: "bar", xAxisIndex: 1, yAxisIndex: 1, barMaxWidth: 16, itemStyle: { color: "#d9534f" },
          cursor: "pointer", label: { show: true, position: "right" },
          data: units.map(function (u) { return u.red; }) }
      ]
    }];
  }

  function names(data) { return data.units.map(function (u) { return u.name; }); }

  function draw(id, parts) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) { return null; }
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    var option = parts[0];
    if (parts[1] && !option.series) { option.title = [parts[1], option.title]; }
    chart.setOption(option);
    charts.push(chart);
    return chart;
  }

  function init() {
    var data = readData();
    if (!data) { return; }
    var d = data.drill;
    var grades = draw("chart-grades", gradesOption(data));
    if (grades && data.categories.length) {  // a segment opens the results behind it
      grades.on("click", function (p) {
        if (p.componentType !== "series") { return; }
        window.location.href = listUrl(d.results, { period: d.period, unit: d.unit, category: p.name, grade: p.seriesName });
      });
    }
    var lightsChart = draw("chart-lights", lightsOption(data));
    if (lightsChart) {  // a slice opens the items of that light
      lightsChart.on("click", function (p) {
        var light = data.lights.filter(function (l) { return l.label === p.name; })[0];
        if (light) { window.location.href = listUrl(d.tasks, { unit: d.unit, light: light.key }); }
      });
    }
    draw("chart-trend", trendOption(data));
    if (data.units && data.units.length) {
      var units = draw("chart-units", unitsOption(data));
      var el = document.getElementById("chart-units");
      if (units && el) {
        var n = data.units.length;
        el.style.height = Math.max(300, 60 + 26 * n) + "px";
        units.resize();
        units.on("click", function (p) {
          // a bar, or the unit's name on the axis
          var i = p.componentType === "yAxis" ? names(data).indexOf(p.value) : p.dataIndex;
          var u = data.units[i];
          if (u && u.code) { window.location.href = drillUrl(data, u.code); }
        });
      }
    }
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
