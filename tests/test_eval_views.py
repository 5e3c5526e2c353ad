"""干部考评 screens and the results API: role × screen, scope, entry grid, adjustments, staleness."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Adjustment,
    AppUser,
    AuditLog,
    Cadre,
    EvaluationPeriod,
    EvaluationResult,
    EvaluationScheme,
    OrgUnit,
    ResultUse,
    ScoreSheet,
)
from tests.conftest import PASSWORD, api_token, login
from tests.jobs_support import follow_job

SCREENS = ["/schemes/list/", "/periods/list/", "/entry/list/", "/adjustments/list/", "/results/list/",
           "/resultuses/list/"]
ALLOWED = {
    "kpy_city": set(SCREENS),
    "kpy_luoshan": set(SCREENS),
    "admin": {"/schemes/list/", "/periods/list/", "/results/list/", "/resultuses/list/"},
    "dcy_luoshan": {"/results/list/"},
    "ld_luoshan": {"/results/list/"},
    "llr_luoshan_t01": set(),
}


# --- helpers -------------------------------------------------------------------------

def new_period(app, state: str = "scoring", compute: bool = False) -> dict:
    """A period on a scheme of its own (the demo scheme's layout), moved on to `state`."""
    from app.evaluation import results as eval_results
    from app.evaluation.demo import demo_scheme
    from app.evaluation.periods import create_period, import_scheme, transition

    tag = uuid.uuid4().hex[:8]
    with app.app_context():
        scheme, _ = import_scheme({**demo_scheme(), "name": f"测试方案{tag}"}, user=None)
        period = create_period(f"T-{tag}", f"测试期{tag}", "专项", scheme.name, "2025-01-01", "2025-12-31", user=None)
        transition(period.code, "open", user=None)
        if compute:
            eval_results.compute_period(period.code, user=None)
        for action, _reached in (("lock", "locked"), ("publish", "published")):
            if period.state == state:
                break
            if action == "publish" and period.computed_at is None:
                eval_results.compute_period(period.code, user=None)
            transition(period.code, action, user=None)
        return {
            "id": period.id, "code": period.code,
            "groups": {g.name: g.id for g in scheme.rater_groups},
            "dims": [d.id for d in scheme.dimensions],
            "indicators": {i.name: i.id for i in scheme.indicators},
        }


def cadre_in(app, county: str, offset: int = 0) -> Cadre:
    with app.app_context():
        cadre = db.session.scalar(
            select(Cadre).join(OrgUnit).where(OrgUnit.code.startswith(county)).order_by(Cadre.id).offset(offset)
        )
        db.session.expunge(cadre)
        return cadre


def sheet_url(p: dict, group: str = "组织评价") -> str:
    return f"/entry/sheet/{p['id']}/{p['groups'][group]}"


def sheet_body(p: dict, cadre_id, value=88, **extra) -> dict:
    return {"cadre_id": cadre_id, "values": {str(d): value for d in p["dims"]}, **extra}


def period_state(app, pid) -> str:
    with app.app_context():
        return db.session.get(EvaluationPeriod, pid).state


def demo_period(app, code) -> EvaluationPeriod:
    with app.app_context():
        period = db.session.scalar(select(EvaluationPeriod).where(EvaluationPeriod.code == code))
        db.session.expunge(period)
        return period


def results_in(app, period_code: str, county: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(EvaluationResult)
            .join(Cadre, EvaluationResult.cadre_id == Cadre.id).join(OrgUnit, Cadre.org_unit_id == OrgUnit.id)
            .join(EvaluationPeriod, EvaluationResult.period_id == EvaluationPeriod.id)
            .where(OrgUnit.code.startswith(county), EvaluationPeriod.code == period_code)
        )


# --- role × screen -------------------------------------------------------------------

@pytest.mark.parametrize("user", sorted(ALLOWED))
def test_role_screen_matrix(client, user):
    login(client, user)
    for url in SCREENS:
        status = client.get(url).status_code
        expected = 200 if url in ALLOWED[user] else 403
        assert status == expected, (user, url, status)


def test_admin_unlocks_with_reason_but_enters_no_scores(app, client):
    p = new_period(app, "locked", compute=True)
    cadre = cadre_in(app, "XY03T")
    login(client, "admin")
    assert client.post(sheet_url(p), json=sheet_body(p, cadre.id)).status_code == 403
    client.post(f"/periods/unlock/{p['id']}", data={"reason": ""})
    assert period_state(app, p["id"]) == "locked"
    page = client.post(f"/periods/unlock/{p['id']}", data={"reason": "发现录入错误需更正"}, follow_redirects=True)
    assert "已解锁" in page.get_data(as_text=True)
    assert period_state(app, p["id"]) == "scoring"
    with app.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "unlock", AuditLog.row_id == str(p["id"])))
        assert row is not None and row.username == "admin" and "发现录入错误需更正" in row.new_values


def test_staff_cannot_unlock(app, client):
    p = new_period(app, "locked", compute=True)
    login(client, "kpy_city")
    assert client.post(f"/periods/unlock/{p['id']}", data={"reason": "试图解锁"}).status_code == 403
    assert period_state(app, p["id"]) == "locked"


def test_period_form_and_transition_buttons(app, client):
    login(client, "kpy_city")
    code = "F-" + uuid.uuid4().hex[:6]
    with app.app_context():
        scheme_name = db.session.scalar(select(EvaluationScheme.name).order_by(EvaluationScheme.id))
    bad = client.post("/periods/add/", data={"code": code, "name": "表单期", "kind": "年度", "scheme": scheme_name,
                                             "start": "2025-12-31", "end": "2025-01-01"})
    assert "开始日期不能晚于结束日期" in bad.get_data(as_text=True)
    client.post("/periods/add/", data={"code": code, "name": "表单期", "kind": "年度", "scheme": scheme_name,
                                       "start": "2025-01-01", "end": "2025-12-31"})
    period = demo_period(app, code)
    assert period.state == "draft"
    client.post(f"/periods/transition/{period.id}/open")
    assert period_state(app, period.id) == "scoring"
    page = client.post(f"/periods/transition/{period.id}/publish", follow_redirects=True).get_data(as_text=True)
    assert "不能发布" in page and period_state(app, period.id) == "scoring"


def period_buttons(page: str) -> set[str]:
    """The period actions a periods list offers (POST forms), e.g. {"transition", "compute"}."""
    return set(re.findall(r'action="/periods/(transition|compute|unlock)/', page))


def test_only_city_staff_and_admins_run_periods(app, client):
    """Periods are city-wide: county staff see no 开始评分/计算/锁定/发布 buttons, a forced POST
    is refused in Chinese and changes nothing, and they still enter scores for their cadres."""
    from app.evaluation.periods import create_period

    p = new_period(app)
    with app.app_context():
        scheme = db.session.scalar(select(EvaluationScheme.name).order_by(EvaluationScheme.id))
        draft = create_period("D-" + uuid.uuid4().hex[:8], "县级不能开始的期", "专项", scheme,
                              "2025-01-01", "2025-12-31", user=None).id
    cadre = cadre_in(app, "XY03T", offset=3)
    login(client, "kpy_luoshan")
    page = client.get("/periods/list/").get_data(as_text=True)
    assert period_buttons(page) == set() and "由市级组织部考评员操作" in page
    refused = client.post(f"/periods/transition/{draft}/open", follow_redirects=True).get_data(as_text=True)
    assert "只有市级组织部考评员可以变更考评期状态" in refused
    refused = client.post(f"/periods/transition/{p['id']}/lock", follow_redirects=True).get_data(as_text=True)
    assert "只有市级组织部考评员可以变更考评期状态" in refused
    refused = client.post(f"/periods/compute/{p['id']}", follow_redirects=True).get_data(as_text=True)
    assert "只有市级组织部考评员可以计算考评期结果" in refused
    assert period_state(app, draft) == "draft" and period_state(app, p["id"]) == "scoring"
    with app.app_context():
        assert db.session.get(EvaluationPeriod, p["id"]).computed_at is None
    assert client.post(sheet_url(p), json=sheet_body(p, cadre.id, 86)).status_code == 200  # entry goes on

    login(client, "kpy_city")
    page = client.get("/periods/list/").get_data(as_text=True)
    assert period_buttons(page) == {"transition", "compute"} and "由市级组织部考评员操作" not in page
    assert "已计算" in follow_job(client, app, client.post(f"/periods/compute/{p['id']}"))  # a background job
    client.post(f"/periods/transition/{p['id']}/lock")
    assert period_state(app, p["id"]) == "locked"
    login(client, "admin_luoshan")  # an admin may, whatever the unit
    client.post(f"/periods/transition/{draft}/open")
    assert period_state(app, draft) == "scoring"


def test_the_period_commands_refuse_county_staff_on_any_path(app):
    """The check is in the commands, which take the acting user: county staff are refused on
    any path (screen, API, job); the system (the CLI) runs them."""

    from app.core.errors import Forbidden
    from app.evaluation import periods as evaluation
    from app.evaluation import results as eval_results

    p = new_period(app)
    with app.app_context():
        for username, allowed in (("kpy_luoshan", False), ("kpy_city", True)):
            staff = db.session.scalar(select(AppUser).where(AppUser.username == username))
            if allowed:
                assert evaluation.transition(p["code"], "lock", user=staff).state == "locked"
                continue
            with pytest.raises(Forbidden, match="只有市级组织部考评员可以变更考评期状态"):
                evaluation.transition(p["code"], "lock", user=staff)
            with pytest.raises(Forbidden, match="只有市级组织部考评员可以计算考评期结果"):
                eval_results.compute_period(p["code"], user=staff)
        computed = eval_results.compute_period(p["code"], user=None)["results"]  # the system
        stored = db.session.scalar(select(func.count()).select_from(EvaluationResult)
                                   .where(EvaluationResult.period_id == p["id"]))
        assert computed == stored
        assert evaluation.transition(p["code"], "publish", user=None).state == "published"


def test_county_staff_create_no_period_and_change_no_scheme(app, client):
    """Periods and schemes are city-wide: county staff see no 新建考评周期 button, a forced POST
    (a new period, a scheme upload) is refused in Chinese and creates nothing; city staff may."""
    import io
    import json

    from app.evaluation.demo import demo_scheme

    with app.app_context():
        scheme_name = db.session.scalar(select(EvaluationScheme.name).order_by(EvaluationScheme.id))
    code = "C-" + uuid.uuid4().hex[:6]
    form = {"code": code, "name": "县级新建的期", "kind": "年度", "scheme": scheme_name,
            "start": "2026-01-01", "end": "2026-12-31"}
    scheme = {**demo_scheme(), "name": "县级方案" + uuid.uuid4().hex[:6]}

    def upload():
        return client.post("/schemes/upload/", data={"file": (io.BytesIO(json.dumps(scheme).encode()), "s.json")},
                           content_type="multipart/form-data")

    login(client, "kpy_luoshan")
    assert "新建考评周期" not in client.get("/periods/list/").get_data(as_text=True)
    assert "只有市级组织部考评员可以新建考评期" in client.post("/periods/add/", data=form).get_data(as_text=True)
    assert "只有市级组织部考评员可以新建或修改考评方案" in upload().get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(EvaluationPeriod.id).where(EvaluationPeriod.code == code)) is None
        assert db.session.scalar(select(EvaluationScheme.id).where(EvaluationScheme.name == scheme["name"])) is None
    login(client, "kpy_city")
    assert "新建考评周期" in client.get("/periods/list/").get_data(as_text=True)
    assert client.post("/periods/add/", data=form).status_code == 302
    assert upload().status_code == 302
    with app.app_context():
        assert db.session.scalar(select(EvaluationPeriod.state).where(EvaluationPeriod.code == code)) == "draft"


# --- results: scope and publication ---------------------------------------------------

def test_leaders_and_supervisors_read_only_published_results(app, client):
    unpublished = demo_period(app, "2025-Y")
    with app.app_context():
        hidden = db.session.scalar(
            select(EvaluationResult.id).join(Cadre, EvaluationResult.cadre_id == Cadre.id).join(OrgUnit)
            .where(EvaluationResult.period_id == unpublished.id, OrgUnit.code.startswith("XY03"))
        )
    for user in ("ld_luoshan", "dcy_luoshan"):
        login(client, user)
        body = client.get("/results/list/?period=2025-Y").get_data(as_text=True)
        assert "2025-Y" not in body.split("<table", 2)[-1]
        assert client.get(f"/results/show/{hidden}").status_code == 404
        assert client.get("/results/golden/csv?period=2025-Y").status_code == 404
        listing = client.get("/api/v1/results/?q=(page_size:200)", headers=api_token(client, user)).get_json()
        with app.app_context():  # every published period (other test modules publish their own)
            published = set(db.session.scalars(select(EvaluationPeriod.code).where(EvaluationPeriod.state == "published")))
        assert {"2023-Y", "2024-Y"} <= published and "2025-Y" not in published
        assert listing["count"] == sum(results_in(app, code, "XY03") for code in published)
        assert {item["period"]["code"] for item in listing["result"]} <= published
    login(client, "kpy_luoshan")
    assert client.get(f"/results/show/{hidden}").status_code == 200


def test_county_staff_sees_only_its_county(app, client):
    with app.app_context():
        outside = db.session.scalar(
            select(EvaluationResult.id).join(Cadre, EvaluationResult.cadre_id == Cadre.id).join(OrgUnit)
            .where(OrgUnit.code.startswith("XY04"))
        )
        luoshan_codes = set(db.session.scalars(
            select(Cadre.code).join(OrgUnit).where(OrgUnit.code.startswith("XY03"))
        ))
    login(client, "kpy_luoshan")
    assert client.get(f"/results/show/{outside}").status_code == 404
    listing = client.get("/api/v1/results/?q=(page_size:200)&period=2024-Y",
                         headers=api_token(client, "kpy_luoshan")).get_json()
    assert listing["count"] == results_in(app, "2024-Y", "XY03") > 0
    assert {i["cadre"]["code"] for i in listing["result"]} <= luoshan_codes
    assert client.get(f"/api/v1/results/{outside}", headers=api_token(client, "kpy_luoshan")).status_code == 404
    csv_text = client.get("/results/golden/csv?period=2024-Y").get_data(as_text=True)
    lines = [line for line in csv_text.splitlines()[1:] if line]
    assert lines and {line.split(",")[0] for line in lines} <= luoshan_codes
    assert csv_text.lstrip("\ufeff").startswith("干部编号,姓名,岗位类别,三评得分")
    assert len(lines) == results_in(app, "2024-Y", "XY03")


def test_results_filters_by_county_category_and_grade(app, client):
    login(client, "kpy_city")
    api = api_token(client, "kpy_city")
    listing = client.get("/api/v1/results/?q=(page_size:200)&period=2024-Y&unit=XY04&category=乡镇党政正职",
                         headers=api).get_json()
    assert listing["count"] == 10  # 5 townships × 2 heads in 光山县
    assert {i["cadre"]["post_category"] for i in listing["result"]} == {"乡镇党政正职"}
    good = client.get("/api/v1/results/?q=(page_size:200)&period=2024-Y&grade=优秀", headers=api).get_json()
    assert good["count"] > 0 and {i["grade"] for i in good["result"]} == {"优秀"}
    page = client.get("/results/list/?period=2024-Y&unit=XY04&grade=优秀")
    assert page.status_code == 200 and "/cadre-profile/" in page.get_data(as_text=True)


def test_liaison_has_no_results_api(client):
    headers = api_token(client, "llr_luoshan_t01")
    assert client.get("/api/v1/results/", headers=headers).status_code == 403
    assert client.post("/api/v1/results/", json={}, headers=api_token(client, "kpy_city")).status_code in (403, 404,
                                                                                                          405)


# --- the entry grid --------------------------------------------------------------------

def test_grid_save_edit_conflict_and_delete(app, client):
    p = new_period(app)
    cadre = cadre_in(app, "XY03T")
    login(client, "kpy_luoshan")
    page = client.get(f"/entry/grid/{p['id']}/{p['groups']['组织评价']}").get_data(as_text=True)
    assert 'id="grid-config"' in page and 'name="csrf-token"' in page
    created = client.post(sheet_url(p), json=sheet_body(p, cadre.id, 90))
    assert created.status_code == 200, created.get_json()
    row = created.get_json()["row"]
    assert row["version"] == 1 and row["cadre_text"].endswith(f"（{cadre.code}）")
    edited = client.post(sheet_url(p), json=sheet_body(p, cadre.id, 80, id=row["id"], version=1))
    assert edited.status_code == 200 and edited.get_json()["row"]["version"] == 2
    stale = client.post(sheet_url(p), json=sheet_body(p, cadre.id, 70, id=row["id"], version=1))
    assert stale.status_code == 409 and "已被他人修改" in stale.get_json()["message"]
    with app.app_context():
        sheet = db.session.get(ScoreSheet, row["id"])
        assert {s.value for s in sheet.scores} == {80}
    listed = client.get(f"/entry/grid/{p['id']}/{p['groups']['组织评价']}").get_data(as_text=True)
    assert f'"id": {row["id"]}' in listed or f'"id":{row["id"]}' in listed
    assert client.post(f"/entry/sheet_delete/{p['id']}/{p['groups']['组织评价']}",
                       json={"id": row["id"], "version": 1}).status_code == 409
    assert client.post(f"/entry/sheet_delete/{p['id']}/{p['groups']['组织评价']}",
                       json={"id": row["id"], "version": 2}).status_code == 200
    with app.app_context():
        assert db.session.get(ScoreSheet, row["id"]) is None


def test_grid_errors_are_per_field_and_chinese(app, client):
    p = new_period(app)
    inside, outside = cadre_in(app, "XY03T"), cadre_in(app, "XY04T")
    login(client, "kpy_luoshan")
    body = sheet_body(p, inside.id)
    body["values"][str(p["dims"][0])] = "120"
    body["values"][str(p["dims"][1])] = "abc"
    del body["values"][str(p["dims"][2])]
    answer = client.post(sheet_url(p), json=body)
    assert answer.status_code == 400
    errors = answer.get_json()["errors"]
    assert set(errors) == {f"dim_{d}" for d in p["dims"][:3]}
    assert "0–100" in errors[f"dim_{p['dims'][0]}"] and "不是数字" in errors[f"dim_{p['dims'][1]}"]
    out = client.post(sheet_url(p), json=sheet_body(p, outside.id))
    assert out.status_code == 400 and "管辖范围" in out.get_json()["errors"]["cadre"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ScoreSheet).where(ScoreSheet.period_id == p["id"])) == 0


def test_locked_period_refuses_every_input(app, client):
    p = new_period(app, "locked", compute=True)
    cadre = cadre_in(app, "XY03T")
    login(client, "kpy_luoshan")
    answer = client.post(sheet_url(p), json=sheet_body(p, cadre.id))
    assert answer.status_code == 409 and "评分中" in answer.get_json()["message"]
    votes = {"excellent": 10, "competent": 2}
    assert client.post(f"/entry/ballot/{p['id']}/{p['groups']['群众评价']}",
                       json={"cadre_id": cadre.id, "values": votes}).status_code == 409
    assert client.post(f"/entry/indicator/{p['id']}",
                       json={"cadre_id": cadre.id, "values": {"1": 80}}).status_code == 409
    page = client.get(f"/entry/grid/{p['id']}/{p['groups']['组织评价']}").get_data(as_text=True)
    assert "只能查看" in page


def test_nobody_scores_or_adjusts_themself(app, client):
    from app.org.users import create_user
    from app.security.roles import STAFF

    p = new_period(app)
    me = cadre_in(app, "XY03T", offset=3)
    with app.app_context():
        create_user("kpy_self_test", PASSWORD, STAFF, "XY03", me.code, "本人考评员")
    login(client, "kpy_self_test")
    answer = client.post(sheet_url(p), json=sheet_body(p, me.id))
    assert answer.status_code == 403 and "本人" in answer.get_json()["message"]
    ballot = client.post(f"/entry/ballot/{p['id']}/{p['groups']['群众评价']}",
                         json={"cadre_id": me.id, "values": {"excellent": 5}})
    assert ballot.status_code == 403
    csv = f"干部编号,评价组,德,能,勤,绩,廉\n{me.code},组织评价,90,90,90,90,90\n".encode()
    page = follow_job(client, app, client.post(f"/entry/upload/{p['id']}/sheets", content_type="multipart/form-data",
                                               data={"file": (__import__("io").BytesIO(csv), "s.csv")}))
    assert "导入被拒绝" in page and "本人" in page
    client.post(f"/adjustments/propose/{p['id']}", data={"cadre": me.id, "kind": "加分", "value": "3", "reason": "自评"})
    with app.app_context():
        assert not db.session.scalar(select(func.count()).select_from(Adjustment).where(Adjustment.period_id == p["id"]))
        assert not db.session.scalar(select(func.count()).select_from(ScoreSheet).where(ScoreSheet.period_id == p["id"]))


def test_ballots_and_indicators_upsert(app, client):
    p = new_period(app)
    cadre = cadre_in(app, "XY03T")
    login(client, "kpy_luoshan")
    url = f"/entry/ballot/{p['id']}/{p['groups']['群众评价']}"
    first = client.post(url, json={"cadre_id": cadre.id, "values": {"excellent": 30, "competent": 5, "unknown": 1}})
    second = client.post(url, json={"cadre_id": cadre.id, "values": {"excellent": 20, "competent": 15}})
    assert first.status_code == second.status_code == 200
    assert first.get_json()["row"]["id"] == second.get_json()["row"]["id"]
    assert second.get_json()["row"]["values"]["unknown"] == 0
    bad = client.post(url, json={"cadre_id": cadre.id, "values": {"excellent": "1.5"}})
    assert bad.status_code == 400 and "excellent" in bad.get_json()["errors"]
    entered = str(p["indicators"]["项目建设实绩"])
    ok = client.post(f"/entry/indicator/{p['id']}", json={"cadre_id": cadre.id, "values": {entered: "91.5"}})
    assert ok.status_code == 200 and ok.get_json()["row"]["values"][entered] == 91.5
    assert "91.5" in client.get(f"/entry/indicators/{p['id']}").get_data(as_text=True)


def test_upload_is_all_or_nothing_with_every_bad_row(app, client):
    import io

    p = new_period(app)
    good, outside = cadre_in(app, "XY03T"), cadre_in(app, "XY04T")
    csv = (f"干部编号,评价组,德,能,勤,绩,廉\n{good.code},组织评价,90,90,90,90,90\n"
           f"{outside.code},组织评价,90,90,90,90,90\n{good.code},组织评价,90,900,90,90,90\n").encode()
    login(client, "kpy_luoshan")
    page = follow_job(client, app, client.post(f"/entry/upload/{p['id']}/sheets", data={"file": (io.BytesIO(csv), "s.csv")},
                                               content_type="multipart/form-data"))  # a background job
    assert "共 2 处错误" in page and "第 3 行" not in page  # rows are listed in the table, by number
    with app.app_context():
        assert not db.session.scalar(select(func.count()).select_from(ScoreSheet).where(ScoreSheet.period_id == p["id"]))
    ok = client.post(f"/entry/upload/{p['id']}/sheets",
                     data={"file": (io.BytesIO(csv.split(b"\n", 2)[0] + b"\n" + csv.split(b"\n")[1] + b"\n"), "s.csv")},
                     content_type="multipart/form-data")
    assert "导入成功：评分表 1 条" in follow_job(client, app, ok)
    with app.app_context():
        period = db.session.get(EvaluationPeriod, p["id"])
        assert period.inputs_changed_at is not None


# --- adjustments, staleness, result use -------------------------------------------------

def test_adjustment_needs_a_second_staff_member(app, client):
    p = new_period(app, compute=True)
    cadre = cadre_in(app, "XY03T", offset=1)
    login(client, "kpy_luoshan")
    client.post(f"/adjustments/propose/{p['id']}", data={"cadre": cadre.id, "kind": "加分", "value": "3",
                                                         "reason": "获省级表彰"})
    with app.app_context():
        adj = db.session.scalar(select(Adjustment).where(Adjustment.period_id == p["id"]))
        assert adj.status == "proposed" and adj.proposed_by == "kpy_luoshan"
    page = client.post(f"/adjustments/approve/{adj.id}", follow_redirects=True).get_data(as_text=True)
    assert "不能审批本人提议" in page
    with app.app_context():
        assert db.session.get(Adjustment, adj.id).status == "proposed"
    login(client, "kpy_city")
    client.post(f"/adjustments/approve/{adj.id}")
    with app.app_context():
        adj = db.session.get(Adjustment, adj.id)
        period = db.session.get(EvaluationPeriod, p["id"])
        assert adj.status == "approved" and adj.approved_by == "kpy_city"
        assert period.inputs_changed_at > period.computed_at
    assert client.post(f"/adjustments/reject/{adj.id}", follow_redirects=True).status_code == 200
    with app.app_context():
        assert db.session.get(Adjustment, adj.id).status == "approved"


def test_stale_marker_after_a_new_sheet(app, client):
    p = new_period(app)
    cadre = cadre_in(app, "XY03T", offset=2)
    login(client, "kpy_luoshan")
    city = login(app.test_client(), "kpy_city")  # periods are computed by city staff
    assert client.post(sheet_url(p), json=sheet_body(p, cadre.id, 85)).status_code == 200
    follow_job(city, app, city.post(f"/periods/compute/{p['id']}"))  # a background job
    fresh = client.get(f"/results/list/?period={p['code']}").get_data(as_text=True)
    assert "结果已过期" not in fresh and cadre.code in fresh
    assert client.post(sheet_url(p), json=sheet_body(p, cadre.id, 60)).status_code == 200
    stale = client.get(f"/results/list/?period={p['code']}").get_data(as_text=True)
    assert "结果已过期" in stale
    follow_job(city, app, city.post(f"/periods/compute/{p['id']}"))  # a background job
    assert "结果已过期" not in client.get(f"/results/list/?period={p['code']}").get_data(as_text=True)


def test_result_use_decision_is_recorded_and_audited(app, client):
    login(client, "kpy_city")
    period = demo_period(app, "2024-Y")
    client.post(f"/resultuses/generate/{period.id}")
    with app.app_context():
        use = db.session.scalar(select(ResultUse).where(ResultUse.period_id == period.id).order_by(ResultUse.id))
        use_id, version = use.id, use.version
    page = client.get(f"/resultuses/list/?period={period.code}").get_data(as_text=True)
    assert "提拔重用人选" in page or "提醒谈话" in page
    bad = client.post(f"/resultuses/decide/{use_id}", data={"decision": "同意", "version": version},
                      follow_redirects=True)
    assert "决定应为" in bad.get_data(as_text=True)
    client.post(f"/resultuses/decide/{use_id}", data={"decision": "暂缓", "note": "待考察", "version": version})
    with app.app_context():
        use = db.session.get(ResultUse, use_id)
        assert (use.decision, use.note, use.decided_by) == ("暂缓", "待考察", "kpy_city")
        audit = db.session.scalar(select(AuditLog).where(AuditLog.table_name == "result_use",
                                                         AuditLog.row_id == str(use_id), AuditLog.action == "update"))
        assert audit is not None and "暂缓" in audit.new_values and audit.username == "kpy_city"
    conflict = client.post(f"/resultuses/decide/{use_id}", data={"decision": "采纳", "version": version},
                           follow_redirects=True)
    assert "已被他人修改" in conflict.get_data(as_text=True)
    login(client, "admin")
    assert client.post(f"/resultuses/decide/{use_id}", data={"decision": "采纳", "version": version + 1}
                       ).status_code == 403


# --- schemes ---------------------------------------------------------------------------

def scheme_form(name: str, dim_weights=("0.2", "0.2", "0.15", "0.3", "0.15")) -> dict:
    return {
        "name": name, "trim_min": "5", "adjustment_cap": "5", "sanping_weight": "0.6",
        "dim_name": ["德", "能", "勤", "绩", "廉"], "dim_weight": list(dim_weights),
        "grp_name": ["组织评价", "群众评价"], "grp_kind": ["scores", "votes"], "grp_weight": ["0.5", "0.5"],
        "grp_p1": ["", "95"], "grp_p2": ["", "85"], "grp_p3": ["", "75"], "grp_p4": ["", "65"],
        "ind_name": ["项目建设实绩", "督查实绩"], "ind_weight": ["0.3", "0.1"], "ind_source": ["entered", "supervision"],
        "excellent_min": "90", "excellent_quota": "0.2", "competent_min": "75", "basic_min": "60",
        "pen_overdue_task": "5", "pen_general": "2", "pen_serious": "5", "pen_severe": "10",
        "pen_overdue_rectification": "3",
    }


def test_scheme_form_validates_and_saves(app, client):
    login(client, "kpy_city")
    name = "表单方案" + uuid.uuid4().hex[:6]
    bad = scheme_form(name, ("0.5", "0.2", "0.15", "0.3", "0.15"))
    bad["competent_min"] = "95"
    bad["grp_name"] = ["组织评价", "组织评价"]
    page = client.post("/schemes/form/", data=bad).get_data(as_text=True)
    assert "方案未保存" in page and "权重之和应为1" in page and "等次分数线" in page and "重复" in page
    with app.app_context():
        assert db.session.scalar(select(EvaluationScheme).where(EvaluationScheme.name == name)) is None
    saved = client.post("/schemes/form/", data=scheme_form(name))
    assert saved.status_code == 302
    with app.app_context():
        scheme = db.session.scalar(select(EvaluationScheme).where(EvaluationScheme.name == name))
        assert [g.kind for g in scheme.rater_groups] == ["scores", "votes"]
        assert scheme.rater_groups[1].points_excellent == 95 and scheme.indicators[1].source == "supervision"
        pk = scheme.id
    renamed = scheme_form(name + "改")
    assert client.post(f"/schemes/form/{pk}", data=renamed).status_code == 302
    with app.app_context():
        assert db.session.get(EvaluationScheme, pk).name == name + "改"


def test_scheme_json_upload_uses_the_golden_layout(app, client):
    import io
    import json

    from app.evaluation.demo import demo_scheme

    login(client, "kpy_city")
    data = {**demo_scheme(), "name": "上传方案" + uuid.uuid4().hex[:6]}
    answer = client.post("/schemes/upload/", data={"file": (io.BytesIO(json.dumps(data).encode()), "s.json")},
                         content_type="multipart/form-data")
    assert answer.status_code == 302
    broken = {**data, "sanping_weight": 0.9}
    page = client.post("/schemes/upload/", data={"file": (io.BytesIO(json.dumps(broken).encode()), "s.json")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "导入被拒绝" in page and "之和应为1" in page
    login(client, "ld_luoshan")
    assert client.post("/schemes/upload/", data={}).status_code == 403


def test_results_screen_shows_the_latest_computed_period_unless_another_is_chosen(app, client):
    """One period at a time: without ?period the latest computed period the user may read."""
    from app.models import EvaluationPeriod

    login(client, "kpy_city")
    with app.app_context():
        latest = db.session.scalars(select(EvaluationPeriod).where(EvaluationPeriod.computed_at.is_not(None))
                                    .order_by(EvaluationPeriod.start_date.desc(), EvaluationPeriod.code.desc())
                                    ).first().code
        with_results = set(db.session.scalars(select(EvaluationPeriod.code).join(
            EvaluationResult, EvaluationResult.period_id == EvaluationPeriod.id)))
        codes = set(db.session.scalars(select(EvaluationPeriod.code)))
    assert {"2023-Y", "2024-Y"} <= with_results

    def period_cells(url: str) -> set[str]:
        html = client.get(url).get_data(as_text=True)
        return set(re.findall(r"<td[^>]*>\s*([^<\s]+)\s*</td>", html)) & codes

    assert period_cells("/results/list/") == ({latest} & with_results)
    assert period_cells("/results/list/?period=2023-Y") == {"2023-Y"}
    assert period_cells("/results/list/?period=2024-Y") == {"2024-Y"}
    assert period_cells("/results/list/?period=NO-SUCH") == set()


def _result_units(app, cadre_id: int) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(select(EvaluationResult.org_unit_id).where(EvaluationResult.cadre_id == cadre_id)))


def _mismatched_results(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(EvaluationResult).join(Cadre, EvaluationResult.cadre_id == Cadre.id)
            .where(EvaluationResult.org_unit_id != Cadre.org_unit_id)
        )


def test_a_result_carries_its_cadres_unit_and_follows_a_move(app, client):
    """evaluation_result.org_unit_id (the results screen's scope) is the cadre's unit: compute
    writes it, and moving a cadre — by a change saved through the ORM (every screen) or by
    import — moves its results, so the county it left no longer lists them and the county it
    joined does."""
    import datetime as dt

    from app.evaluation.results import compute_period
    from app.org.cadres import import_cadres

    p = new_period(app, "scoring")
    cadre = cadre_in(app, "XY03T", 3)
    login(client, "kpy_luoshan")
    assert client.post(sheet_url(p), json=sheet_body(p, cadre.id)).status_code == 200
    with app.app_context():
        compute_period(p["code"], user=None)
    assert _mismatched_results(app) == 0
    assert _result_units(app, cadre.id) == {cadre.org_unit_id}
    with app.app_context():
        home_code = db.session.get(OrgUnit, cadre.org_unit_id).code
        away_id = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "XY04T01"))

    def listed(user: str) -> set[str]:
        response = client.get(f"/api/v1/results/?q=(page_size:1000)&period={p['code']}",
                              headers=api_token(client, user))
        assert response.status_code == 200
        return {i["cadre"]["code"] for i in response.get_json()["result"]}

    assert cadre.code in listed("kpy_luoshan")
    with app.app_context():  # a change through the ORM, as the edit form saves it
        db.session.get(Cadre, cadre.id).org_unit_id = away_id
        db.session.commit()
    assert _result_units(app, cadre.id) == {away_id} and _mismatched_results(app) == 0
    assert cadre.code not in listed("kpy_luoshan")
    assert cadre.code in listed("kpy_city")

    header = "干部编号,姓名,性别,出生日期,单位编码,职务,职级,岗位类别"
    with app.app_context():  # an import moving it back
        c = db.session.get(Cadre, cadre.id)
        row = [c.code, c.name, c.gender or "男", (c.birth_date or dt.date(1980, 1, 1)).isoformat(), home_code,
               c.position or "干部", c.rank or "科员", c.post_category or "乡镇党政副职"]
        assert import_cadres(f"{header}\n{','.join(row)}\n".encode(), "move.csv", user=None) == {"created": 0, "updated": 1}
    assert _result_units(app, cadre.id) == {cadre.org_unit_id} and _mismatched_results(app) == 0
    assert cadre.code in listed("kpy_luoshan")
