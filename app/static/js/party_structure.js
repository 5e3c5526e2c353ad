/* 党员结构分析 charts (ECharts, served locally). The figures come from the JSON block
   #structure-data; gender, status and 流动 as rings, the banded figures as bars. No inline code. */
(function () {
  "use strict";
  var COLORS = ["#c9302c", "#e07b39", "#f0ad4e", "#5b9bd5", "#70ad47", "#7f7f7f"];
  var RINGS = { gender: true, status: true, flowing: true };
  var charts = [];

  function readData() {
    var el = document.getElementById("structure-data");
    if (!el) { return null; }
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  function empty(el) {
    el.innerHTML = "";
    var p = document.createElement("p");
    p.className = "text-muted pt-chart-empty";
    p.textContent = "暂无党员数据。";
    el.appendChild(p);
  }

  function draw(el, key, figures, names, total) {
    if (!total) { empty(el); return; }
    var chart = echarts.init(el);
    if (RINGS[key]) {
      chart.setOption({
        animation: false, color: COLORS,
        tooltip: { trigger: "item", formatter: "{b}：{c} 人（{d}%）" },
        legend: { bottom: 0 },
        series: [{ type: "pie", radius: ["35%", "62%"], center: ["50%", "44%"], label: { formatter: "{b}\n{c}" },
                   data: names.map(function (n) { return { name: n, value: figures[n] }; }) }]
      });
    } else {
      chart.setOption({
        animation: false, color: COLORS,
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        grid: { left: 8, right: 8, top: 16, bottom: 4, containLabel: true },
        xAxis: { type: "category", data: names, axisLabel: { interval: 0 } },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", barMaxWidth: 36, label: { show: true, position: "top" },
                   data: names.map(function (n) { return figures[n]; }) }]
      });
    }
    charts.push(chart);
  }

  function init() {
    var data = readData();
    if (!data || typeof echarts === "undefined") { return; }
    data.keys.forEach(function (key) {
      var el = document.getElementById("chart-" + key);
      if (el) { draw(el, key, data[key], data.names[key], data.total); }
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
