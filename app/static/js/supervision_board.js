/* 督查总览 charts (ECharts). The figures come from the JSON block #board-data; every bar and
   slice opens the filtered list behind it, like the numbers in the tables. No inline code. */
(function () {
  "use strict";
  var LIGHT_COLORS = { green: "#3c9d4e", yellow: "#e6a700", red: "#d9534f" };
  var SEVERITY_COLORS = { "一般": "#7aa6c2", "较重": "#f0ad4e", "严重": "#d9534f" };
  var charts = [];

  function readData() {
    var el = document.getElementById("board-data");
    if (!el) { return null; }
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  function open(url) { if (url) { window.location.href = url; } }

  function empty(el, text) {
    el.innerHTML = "";
    var p = document.createElement("p");
    p.className = "text-muted sv-chart-empty";
    p.textContent = text;
    el.appendChild(p);
  }

  function lightsChart(el, data) {
    var total = data.lights.reduce(function (s, x) { return s + x.value; }, 0);
    if (!total) { empty(el, "暂无在办事项。"); return; }
    var chart = echarts.init(el);
    chart.setOption({
      animation: false,
      tooltip: { trigger: "item", formatter: "{b}：{c} 项（{d}%）" },
      legend: { bottom: 0 },
      series: [{
        type: "pie", radius: ["35%", "65%"], center: ["50%", "45%"],
        label: { formatter: "{b}\n{c} 项" },
        data: data.lights.map(function (x) {
          return { name: x.name, value: x.value, url: x.url, itemStyle: { color: LIGHT_COLORS[x.light] } };
        })
      }]
    });
    chart.on("click", function (p) { open(p.data && p.data.url); });
    charts.push(chart);
  }

  function barChart(el, names, series, colors, stacked, emptyText) {
    if (!names.length) { empty(el, emptyText); return; }
    var chart = echarts.init(el);
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 16, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: names, axisLabel: { interval: 0, rotate: names.length > 6 ? 30 : 0,
                                                         formatter: function (v) { return v.length > 8 ? v.slice(0, 8) + "…" : v; } } },
      yAxis: { type: "value", minInterval: 1 },
      series: series.map(function (s) {
        return {
          name: s.name, type: "bar", stack: stacked ? "total" : undefined, barMaxWidth: 36,
          itemStyle: { color: colors[s.key] },
          data: s.values.map(function (v, i) { return { value: v, url: s.urls[i] }; })
        };
      })
    });
    chart.on("click", function (p) { open(p.data && p.data.url); });
    charts.push(chart);
  }

  function init() {
    var data = readData();
    if (!data || typeof echarts === "undefined") { return; }
    var lights = document.getElementById("chart-lights");
    if (lights) { lightsChart(lights, data); }
    var units = document.getElementById("chart-units");
    if (units) {
      barChart(units, data.units.names, data.units.series, { open: "#5b8db8", red: "#d9534f" }, false, "暂无下级单位。");
    }
    var findings = document.getElementById("chart-findings");
    if (findings) {
      barChart(findings, data.findings.categories, data.findings.series, SEVERITY_COLORS, true, "暂无发现问题。");
    }
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
