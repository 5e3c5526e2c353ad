"""诉求办理实绩 (督考一体, PLATFORM.md §2) as `eval compute`, the result's trace and the 特写 read it:
each cadre's own unit's figures over the period, from services.indicator_values (app/appeals/
figures.py: three aggregate queries for every unit at once; an appeal belongs to the unit it
happened in and to every unit it was assigned to; the unit itself, not its subtree).

A unit's figures are kept as a plain tuple in the result's inputs (what the value was computed
from): (受理量, 按时签收, 应签收, 按时答复, 应答复, 满意及基本满意, 回访, 重办次数). The formula is
rules.indicator (through app.evaluation.scoring.appeals_indicator, with the scheme's weights).
"""

from __future__ import annotations

import datetime as dt

FIGURE_LABELS = ("受理量", "按时签收", "应签收（已签收或已超期）", "按时答复", "应答复（已答复或已到期）",
                 "满意及基本满意", "回访", "重办次数")
RATE_LABELS = {"sign": "签收及时率", "reply": "按时答复率", "satisfaction": "满意率"}
EMPTY = (0,) * len(FIGURE_LABELS)


def unit_figures(date_from: dt.date, date_to: dt.date, now: dt.datetime, unit_ids) -> dict[int, tuple]:
    """Unit id -> its figures tuple over appeals received in [date_from, date_to], for the given
    units that had appeals (a unit absent: no appeals, the cadre gets no value)."""
    from app.appeals.figures import indicator_values

    out = {}
    for unit_id, f in indicator_values([u for u in unit_ids if u is not None], date_from, date_to, now).items():
        if not f["received"]:
            continue
        out[unit_id] = (f["received"], f["sign"]["on_time"], f["sign"]["counted"], f["reply"]["on_time"],
                        f["reply"]["due"], f["satisfaction"]["satisfied"] + f["satisfaction"]["basic"],
                        f["satisfaction"]["callbacks"], f["reopen"]["reopens"])
    return out


def rate_terms(figures) -> list[tuple[str, str, int, int]]:
    """(key, label, numerator, denominator) of the three rates of a figures tuple."""
    f = tuple(figures or EMPTY)
    return [("sign", RATE_LABELS["sign"], f[1], f[2]), ("reply", RATE_LABELS["reply"], f[3], f[4]),
            ("satisfaction", RATE_LABELS["satisfaction"], f[5], f[6])]


def rates(figures) -> tuple[float | None, float | None, float | None, int]:
    """(签收及时率, 按时答复率, 满意率, 重办次数) of a figures tuple; a rate with nothing to count is None."""
    sign, reply, satisfaction = (num / den if den else None for _k, _l, num, den in rate_terms(figures))
    return sign, reply, satisfaction, int(tuple(figures or EMPTY)[7])


def summary(figures) -> str:
    """One line for the 特写: the unit's figures behind 诉求办理实绩."""
    if not figures:
        return "本单位考评期内无诉求，诉求办理实绩缺失（权重在其余部分间重新分配）"
    parts = [f"本单位受理 {figures[0]} 件"]
    for _key, label, num, den in rate_terms(figures):
        parts.append(f"{label} {num * 100 / den:.1f}%（{num}/{den}）" if den else f"{label} —")
    parts.append(f"重办 {figures[7]} 次")
    return "，".join(parts)
