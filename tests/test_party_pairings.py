"""支部联支部 (issue 16): pairings of two branches with a start date and an activity log; scope
(either branch's unit subtree sees it, anyone else 404), refusals in Chinese, audit, screens."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.core.errors import Conflict, DomainError, NotFound
from app.extensions import db
from app.models import AppUser, AuditLog, Pairing, PairingActivity
from app.party import pairings as P
from tests.conftest import login


def U(name: str) -> AppUser:
    return db.session.scalar(select(AppUser).where(AppUser.username == name))


@pytest.fixture(scope="module")
def pairing_id(app):
    """The city organ's branch (市委组织部) paired with a village branch of 光山县."""
    with app.app_context():
        return P.create_pairing("PXYD01", "PXY04T02V01", dt.date.today() - dt.timedelta(days=90),
                                "共建共促", user=U("kpy_city")).id


def test_a_pairing_is_seen_by_either_sides_subtree_only(app, ctx, pairing_id):
    assert P.get_pairing(pairing_id, U("llr_city_d01")).id == pairing_id  # the city organ's side
    assert P.get_pairing(pairing_id, U("ld_guangshan")).id == pairing_id  # the village's county
    with pytest.raises(NotFound):
        P.get_pairing(pairing_id, U("ld_luoshan"))  # another county
    assert pairing_id not in {p.id for p in P.list_pairings(U("ld_luoshan"))}
    assert pairing_id in {p.id for p in P.list_pairings(U("ld_guangshan"))}


@pytest.mark.parametrize("a, b, started, words", [
    ("PXYD01", "PXY04T02V01", None, "已经结对"),
    ("PXY04T02V01", "PXYD01", None, "已经结对"),  # the same pair named the other way round
    ("PXY04T03V01", "PXY04T03V01", None, "不能与本支部结对"),
    ("PXY04", "PXY04T03V01", None, "只有党支部可以结对"),  # 光山县委 is a 党委
    ("NOPE", "PXY04T03V01", None, "不存在"),
    ("PXY04T03V01", "PXY04T03V02", "2999-01-01", "不能晚于今天"),
    ("PXY04T03V01", "PXY04T03V02", "昨天", "结对日期"),
])
def test_refusals_in_chinese(app, ctx, pairing_id, a, b, started, words):
    before = db.session.scalar(select(db.func.count()).select_from(Pairing))
    with pytest.raises(DomainError) as exc:
        P.create_pairing(a, b, started or dt.date.today(), user=U("kpy_city"))
    assert words in exc.value.message
    assert db.session.scalar(select(db.func.count()).select_from(Pairing)) == before


def test_a_county_cannot_pair_with_a_branch_outside_its_scope(app, ctx):
    with pytest.raises(DomainError) as exc:
        P.create_pairing("PXY03D01", "PXYD01", dt.date.today(), user=U("kpy_luoshan"))
    assert "不在您的管辖范围内" in exc.value.message
    made = P.create_pairing("PXY03D01", "PXY03T03V02", dt.date.today(), user=U("kpy_luoshan"))
    assert made.unit_a_id == U("llr_luoshan_d01").org_unit_id


def test_the_activity_log(app, ctx, pairing_id):
    pairing = db.session.get(Pairing, pairing_id)
    first = P.add_activity(pairing_id, pairing.started_on + dt.timedelta(days=3), "联合主题党日", "双方党员 20 人",
                           "签订共建协议", user=U("kpy_city"))
    P.add_activity(pairing_id, dt.date.today(), "走访慰问", "机关党员 5 人", None, user=U("kpy_city"))
    with pytest.raises(DomainError) as exc:
        P.add_activity(pairing_id, pairing.started_on - dt.timedelta(days=1), "", "", user=U("kpy_city"))
    assert "早于结对日期" in exc.value.message and "活动主题" in exc.value.message and "参加人员" in exc.value.message
    db.session.expire_all()
    topics = [a.topic for a in db.session.get(Pairing, pairing_id).activities]
    assert topics == ["走访慰问", "联合主题党日"]  # newest first
    P.delete_activity(pairing_id, first.id, user=U("kpy_city"))
    assert db.session.get(PairingActivity, first.id) is None
    with pytest.raises(NotFound):  # another county's user reaches nothing of it
        P.add_activity(pairing_id, dt.date.today(), "x", "y", user=U("kpy_luoshan"))
    audited = {a.table_name for a in db.session.scalars(select(AuditLog).where(
        AuditLog.table_name.in_(("party_pairing", "party_pairing_activity"))))}
    assert audited == {"party_pairing", "party_pairing_activity"}


def test_a_stale_edit_is_a_chinese_409(app, ctx, pairing_id):
    version = db.session.get(Pairing, pairing_id).version
    P.update_pairing(pairing_id, user=U("kpy_city"), goal="新的结对内容", expected_version=version)
    with pytest.raises(Conflict) as exc:
        P.update_pairing(pairing_id, user=U("kpy_city"), active=False, expected_version=version)
    assert "已被他人修改" in exc.value.message
    assert db.session.get(Pairing, pairing_id).active is True


def test_the_screens(app, pairing_id):
    c = app.test_client()
    login(c, "ld_guangshan")
    html = c.get("/party/pairings/list/").get_data(as_text=True)
    assert "支部联支部" in html and "市委组织部机关党支部" in html
    assert c.get(f"/party/pairings/{pairing_id}").status_code == 200
    assert c.post(f"/party/pairings/{pairing_id}/activity", data={"topic": "x"}).status_code in (302, 403)
    with app.app_context():
        assert not db.session.scalar(select(PairingActivity.id).where(PairingActivity.topic == "x"))
    other = app.test_client()
    login(other, "ld_luoshan")
    assert other.get(f"/party/pairings/{pairing_id}").status_code == 404
    staff = app.test_client()
    login(staff, "kpy_city")
    page = staff.post("/party/pairings/add/", data={"branch_a": "PXYD02", "branch_b": "PXYD02", "started_on": "2025-01-01"})
    assert "不能与本支部结对" in page.get_data(as_text=True)
    done = staff.post(f"/party/pairings/{pairing_id}/activity",
                      data={"held_on": dt.date.today().isoformat(), "topic": "党课共上", "participants": "全体党员"})
    assert done.status_code == 302
    assert "党课共上" in staff.get(f"/party/pairings/{pairing_id}").get_data(as_text=True)
