/* 特写 charts (ECharts): the five dimensions against the peer average (radar) and every period's
   composite and rater-group scores (trend). The data comes from the JSON block #profile-data,
   so the page carries no inline code. In compare mode every cadre is one overlaid series. */
(function () {
  "use strict";
  var PALETTE = ["#c23531", "#2f4554", "#61a0a8", "#d48265", "#91c7ae", "#749f83", "#ca8622"];
  var charts = [];

  function readData() {
    var el = document.getElementById("profile-data");
    if (!el) { return null; }
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  function unique(list) {
    var out = [];
    list.forEach(function (x) { if (out.indexOf(x) < 0) { out.push(x); } });
    return out;
  }

  function fixed(v) { return v === null || v === undefined ? "—" : Number(v).toFixed(2); }

  function radarFloor(values) {
    var present = values.filter(function (v) { return v !== null && v !== undefined; });
    if (!present.length) { return 0; }
    var low = Math.min.apply(null, present);
    return Math.max(0, Math.floor((low - 10) / 10) * 10);
  }

  function radarOption(data) {
    var names = unique([].concat.apply([], data.series.map(function (s) {
      return s.dimensions.map(function (d) { return d.name; });
    })));
    var series = [];
    var all = [];
    function valuesOf(s, key) {
      return names.map(function (n) {
        var d = s.dimensions.filter(function (x) { return x.name === n; })[0];
        var v = d ? d[key] : null;
        all.push(v);
        return v === null || v === undefined ? 0 : v;
      });
    }
    data.series.forEach(function (s, i) {
      series.push({ name: s.name, value: valuesOf(s, "score"), itemStyle: { color: PALETTE[i % PALETTE.length] },
                    areaStyle: { opacity: data.mode === "profile" ? 0.25 : 0.08 } });
    });
    if (data.mode === "profile" && data.series.length) {
      series.push({ name: "同类平均", value: valuesOf(data.series[0], "peer_avg"),
                    itemStyle: { color: "#888" }, lineStyle: { type: "dashed" } });
    }
    var floor = radarFloor(all);
    return {
      animation: false,
      title: { text: "各维度得分", left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "item" },
      legend: { bottom: 0, data: series.map(function (s) { return s.name; }) },
      radar: { center: ["50%", "52%"], radius: "62%", splitNumber: 4,
               indicator: names.map(function (n) { return { name: n, min: floor, max: 100 }; }) },
      series: [{ type: "radar", symbolSize: 5, data: series }]
    };
  }

  function trendOption(data) {
    // Periods ordered by end date across all cadres (compare mode may mix histories).
    var points = [];
    data.series.forEach(function (s) { s.trend.forEach(function (t) { points.push(t); }); });
    points.sort(function (a, b) { return a.end < b.end ? -1 : a.end > b.end ? 1 : 0; });
    var periods = unique(points.map(function (t) { return t.period; }));
    function at(s, pick) {
      return periods.map(function (p) {
        var t = s.trend.filter(function (x) { return x.period === p; })[0];
        var v = t ? pick(t) : null;
        return v === undefined ? null : v;
      });
    }
    var series = [];
    data.series.forEach(function (s, i) {
      var profile = data.mode === "profile";
      // One line: every point labelled. Overlaid lines: only each line's last point, so labels do not collide.
      series.push({ name: profile ? "综合得分" : s.name, type: "line", connectNulls: true,
                    symbolSize: 7, lineStyle: { width: 3 }, itemStyle: { color: PALETTE[i % PALETTE.length] },
                    label: { show: profile, formatter: function (p) { return fixed(p.value); } },
                    endLabel: { show: !profile, formatter: function (p) { return fixed(p.value); } },
                    data: at(s, function (t) { return t.composite; }) });
    });
    if (data.mode === "profile" && data.series.length) {
      var s0 = data.series[0];
      s0.groups.forEach(function (g, j) {
        series.push({ name: g, type: "line", connectNulls: true, symbolSize: 4,
                      lineStyle: { type: "dashed", width: 1.5 }, itemStyle: { color: PALETTE[(j + 2) % PALETTE.length] },
                      data: at(s0, function (t) { return t.groups[g]; }) });
      });
    }
    var values = [].concat.apply([], series.map(function (s) { return s.data; }));
    return {
      animation: false,
      title: { text: "历次考评走势", left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis", valueFormatter: fixed },
      legend: { bottom: 0, type: "scroll" },
      grid: { left: 48, right: data.mode === "profile" ? 24 : 56, top: 40, bottom: 56 },
      xAxis: { type: "category", data: periods, axisLabel: { interval: 0, hideOverlap: true } },
      yAxis: { type: "value", min: radarFloor(values), max: 100, name: "分" },
      series: series
    };
  }

  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) { return; }
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    charts.push(chart);
  }

  function resizeAll() { charts.forEach(function (c) { c.resize(); }); }

  function init() {
    var data = readData();
    if (data && data.series && data.series.length) {
      draw("radar-chart", radarOption(data));
      draw("trend-chart", trendOption(data));
    }
    window.addEventListener("resize", resizeAll);
    window.addEventListener("beforeprint", resizeAll);
    if (window.matchMedia) {
      var mq = window.matchMedia("print");
      if (mq.addEventListener) { mq.addEventListener("change", resizeAll); }
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-action=print]"), function (btn) {
      btn.addEventListener("click", function () { window.print(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
