"""The performance targets of the city-scale issue, checked against a measurement report,
and the report as a readable table (Chinese/English)."""

from __future__ import annotations

COMPUTE_MAX_RATIO = 2.0
PAGE_P50_MS = 40
PAGE_P95_MS = 80
PAGE_MAX_QUERIES = 15
# Pages with targets of their own (issues 15, 16): (key, level) -> (p50 ms, p95 ms). The structure
# analysis aggregates every member of the subtree: 300,000 for the city.
PAGE_TARGETS = {("party_structure", "city"): (200, 400), ("party_structure", "county"): (60, 120),
                ("party_structure_json", "city"): (200, 400), ("party_structure_json", "county"): (60, 120),
                # a whole year of the city's (or county's) appeal figures (issue 15)
                ("appeal_figures", "city"): (300, 600), ("appeal_figures", "county"): (300, 600)}
FIGURES_MS = 300
HOTLINE_IMPORT_S = 10
PAGE_MAX_BYTES = 200 * 1024
MIN_RPS = {"cadre_list": 40, "profile": 60}
WORKER_MAX_RSS_MB = 300


def _check(name: str, ok: bool | None, value, target: str) -> dict:
    verdict = "n/a" if ok is None else ("PASS" if ok else "FAIL")
    return {"check": name, "value": value, "target": target, "result": verdict}


def evaluate(report: dict, baseline: dict | None = None) -> list[dict]:
    """One PASS/FAIL/n/a line per target."""
    checks = []
    c = report.get("compute")
    if c:
        checks.append(_check("compute ≤ 2× floor 计算/下限", c["ratio"] is not None and c["ratio"] <= COMPUTE_MAX_RATIO,
                             f"{c['compute_s']:.2f}s / {c['floor_s']:.2f}s = {c['ratio']}×", f"≤ {COMPUTE_MAX_RATIO}×"))
    base_queries = {(p["key"], p["level"]): p.get("queries") for p in (baseline or {}).get("pages", [])}
    for p in report.get("pages", []):
        name = f"{p['key']} [{p['level']}]"
        if p.get("status") != 200:
            checks.append(_check(f"{name} page 页面", None if p.get("status") == "not available" else False,
                                 p.get("status"), "200"))
            continue
        p50, p95 = PAGE_TARGETS.get((p["key"], p["level"]), (PAGE_P50_MS, PAGE_P95_MS))
        checks.append(_check(f"{name} p50", p["p50_ms"] <= p50, f"{p['p50_ms']} ms", f"≤ {p50} ms"))
        checks.append(_check(f"{name} p95", p["p95_ms"] <= p95, f"{p['p95_ms']} ms", f"≤ {p95} ms"))
        checks.append(_check(f"{name} SQL/请求", p["queries"] <= PAGE_MAX_QUERIES, p["queries"],
                             f"≤ {PAGE_MAX_QUERIES}"))
        checks.append(_check(f"{name} HTML", p["html_bytes"] <= PAGE_MAX_BYTES, f"{p['html_bytes'] / 1024:.0f} KB",
                             "≤ 200 KB"))
        if baseline is not None:
            before = base_queries.get((p["key"], p["level"]))
            checks.append(_check(f"{name} SQL same at small N 小规模相同", None if before is None else before == p["queries"],
                                 f"{before} → {p['queries']}", "equal"))
    if baseline is not None and c and (baseline.get("compute") or {}).get("statements") is not None:
        before = baseline["compute"]["statements"]
        checks.append(_check("compute statements same at small N 计算语句数", before == c["statements"],
                             f"{before} → {c['statements']}", "equal"))
    for t in report.get("throughput", []):
        target = MIN_RPS.get(t["key"])
        if "rps" not in t:
            checks.append(_check(f"{t['key']} req/s", None, t.get("status"), f"≥ {target}"))
            continue
        ok = t["rps"] >= target and t["ok"] == t["requests"]
        checks.append(_check(f"{t['key']} req/s 吞吐", ok, f"{t['rps']} ({t['ok']}/{t['requests']} ok)", f"≥ {target}"))
    appeals = report.get("appeals") or {}
    for f in appeals.get("figures", []):
        checks.append(_check(f"appeal figures service [{f['level']}] 诉求统计（一年）", f["p50_ms"] <= FIGURES_MS,
                             f"{f['p50_ms']} ms, {f['queries']} SQL", f"≤ {FIGURES_MS} ms"))
    h = appeals.get("hotline_import")
    if h:
        checks.append(_check(f"12345 import {h['rows']:,} rows 工单导入", h["seconds"] <= HOTLINE_IMPORT_S
                             and h["created"] == h["rows"], f"{h['seconds']} s, {h['statements']} SQL",
                             f"≤ {HOTLINE_IMPORT_S} s"))
    m = report.get("memory")
    if m:
        checks.append(_check("gunicorn worker RSS 内存", m["max_mb"] is not None and m["max_mb"] < WORKER_MAX_RSS_MB,
                             f"{m['worker_rss_mb']} MB", f"< {WORKER_MAX_RSS_MB} MB"))
    return checks


def render_table(report: dict) -> str:
    meta = report["meta"]
    lines = [
        f"压测 benchmark — {meta['database']}，干部 {meta['cadres']:,} 人，{meta['period']} 评分表 "
        f"{meta['period_sheets']:,} 张（分值共 {meta['all_sheet_values']:,} 行），督查事项 {meta['tasks']:,}，"
        f"问题 {meta['findings']:,}，诉求 {meta.get('appeals', 0):,}；{meta['machine']['nproc']} 核 {meta['machine']['ram_gb']} GB {meta['machine']['cpu']}，"
        f"load {meta['machine'].get('load_average')}",
    ]
    c = report.get("compute")
    if c:
        lines.append(f"计算 compute {c['compute_s']:.2f}s（{c['statements']} 条 SQL）；下限 floor GROUP BY "
                     f"{c['floor_s']:.2f}s；比值 ratio {c['ratio']}×")
    lines.append("")
    lines.append(f"{'页面 page':<44}{'级别':<8}{'状态':>8}{'p50 ms':>9}{'p95 ms':>9}{'SQL':>5}{'KB':>7}")
    for p in report.get("pages", []):
        if p.get("status") == "not available":
            lines.append(f"{p['label']:<44}{p['level']:<8}{'not available (screen not built)':>38}")
            continue
        if "p50_ms" not in p:
            lines.append(f"{p['label']:<44}{p['level']:<8}{str(p.get('status')):>8}")
            continue
        lines.append(f"{p['label']:<44}{p['level']:<8}{str(p['status']):>8}{p['p50_ms']:>9}{p['p95_ms']:>9}"
                     f"{p['queries']:>5}{p['html_bytes'] / 1024:>7.0f}")
    for t in report.get("throughput", []):
        if "rps" in t:
            lines.append(f"gunicorn -w 2, 8 连接 {t['key']}: {t['rps']} req/s（{t['ok']}/{t['requests']} 成功，"
                         f"{t['seconds']}s，p50 {t['p50_ms']} ms）")
        else:
            lines.append(f"gunicorn {t['key']}: {t.get('status')}")
    if report.get("memory"):
        lines.append(f"gunicorn worker RSS: {report['memory']['worker_rss_mb']} MB")
    appeals = report.get("appeals") or {}
    for f in appeals.get("figures", []):
        lines.append(f"诉求统计服务 figures [{f['level']}] {f['unit']}：一年受理 {f['received']:,} 件，p50 {f['p50_ms']} ms，"
                     f"最慢 {f['max_ms']} ms，{f['queries']} 条 SQL")
    if appeals.get("hotline_import"):
        h = appeals["hotline_import"]
        lines.append(f"12345 工单导入 hotline import：{h['rows']:,} 行，{h['seconds']} 秒，{h['statements']} 条 SQL")
    for f in (report.get("party") or {}).get("structure", []):
        lines.append(f"党员结构分析 structure [{f['level']}] {f['unit']}：{f['members']:,} 名党员；"
                     f"新日期（全部重算）p50 {f['new_day_p50_ms']} ms，已存日期 p50 {f['kept_p50_ms']} ms，"
                     f"改动一名党员后 p50 {f['after_change_p50_ms']} ms")
    lines.append("")
    for ch in report.get("checks", []):
        lines.append(f"{ch['result']:<5} {ch['check']:<46} {str(ch['value']):<28} 目标 target {ch['target']}")
    return "\n".join(lines)
