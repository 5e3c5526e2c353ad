/* 诉求办理统计 charts (ECharts from app/static/vendor). The figures come from the JSON block
   #appeal-figures-data; clicking a child unit's bar opens that unit's figures (drill-down). */
(function () {
  "use strict";
  var LEVEL_COLORS = ["#3c9d4e", "#7cb342", "#5b8db8", "#e6a700", "#d9534f"];

  function readData() {
    var el = document.getElementById("appeal-figures-data");
    if (!el) { return null; }
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  function empty(el, text) {
    el.innerHTML = "";
    var p = document.createElement("p");
    p.className = "text-muted";
    p.textContent = text;
    el.appendChild(p);
  }

  function levelsChart(el, levels) {
    var total = levels.reduce(function (s, x) { return s + x.value; }, 0);
    if (!total) { empty(el, "所选范围内暂无已办结诉求。"); return null; }
    var chart = echarts.init(el);
    chart.setOption({
      animation: false,
      tooltip: { trigger: "item", formatter: "{b}：{c} 件（{d}%）" },
      legend: { bottom: 0 },
      series: [{
        type: "pie", radius: ["35%", "65%"], center: ["50%", "45%"],
        label: { formatter: "{b}\n{d}%" },
        data: levels.map(function (x, i) {
          return { name: x.name, value: x.value, itemStyle: { color: LEVEL_COLORS[i % LEVEL_COLORS.length] } };
        })
      }]
    });
    return chart;
  }

  function childrenChart(el, children) {
    if (!children.length) { empty(el, "该单位没有下级单位。"); return null; }
    var names = children.map(function (c) { return c.name; });
    var chart = echarts.init(el);
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 16, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: names, axisLabel: { interval: 0, rotate: names.length > 6 ? 30 : 0,
        formatter: function (v) { return v.length > 8 ? v.slice(0, 8) + "…" : v; } } },
      yAxis: [{ type: "value", name: "件", minInterval: 1 }, { type: "value", name: "%", max: 100 }],
      series: [
        { name: "受理量", type: "bar", barMaxWidth: 36, itemStyle: { color: "#5b8db8" },
          data: children.map(function (c) { return { value: c.received, url: c.url }; }) },
        { name: "满意率", type: "line", yAxisIndex: 1, itemStyle: { color: "#3c9d4e" },
          data: children.map(function (c) { return { value: c.satisfaction, url: c.url }; }) },
        { name: "按时答复率", type: "line", yAxisIndex: 1, itemStyle: { color: "#e6a700" },
          data: children.map(function (c) { return { value: c.reply_on_time, url: c.url }; }) }
      ]
    });
    chart.on("click", function (p) { if (p.data && p.data.url) { window.location.href = p.data.url; } });
    return chart;
  }

  function init() {
    var data = readData();
    if (!data || typeof echarts === "undefined") { return; }
    var charts = [];
    var levels = document.getElementById("chart-levels");
    if (levels) { charts.push(levelsChart(levels, data.levels)); }
    var children = document.getElementById("chart-children");
    if (children) { charts.push(childrenChart(children, data.children)); }
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { if (c) { c.resize(); } });
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
