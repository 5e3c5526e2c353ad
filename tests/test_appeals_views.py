"""诉求办理 screens: each screen in Chinese for the roles that use it, the unit scope (another
county's user gets 404 on an appeal's page, its actions and a unit's list/figures exports),
personal data masked in lists and exports and in full on the page of the unit handling or
reviewing it, the workflow driven through the web forms (with the services' Chinese refusals
and a 409 for a lost race), the dispatcher's suggestion, the leader's queue, figures with
drill-down, and the demo's appeals."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from app.appeals import rules
from app.appeals import services as S
from app.appeals.models import Appeal, AppealAssignment, AppealEvent
from app.extensions import db
from tests.appeals_data import MONDAY, fresh, grid_appeal, h, hotline_appeal, user, world
from tests.conftest import login
from tests.test_i18n_menus import ENGLISH, visible_text


@pytest.fixture(scope="module")
def w(app):
    with app.app_context():
        return world()


def text(response) -> str:
    return response.get_data(as_text=True)


def flashes(html: str) -> list[str]:
    return [re.sub(r"\s+|<[^>]+>", " ", m).strip()
            for m in re.findall(r'class="alert alert-[a-z]+[^"]*"[^>]*>(.*?)</div>', html, re.S)]


def post(client, url, **data):
    return client.post(url, data=data, follow_redirects=True)


SCREENS = {  # url -> the users who may open it (others are refused)
    "/appeals/": {"wgy_g01", "llr_luoshan_t01", "ddy_luoshan", "ld_luoshan", "dcy_luoshan", "kpy_luoshan", "admin"},
    "/appeals/todo/": {"wgy_g01", "llr_luoshan_t01", "ddy_luoshan", "ld_luoshan", "dcy_luoshan", "admin"},
    "/appeals/report/": {"wgy_g01"},
    "/appeals/dispatch/": {"ddy_luoshan"},
    "/appeals/whistles/": {"ld_luoshan"},
    "/appeals/figures/": {"wgy_g01", "llr_luoshan_t01", "ddy_luoshan", "ld_luoshan", "dcy_luoshan", "admin"},
}


@pytest.mark.parametrize("username", ["wgy_g01", "llr_luoshan_t01", "ddy_luoshan", "ld_luoshan", "dcy_luoshan",
                                      "admin"])
def test_each_screen_opens_in_chinese_for_its_roles(app, client, w, username):
    with app.app_context():
        grid_appeal()
    login(client, username)
    for url, users in SCREENS.items():
        response = client.get(url)
        if username in users:
            assert response.status_code == 200, (username, url, response.status_code)
            html = text(response)
            assert not ENGLISH.findall(visible_text(html)), (username, url, ENGLISH.findall(visible_text(html)))
        else:
            assert response.status_code in (302, 403), (username, url, response.status_code)
    home = text(client.get("/", follow_redirects=True))
    assert "诉求办理" in home
    assert ("上报诉求" in home) == (username == "wgy_g01")
    assert ("分派队列" in home) == (username == "ddy_luoshan")


def test_another_countys_user_gets_404(app, client, w):
    with app.app_context():
        appeal = grid_appeal()
        pk = appeal.id
    login(client, "ld_guangshan")
    assert client.get(f"/appeals/{pk}").status_code == 404
    for action in ("sign", "refuse", "escalate", "reply", "review", "callback", "rule", "leader-assign"):
        assert client.post(f"/appeals/{pk}/{action}", data={}).status_code in (403, 404), action
    assert client.get("/appeals/export/csv?unit=XY03").status_code == 404
    assert client.get("/appeals/?unit=XY03").status_code == 404
    assert client.get("/appeals/figures/?unit=XY03").status_code == 404
    assert client.get("/appeals/figures/export/xlsx?unit=XY03").status_code == 404
    body = client.get("/appeals/export/csv").get_data().decode("utf-8-sig")
    with app.app_context():
        number = db.session.get(Appeal, pk).number
    assert number not in body  # the list's export holds only the user's own county
    with app.app_context():
        assert fresh(pk).state == rules.HANDLING


def test_personal_data_masked_in_list_and_export_full_for_handler(app, client, w):
    with app.app_context():
        appeal = grid_appeal(content="掩码测试诉求", citizen_name="欧阳修文", citizen_phone="13812345678")
        pk, number = appeal.id, appeal.number
    login(client, "ld_luoshan")
    listing = text(client.get("/appeals/?q=掩码测试"))
    assert number in listing and "欧***" in listing and "138****5678" in listing
    assert "欧阳修文" not in listing and "13812345678" not in listing
    exported = client.get("/appeals/export/csv?q=掩码测试").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(exported)))
    assert rows[0][:2] == ["诉求编号", "来源"]
    row = next(r for r in rows if r[0] == number)
    assert "欧***" in row and "138****5678" in row and "欧阳修文" not in exported
    # not handling, not reviewing: masked on the page too
    page = text(client.get(f"/appeals/{pk}"))
    assert "欧***" in page and "欧阳修文" not in page and "仅承办、审核单位可见" in page
    for handler in ("wgy_g01", "llr_luoshan_t01"):  # the grid handles it, its township reviews it
        login(client, handler)
        page = text(client.get(f"/appeals/{pk}"))
        assert "欧阳修文" in page and "13812345678" in page, handler
    xlsx = client.get("/appeals/export/xlsx?q=掩码测试")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_quick_report_through_the_form(app, client, w):
    login(client, "wgy_g01")
    form = text(client.get("/appeals/report/"))
    assert "上报诉求" in form and 'name="content"' in form and "柳杨村第一网格" in form
    refused = post(client, "/appeals/report/", category_id=str(w["road"]), content="  ", urgency="一般")
    assert "请填写诉求内容" in text(refused)
    done = post(client, "/appeals/report/", category_id=str(w["road"]), content="=HYPERLINK(\"x\") 井盖缺失",
                urgency="紧急", citizen_name="王五", citizen_phone="13700001234")
    html = text(done)
    assert "已上报" in html and "办理中" in html
    with app.app_context():
        appeal = db.session.scalar(select(Appeal).where(Appeal.content.like("%井盖缺失")))
        assert appeal.state == rules.HANDLING and appeal.handler_unit_id == w["grid"] and appeal.urgency == "紧急"
        number = appeal.number
    # formula-safe export
    login(client, "ld_luoshan")
    exported = client.get("/appeals/export/csv?q=井盖缺失").get_data().decode("utf-8-sig")
    assert number in exported and "'=HYPERLINK" in exported


def test_grid_escalation_sign_reply_review_callback_through_forms(app, client, w):
    with app.app_context():
        pk = grid_appeal(at=h(MONDAY, 1)).id
    login(client, "wgy_g01")
    page = text(client.get(f"/appeals/{pk}"))
    assert "上报上级" in page and "答复（办结）" in page and "吹哨部门" not in page
    assert "上报须说明理由" in " ".join(flashes(text(post(client, f"/appeals/{pk}/escalate", reason=""))))
    html = text(post(client, f"/appeals/{pk}/escalate", reason="需村里协调"))
    assert "已上报上级" in html
    login(client, "llr_v01")
    page = text(client.get(f"/appeals/{pk}"))
    assert 'class="btn btn-primary ap-btn-sign"' in page
    assert "已签收" in text(post(client, f"/appeals/{pk}/sign"))
    again = post(client, f"/appeals/{pk}/sign")  # a stale page: refused in Chinese, nothing changed
    assert any("没有待本单位签收" in f for f in flashes(text(again)))
    html = text(post(client, f"/appeals/{pk}/reply", contact_whom="诉求人本人", contact_at="2026-11-03T10:00",
                     contact_way="电话", measures="已修好路灯", result="已解决", result_note="",
                     finished_at="2026-11-03T11:00"))
    assert "答复已提交" in html
    login(client, "llr_luoshan_t01")  # the township reviews a grid report
    assert "退回答复须说明理由" in " ".join(flashes(text(post(client, f"/appeals/{pk}/review", decision="return"))))
    assert "审核通过" in text(post(client, f"/appeals/{pk}/review", decision="approve"))
    assert "诉求已办结" in text(post(client, f"/appeals/{pk}/callback", result="满意"))
    with app.app_context():
        appeal = fresh(pk)
        assert appeal.state == rules.CLOSED and appeal.resolved_level == "村社区"
        actions = list(db.session.scalars(select(AppealEvent.action).where(AppealEvent.appeal_id == pk)
                                          .order_by(AppealEvent.id)))
    assert actions == ["report", "escalate", "sign", "reply", "approve", "callback"]
    page = text(client.get(f"/appeals/{pk}"))
    history = page.split("办理过程", 1)[1]
    for label in ("网格上报", "上报上级", "签收", "答复", "审核通过", "回访（办结）", "需村里协调"):
        assert label in history, label


def test_lost_race_answers_409_and_changes_nothing(app, client, w, monkeypatch):
    from app.core.errors import Conflict

    with app.app_context():
        pk = grid_appeal().id
    login(client, "wgy_g01")

    def lost(*args, **kwargs):
        raise Conflict("该诉求已被他人处理，请刷新后重试")

    monkeypatch.setattr(S, "escalate", lost)
    response = client.post(f"/appeals/{pk}/escalate", data={"reason": "x"})
    assert response.status_code == 409 and "该诉求已被他人处理" in text(response)
    with app.app_context():
        assert fresh(pk).state == rules.HANDLING


def test_dispatch_queue_preselects_the_catalogue_suggestion_and_dispatches(app, client, w):
    with app.app_context():
        road = hotline_appeal(w, content="路面坑洼派单测试", category_id=w["road"]).id
        plain = hotline_appeal(w, content="无类别派单测试", place="grid2").id
    login(client, "ddy_luoshan")
    queue = text(client.get("/appeals/dispatch/"))
    assert "路面坑洼派单测试" in queue and "无类别派单测试" in queue
    assert "建议承办单位" in queue
    row = queue.split("路面坑洼派单测试", 1)[1].split("</tr>", 1)[0]
    assert "罗山县发展和改革委员会" in row  # the category's department (XY03D02)
    page = text(client.get(f"/appeals/{road}"))
    form = page.split('class="ap-form-dispatch"', 1)[1].split("</form>", 1)[0]
    assert re.search(rf'<option value="{w["dept2"]}" selected>', form), "the category's department is preselected"
    assert "按目录建议" in page
    page = text(client.get(f"/appeals/{plain}"))
    form = page.split('class="ap-form-dispatch"', 1)[1].split("</form>", 1)[0]
    assert re.search(rf'<option value="{w["town"]}" selected>', form), "the place's township is preselected"
    assert "已分派" in text(post(client, f"/appeals/{road}/dispatch", unit_id=str(w["dept2"]), note="请尽快处理"))
    with app.app_context():
        assert fresh(road).state == rules.TO_SIGN and fresh(road).handler_unit_id == w["dept2"]
    assert "路面坑洼派单测试" not in text(client.get("/appeals/dispatch/"))
    # the department refuses; the refusal waits in the dispatcher's queue and is ruled there
    login(client, "llr_d02")
    assert "已退单" in text(post(client, f"/appeals/{road}/refuse", kind="职能不符", reason="不归本局管"))
    login(client, "ddy_luoshan")
    assert "路面坑洼派单测试" in text(client.get("/appeals/dispatch/"))
    page = text(client.get(f"/appeals/{road}"))
    assert "处理退单" in page and "不归本局管" in page
    with app.app_context():
        refused = db.session.scalar(select(AppealAssignment.id).where(AppealAssignment.appeal_id == road,
                                                                      AppealAssignment.state == "refused"))
    html = text(post(client, f"/appeals/{road}/rule", assignment_id=str(refused), ruling="reassign",
                     unit_id=str(w["town"])))
    assert "已改派" in html
    with app.app_context():
        assert fresh(road).handler_unit_id == w["town"] and fresh(road).state == rules.TO_SIGN


def test_whistle_to_leader_and_the_leaders_queue(app, client, w):
    with app.app_context():
        appeal = hotline_appeal(w, content="多部门吹哨测试", place="grid")
        S.dispatch(appeal.id, w["town"], user=user("ddy_luoshan"), now=h(MONDAY, 1))
        S.sign(appeal.id, user=user("llr_luoshan_t01"), now=h(MONDAY, 2))
        pk = appeal.id
    login(client, "llr_luoshan_t01")
    page = text(client.get(f"/appeals/{pk}"))
    assert "吹哨部门" in page and "吹哨分管领导" in page
    leader = user_id(app, "ld_luoshan")
    assert "等待分管领导" in text(post(client, f"/appeals/{pk}/whistle-leader", leader_id=str(leader),
                                       reason="涉及多个部门"))
    login(client, "ld_luoshan")
    queue = text(client.get("/appeals/whistles/"))
    assert "多部门吹哨测试" in queue
    page = text(client.get(f"/appeals/{pk}"))
    assert "指定牵头部门" in page
    html = text(client.post(f"/appeals/{pk}/leader-assign", data={"lead_id": str(w["dept"]),
                                                                  "assist_ids": [str(w["dept2"])]},
                            follow_redirects=True))
    assert "已指定牵头和协办部门" in html
    with app.app_context():
        rows = db.session.execute(select(AppealAssignment.org_unit_id, AppealAssignment.role)
                                  .where(AppealAssignment.appeal_id == pk, AppealAssignment.kind == "leader")).all()
    assert sorted(rows) == sorted([(w["dept"], "lead"), (w["dept2"], "assist")])
    assert "多部门吹哨测试" not in text(client.get("/appeals/whistles/"))


def user_id(app, name: str) -> int:
    with app.app_context():
        return user(name).id


def test_todo_lists_what_waits_on_the_unit(app, client, w):
    with app.app_context():
        appeal = grid_appeal(content="待办签收测试")
        S.escalate(appeal.id, "需村里协调", user=user("wgy_g01"), now=h(MONDAY, 1))
    login(client, "llr_v01")
    html = text(client.get("/appeals/todo/"))
    assert "诉求待签收" in html and "待办签收测试" in html
    assert re.search(r'ap-light ap-light-(red|yellow|green)', html)


def test_list_search_by_number_state_category_and_dates(app, client, w):
    with app.app_context():
        a = grid_appeal(content="检索测试甲", category_id=w["road"])
        b = grid_appeal(at=h(MONDAY, -24 * 20), content="检索测试乙")
        na, nb = a.number, b.number
    login(client, "ld_luoshan")
    assert na in text(client.get(f"/appeals/?q={na}")) and nb not in text(client.get(f"/appeals/?q={na}"))
    by_category = text(client.get(f"/appeals/?q=检索测试&category={w['road']}"))
    assert na in by_category and nb not in by_category
    by_date = text(client.get("/appeals/?q=检索测试&date_from=2026-11-01&date_to=2026-11-30"))
    assert na in by_date and nb not in by_date
    assert na in text(client.get("/appeals/?q=检索测试&state=handling"))
    assert na not in text(client.get("/appeals/?q=检索测试&state=closed"))
    bad = client.get("/appeals/?date_from=2026-13-01")
    assert bad.status_code == 200 and "日期格式不正确" in text(bad)


def test_figures_page_drill_down_and_exports(app, client, w):
    with app.app_context():
        grid_appeal(content="统计测试")
    login(client, "ld_luoshan")
    html = text(client.get("/appeals/figures/?unit=XY03&date_from=2026-01-01&date_to=2026-12-31"))
    for word in ("受理量", "签收及时率", "按时答复率", "满意率", "重办率", "退单数", "办结层级分布", "下级单位明细"):
        assert word in html, word
    assert "vendor/echarts/echarts.min.js" in html and "appeal-figures-data" in html
    assert re.search(r'href="/appeals/figures/\?unit=XY03T01[^"]*"', html), "a child unit's row links one level down"
    down = text(client.get("/appeals/figures/?unit=XY03T01&date_from=2026-01-01&date_to=2026-12-31"))
    assert "XY03T01V01" in down and "罗山县" in down  # its children, and the way back up
    exported = client.get("/appeals/figures/export/csv?unit=XY03T01&date_from=2026-01-01&date_to=2026-12-31")
    rows = list(csv.reader(io.StringIO(exported.get_data().decode("utf-8-sig"))))
    assert rows[0][:4] == ["单位编码", "单位名称", "受理量", "签收及时率"]
    assert rows[1][0] == "XY03T01" and int(rows[1][2]) >= 1
    assert client.get("/appeals/figures/export/xlsx?unit=XY03T01").data[:2] == b"PK"
    assert "结束日期不能早于开始日期" in text(client.get("/appeals/figures/?date_from=2026-05-01&date_to=2026-04-01"))


def test_demo_appeals_in_every_state_with_histories(app):
    with app.app_context():
        states = dict(db.session.execute(select(Appeal.state, func.count()).group_by(Appeal.state)).all())
        for state in rules.STATE_LABELS:
            assert states.get(state, 0) >= 5, (state, states)
        without_history = db.session.scalar(select(func.count()).select_from(Appeal).where(
            ~Appeal.id.in_(select(AppealEvent.appeal_id))))
        assert without_history == 0
        closed = db.session.scalars(select(Appeal).where(Appeal.state == rules.CLOSED)).all()
        assert all(a.closed_at and a.replied_at and a.resolved_level for a in closed)
        # the call-back counts kept on the appeal agree with its call-back rows (the figures read them)
        from app.appeals.models import AppealCallback

        per_appeal = dict(db.session.execute(select(AppealCallback.appeal_id, func.count())
                                             .group_by(AppealCallback.appeal_id)).all())
        assert all(a.callback_count == per_appeal.get(a.id, 0) and a.satisfied_count + a.basic_count >= 1
                   for a in closed)
        assert db.session.scalar(select(func.count()).select_from(AppealAssignment).join(Appeal).where(
            AppealAssignment.appeal_received_at != Appeal.received_at)) == 0
        assert db.session.scalar(select(func.count()).select_from(Appeal).where(
            Appeal.leader_id.is_not(None), Appeal.state == rules.TO_DISPATCH)) >= 1
        assert db.session.scalar(select(func.count()).select_from(Appeal).where(
            Appeal.supervision_task_id.is_not(None))) >= 1
        # what the services would accept next holds on the demo rows: a 待签收 appeal can be signed
        pending = db.session.scalar(select(AppealAssignment).where(AppealAssignment.state == "pending",
                                                                   AppealAssignment.role == "single")
                                    .order_by(AppealAssignment.id))
        S.sign(pending.appeal_id, user=None, unit_id=pending.org_unit_id)
        assert fresh(pending.appeal_id).state == rules.HANDLING


def test_merge_and_turn_into_supervision_through_forms(app, client, w):
    with app.app_context():
        master = hotline_appeal(w, content="合并主诉求")
        duplicate = hotline_appeal(w, content="合并重复诉求")
        late = grid_appeal(content="超期转督办测试")  # received 2026-11-02: its 7 working days are long past
        master_number, dup, late_id = master.number, duplicate.id, late.id
    login(client, "ddy_luoshan")
    refused = text(post(client, f"/appeals/{dup}/merge", master="SQ-0000-000000"))
    assert "找不到要并入的诉求编号" in refused
    assert "已合并" in text(post(client, f"/appeals/{dup}/merge", master=master_number, reason="重复来电"))
    with app.app_context():
        assert fresh(dup).state == rules.MERGED
    page = text(client.get(f"/appeals/{dup}"))
    assert "已合并到" in page and master_number in page
    login(client, "dcy_luoshan")
    page = text(client.get(f"/appeals/{late_id}"))
    assert "转督办" in page and "已超过答复期限未答复" in page
    assert "已转督办" in text(post(client, f"/appeals/{late_id}/supervise"))
    with app.app_context():
        task = fresh(late_id).supervision_task
        assert task is not None and task.lead_unit_id == w["grid"]
    page = text(client.get(f"/appeals/{late_id}"))
    assert f"/tasks/show/{task.id}" in page
    assert "已转督办" in " ".join(flashes(text(post(client, f"/appeals/{late_id}/supervise"))))


def test_settings_catalogue_time_limits_and_charges(app, client, w):
    from app.appeals.models import AppealCategory, AppealTimeLimit, LeaderCharge

    login(client, "ddy_luoshan")  # dispatchers keep the catalogue, not the limits or the charges
    assert client.get("/appeals/timelimits/").status_code in (302, 403)
    assert client.get("/appeals/charges/").status_code in (302, 403)
    page = text(client.get("/appeals/categories/"))
    assert "高频事项目录" in page and "道路破损" in page
    assert "已存在" in " ".join(flashes(text(post(client, "/appeals/categories/save", name="道路破损",
                                                   default_urgency="一般"))))
    assert "高频事项已保存" in text(post(client, "/appeals/categories/save", name="井盖缺失", default_urgency="紧急",
                                          department_id=str(w["dept2"])))
    with app.app_context():
        added = db.session.scalar(select(AppealCategory).where(AppealCategory.name == "井盖缺失"))
        assert added.default_urgency == "紧急" and added.department_id == w["dept2"]
    login(client, "admin_luoshan")
    page = text(client.get("/appeals/timelimits/"))
    assert "诉求时限" in page and "紧急" in page and "个工作日" in page
    assert "时限须为正整数" in text(post(client, "/appeals/timelimits/save", urgency="复杂", sign_amount="x",
                                         sign_unit="hours", reply_amount="3", reply_unit="hours"))
    assert "时限已保存" in text(post(client, "/appeals/timelimits/save", urgency="复杂", sign_amount="2",
                                     sign_unit="working_days", reply_amount="20", reply_unit="working_days"))
    with app.app_context():
        row = db.session.scalar(select(AppealTimeLimit).where(AppealTimeLimit.urgency == "复杂"))
        assert (row.sign_amount, row.sign_unit, row.reply_amount) == (2, "working_days", 20)
    page = text(client.get("/appeals/charges/"))
    assert "分管领导" in page and "罗山县组织部" in page  # world(): ld_luoshan leads XY03D01, XY03D02
    leader = user_id(app, "ld_luoshan")
    assert "已添加分管关系" in text(post(client, "/appeals/charges/add", leader_id=str(leader),
                                          unit_id=str(w["dept3"])))
    assert "该领导已分管此部门" in text(post(client, "/appeals/charges/add", leader_id=str(leader),
                                             unit_id=str(w["dept3"])))
    with app.app_context():
        charge = db.session.scalar(select(LeaderCharge.id).where(LeaderCharge.leader_id == leader,
                                                                 LeaderCharge.org_unit_id == w["dept3"]))
    assert "已删除分管关系" in text(post(client, f"/appeals/charges/{charge}/remove"))
    with app.app_context():
        kept = db.session.scalar(select(LeaderCharge.id).where(LeaderCharge.leader_id == leader))
    login(client, "ld_luoshan")  # a leader reads nothing here and changes nothing
    assert client.post(f"/appeals/charges/{kept}/remove").status_code in (302, 403)
    with app.app_context():
        assert db.session.get(LeaderCharge, kept) is not None


def test_a_long_list_counts_up_to_its_cap(app, client, w, monkeypatch):
    from app.appeals import web

    with app.app_context():
        for n in range(3):
            grid_appeal(content=f"计数上限测试{n}")
    monkeypatch.setattr(web, "COUNT_CAP", 2)
    login(client, "ld_luoshan")
    html = text(client.get("/appeals/?q=计数上限测试"))
    assert "共 <strong>2</strong> 件以上" in html
    monkeypatch.setattr(web, "COUNT_CAP", 10_000)
    assert "共 <strong>3</strong> 件，" not in text(client.get("/appeals/?q=计数上限测试"))
    assert "共 <strong>3</strong> 件" in text(client.get("/appeals/?q=计数上限测试"))


def test_a_capped_list_walks_the_index_and_shows_the_same_rows(app, ctx, client, w, monkeypatch):
    """Past COUNT_CAP rows the list's page is read with the scope's walking form: the same
    appeals in the same order as the gathering form, page after page (the demo's
    新县 holds appeals that happened there and appeals assigned into it from elsewhere)."""
    from app.appeals import queries as Q
    from app.appeals import web

    order = (Appeal.received_at.desc(), Appeal.id.desc())
    for name in ("ddy_xinxian", "llr_xinxian_d03", "llr_xinxian_t01"):  # county, its department, a township
        someone = user(name)
        gathered = db.session.scalars(Q.visible(select(Appeal), someone).order_by(*order)).all()
        walked = db.session.scalars(Q.visible(select(Appeal), someone, form="walk").order_by(*order)).all()
        assert gathered and walked == gathered
        if name == "llr_xinxian_d03":  # whistled to: the appeals happened elsewhere, seen by assignment
            assert all(not a.occurred_unit.path.startswith(someone.org_unit.path) for a in walked)
    county = user("ddy_xinxian")
    gathered = db.session.scalars(Q.visible(select(Appeal), county).order_by(*order)).all()
    assert len(gathered) > 2 * web.PAGE_SIZE
    monkeypatch.setattr(web, "COUNT_CAP", 5)
    login(client, "ddy_xinxian")
    html = client.get("/appeals/").get_data(as_text=True)
    shown = re.findall(r'<a href="/appeals/(\d+)">', html)
    assert shown == [str(a.id) for a in gathered[: web.PAGE_SIZE]]
    assert "共 <strong>5</strong> 件以上" in html  # the capped count, then the walked page
