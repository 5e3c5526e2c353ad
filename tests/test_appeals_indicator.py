"""诉求办理实绩 (督考一体, PLATFORM.md §2): the `appeals` indicator source of a scheme — its
settings and their checks, the formula and its clamp, and `eval compute` against hand-computed
cases (a unit with appeals, a unit without: missing and renormalized, a unit clamped to 0),
shown in the results, the trace and the 特写."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from app.core.commands import command
from app.core.errors import ImportRejected
from app.evaluation import scoring
from app.evaluation.compute import compute
from app.evaluation.periods import create_period, import_scheme, scheme_rules, transition
from app.evaluation.trace import trace
from app.extensions import db
from app.models import (
    Appeal,
    AppealAssignment,
    AppealCallback,
    Cadre,
    EvaluationResult,
    OrgUnit,
)
from tests.test_eval_services import fill, scheme_json

NAME = "诉求办理实绩"


def appeals_scheme(name: str, **settings) -> dict:
    data = scheme_json(name)
    data["indicators"] = [{"name": "项目建设实绩", "weight": 0.2, "source": "entered"},
                          {"name": NAME, "weight": 0.2, "source": "appeals"}]
    if settings:
        data["appeals_settings"] = settings
    return data


# ---------------------------------------------------------------- the formula (pure)


def test_formula_by_hand():
    # 100·(0.3·0.8 + 0.4·0.9 + 0.3·0.75) − 2·1 = 82.5 − 2
    assert scoring.appeals_indicator(0.8, 0.9, 0.75, 1) == pytest.approx(80.5)
    # weights and penalty are the scheme's
    settings = scoring.AppealsSettings(sign=0.5, reply=0.5, satisfaction=0.0, reopen=5)
    assert scoring.appeals_indicator(0.6, 1.0, 0.0, 2, settings) == pytest.approx(70.0)


def test_formula_clamps_to_0_and_100():
    assert scoring.appeals_indicator(0.1, 0.0, 0.0, 10) == 0.0  # 3 − 20
    assert scoring.appeals_indicator(1.0, 1.0, 1.0, 0) == 100.0
    assert scoring.appeals_indicator(1.0, 1.0, 1.0, 0, scoring.AppealsSettings(reopen=0)) == 100.0


def test_a_rate_with_nothing_to_count_is_left_out():
    # no assignment signed or overdue: 按时答复率 and 满意率 renormalized over 0.4 + 0.3
    assert scoring.appeals_indicator(None, 1.0, 0.5, 0) == pytest.approx(100 * (0.4 + 0.15) / 0.7)
    assert scoring.appeals_indicator(None, None, None, 3) is None


# ---------------------------------------------------------------- the settings and their checks


def test_settings_round_trip_and_defaults():
    rules = scoring.SchemeRules.from_json(appeals_scheme("x", sign=0.2, reply=0.5, satisfaction=0.3, reopen=1.5))
    assert rules.appeals == scoring.AppealsSettings(0.2, 0.5, 0.3, 1.5)
    assert rules.to_json()["appeals_settings"] == {"sign": 0.2, "reply": 0.5, "satisfaction": 0.3, "reopen": 1.5}
    assert scoring.SchemeRules.from_json(appeals_scheme("y")).appeals == scoring.AppealsSettings(0.3, 0.4, 0.3, 2)
    assert scoring.validate_scheme(rules) == []


@pytest.mark.parametrize("settings, message", [
    ({"sign": 0.5, "reply": 0.4, "satisfaction": 0.3}, "三项权重（签收及时率、按时答复率、满意率）之和应为1，当前为1.2"),
    ({"sign": 1.2, "reply": -0.5, "satisfaction": 0.3}, "诉求办理实绩的按时答复率权重应在0到1之间"),
    ({"reopen": -1}, "诉求办理实绩的每件重办扣分不能为负数"),
])
def test_settings_are_checked_in_chinese(settings, message):
    rules = scoring.SchemeRules.from_json(appeals_scheme("x", **settings))
    errors = scoring.validate_scheme(rules)
    assert any(message in e for e in errors), errors


def test_unknown_setting_and_two_appeals_indicators_are_refused(ctx):
    with pytest.raises(ImportRejected) as refused:
        import_scheme(appeals_scheme("坏方案" + uuid.uuid4().hex[:6], bonus=3), user=None)
    assert "未知的诉求办理实绩设置项 bonus" in refused.value.message
    data = appeals_scheme("坏方案" + uuid.uuid4().hex[:6])
    data["indicators"] = [{"name": "甲", "weight": 0.2, "source": "appeals"}, {"name": "乙", "weight": 0.2,
                                                                                "source": "appeals"}]
    with pytest.raises(ImportRejected) as refused:
        import_scheme(data, user=None)
    assert "诉求办理实绩指标最多只能有一个" in refused.value.message


def test_settings_are_stored_with_the_scheme(ctx):
    scheme, _ = import_scheme(appeals_scheme("存储" + uuid.uuid4().hex[:6], sign=0.25, reply=0.5, satisfaction=0.25,
                                             reopen=4), user=None)
    assert (scheme.appeal_weight_sign, scheme.appeal_weight_reply, scheme.appeal_weight_satisfaction,
            scheme.appeal_penalty_reopen) == (0.25, 0.5, 0.25, 4)
    assert scheme_rules(scheme).appeals == scoring.AppealsSettings(0.25, 0.5, 0.25, 4)


# ---------------------------------------------------------------- eval compute, by hand


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _appeal(unit: OrgUnit, received: str, deadline: str, replied: str | None = None, state="closed",
            reopen=0) -> Appeal:
    tag = uuid.uuid4().hex[:10]
    appeal = Appeal(number=f"SQ-T-{tag}", source="网格上报", received_at=_at(received), content="测试诉求",
                    occurred_unit_id=unit.id, urgency="一般", state=state, handler_unit_id=unit.id,
                    reviewer_kind="township", reviewer_unit_id=unit.parent_id, reply_deadline=_at(deadline),
                    replied_at=_at(replied) if replied else None, reopen_count=reopen, created_at=_at(received),
                    updated_at=_at(received))
    db.session.add(appeal)
    db.session.flush()
    return appeal


def _assignment(appeal: Appeal, unit: OrgUnit, assigned: str, deadline: str, signed: str | None) -> None:
    db.session.add(AppealAssignment(appeal_id=appeal.id, org_unit_id=unit.id, role="single", kind="escalate",
                                    appeal_received_at=appeal.received_at, assigned_at=_at(assigned),
                                    sign_deadline=_at(deadline),
                                    signed_at=_at(signed) if signed else None, state="signed" if signed else "pending"))


def _callback(appeal: Appeal, result: str, at: str) -> None:
    """A call-back, kept on the appeal as the services keep it (last result and counts)."""
    db.session.add(AppealCallback(appeal_id=appeal.id, result=result, at=_at(at)))
    appeal.callback_result = result
    appeal.callback_count = (appeal.callback_count or 0) + 1
    appeal.satisfied_count = (appeal.satisfied_count or 0) + (result == "满意")
    appeal.basic_count = (appeal.basic_count or 0) + (result == "基本满意")


@pytest.fixture(scope="module")
def case(app):
    """Three villages of 罗山县 with a cadre each: A with appeals (hand-computed below), B without
    any, C clamped to 0; and A's township (its villages' appeals are not its own)."""
    with app.app_context():
        villages = db.session.execute(
            select(OrgUnit, Cadre).join(Cadre, Cadre.org_unit_id == OrgUnit.id)
            .where(OrgUnit.kind == "village", OrgUnit.code.startswith("XY03")).order_by(OrgUnit.code, Cadre.code)
        ).all()
        picked: dict[int, tuple] = {}
        for unit, cadre in villages:
            picked.setdefault(unit.id, (unit, cadre))
        (a, ca), (b, cb), (c, cc) = list(picked.values())[:3]
        township = db.session.get(OrgUnit, a.parent_id)
        ct = db.session.scalar(select(Cadre).where(Cadre.org_unit_id == township.id).order_by(Cadre.code))
        with command(None):
            # A: four appeals received in 2024 (and one in 2023, outside the period)
            a1 = _appeal(a, "2024-03-01 08:00", "2024-03-10 23:59:59", "2024-03-09 10:00")
            _assignment(a1, a, "2024-03-01 09:00", "2024-03-02 09:00", "2024-03-01 10:00")  # signed on time
            _callback(a1, "满意", "2024-03-12 10:00")
            a2 = _appeal(a, "2024-04-01 08:00", "2024-04-10 23:59:59", "2024-04-12 10:00", reopen=1)  # replied late
            _assignment(a2, a, "2024-04-01 09:00", "2024-04-02 09:00", "2024-04-03 09:00")  # signed late
            _callback(a2, "不满意", "2024-04-13 10:00")
            _callback(a2, "基本满意", "2024-04-20 10:00")
            a3 = _appeal(a, "2024-05-01 08:00", "2024-05-10 23:59:59", None, state="to_sign")  # unreplied, due
            _assignment(a3, a, "2024-05-01 09:00", "2024-05-02 09:00", None)  # overdue unsigned
            _appeal(a, "2024-06-01 08:00", "2024-06-10 23:59:59", None, state="merged")  # counts as received only
            _appeal(a, "2023-12-31 08:00", "2024-01-09 23:59:59", "2024-01-02 10:00")  # before the period
            # C: one appeal reopened three times and never replied again: 100·0 − 2·3 → 0
            _appeal(c, "2024-07-01 08:00", "2024-07-10 23:59:59", None, state="handling", reopen=3)
        tag = uuid.uuid4().hex[:8]
        scheme, _ = import_scheme(appeals_scheme(f"诉求方案{tag}"), user=None)
        period = create_period(f"A-{tag}", f"诉求测试期{tag}", "专项", scheme.name, "2024-01-01", "2024-12-31", user=None)
        transition(period.code, "open", user=None)
        fill(period, [ca, cb, cc, ct])
        compute(period.code)
        results = {cid: rid for cid, rid in db.session.execute(
            select(EvaluationResult.cadre_id, EvaluationResult.id).where(EvaluationResult.period_id == period.id))}
        return {"a": ca.id, "b": cb.id, "c": cc.id, "township": ct.id if ct else None, "results": results,
                "period": period.code}


def _result(case, key) -> EvaluationResult:
    return db.session.get(EvaluationResult, case["results"][case[key]])


# A: received 4; 签收 1 on time of 3 counted (a1 on time, a2 late, a3 overdue); 答复 1 on time
# of 3 due (the merged one is not due); 满意 + 基本满意 2 of 3 call-backs; 重办 1.
# 100·(0.3·1/3 + 0.4·1/3 + 0.3·2/3) − 2·1 = 43.333… − 2 = 41.333…
EXPECTED_A = 100 * (0.3 / 3 + 0.4 / 3 + 0.3 * 2 / 3) - 2


def test_a_unit_with_appeals_gets_the_hand_computed_value(ctx, case):
    result = _result(case, "a")
    assert result.indicator_scores[NAME] == pytest.approx(EXPECTED_A, abs=1e-6)
    assert result.inputs["appeals"] == [4, 1, 3, 1, 3, 2, 3, 1]
    assert "缺指标" not in (result.flags or "")


def test_a_unit_without_appeals_gives_no_value_and_renormalizes(ctx, case):
    result = _result(case, "b")
    assert result.indicator_scores.get(NAME) is None
    assert f"缺指标：{NAME}" in result.flags
    assert result.inputs["appeals"] == []
    # C0 = (0.6·T + 0.2·项目建设实绩) / 0.8
    project = result.indicator_scores["项目建设实绩"]
    assert result.composite_raw == pytest.approx((0.6 * result.sanping + 0.2 * project) / 0.8, abs=1e-6)


def test_the_value_is_clamped_at_zero(ctx, case):
    result = _result(case, "c")
    assert result.indicator_scores[NAME] == 0.0
    assert result.inputs["appeals"] == [1, 0, 0, 0, 1, 0, 0, 3]


def test_the_own_unit_counts_not_its_subtree(ctx, case):
    if case["township"] is None:
        pytest.fail("the demo township has no cadre")
    result = _result(case, "township")
    assert result.indicator_scores.get(NAME) is None  # its villages' appeals are theirs


def test_the_trace_shows_the_figures_and_the_arithmetic(ctx, case):
    t = trace(case["results"][case["a"]])
    lines = {line["item"]: line["count"] for line in t["appeals"]}
    assert lines["受理量"] == 4 and lines["应签收（已签收或已超期）"] == 3 and lines["重办次数"] == 1
    assert lines["满意率"] == "66.67%"
    step = next(s for s in t["steps"] if s["label"] == f"实绩指标 I[{NAME}]")
    assert "0.3×1/3（签收及时率）" in step["formula"] and "0.4×1/3（按时答复率）" in step["formula"]
    assert "2×1（重办次数）" in step["formula"] and step["value"] == "41.33"
    assert all(c["matches"] for c in t["checks"] if c["item"].startswith("诉求·"))
    empty = trace(case["results"][case["b"]])
    assert empty["appeals"] == []
    step = next(s for s in empty["steps"] if s["label"] == f"实绩指标 I[{NAME}]")
    assert "无诉求" in step["formula"] and step["value"] == "缺"


def test_the_trace_notices_a_changed_figure(ctx, case):
    a = db.session.get(Cadre, case["a"])
    with command(None):
        _appeal(db.session.get(OrgUnit, a.org_unit_id), "2024-08-01 08:00", "2024-08-10 23:59:59", "2024-08-02 08:00")
    t = trace(case["results"][case["a"]])
    changed = [c for c in t["checks"] if c["item"].startswith("诉求·") and not c["matches"]]
    assert [c["item"] for c in changed] == ["诉求·受理量", "诉求·应答复（已答复或已到期）", "诉求·按时答复"] or \
        {c["item"] for c in changed} == {"诉求·受理量", "诉求·应答复（已答复或已到期）", "诉求·按时答复"}


def test_the_profile_shows_the_figures(ctx, case):
    from app.profile.assemble import build_profile

    profile = build_profile(case["a"], user=None, unpublished=True)
    latest = next(h for h in profile["history"] if h["period"]["code"] == case["period"])
    assert latest["appeals"].startswith("本单位受理 4 件，签收及时率 33.3%（1/3）")
    assert "重办 1 次" in latest["appeals"]
    other = build_profile(case["b"], user=None, unpublished=True)
    latest = next(h for h in other["history"] if h["period"]["code"] == case["period"])
    assert "无诉求" in latest["appeals"]
