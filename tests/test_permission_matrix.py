"""A generated permission matrix: every registered endpoint x every role x in/out-of-scope row.

Each URL rule must have an entry in ENDPOINTS (the test fails when a new endpoint is added
without one). For each role the expected answer comes from the role's permissions as synced
from app/security/roles.py: without the permission the request is refused (redirect to login,
401 or 403); with it, a row of the user's own county answers and a row of another county is a
404. Mutating requests are only sent where they must be refused, so the matrix changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AppUser,
    Cadre,
    CareerRecord,
    EvaluationResult,
    Finding,
    Inspection,
    OrgUnit,
    PartyMember,
    PartyOrg,
    RewardPenalty,
    SupervisionTask,
)
from app.security import roles as R
from tests.conftest import api_token, login
from tests.voting_data import draft_session


def instruction_rows(side: str, code: str) -> dict:
    """A sent instruction reaching the unit (its copies there), one of its copies, an attachment
    of it, and a pairing of two of the unit's village branches."""
    from app.models import AppUser, Attachment, InstructionCopy
    from app.party import instructions as I
    from app.party import pairings as P

    city = db.session.scalar(select(AppUser).where(AppUser.username == "kpy_city"))
    draft = I.create_draft(I.Draft(title=f"矩阵指令 {side}", content="矩阵测试", unit_codes=[code]), user=city,
                           attachments=[("说明.txt", b"x", "text/plain")])
    instruction = I.send(draft.id, user=city)
    copy = db.session.scalar(select(InstructionCopy.id).where(InstructionCopy.instruction_id == instruction.id))
    attachment = db.session.scalar(select(Attachment.id).where(Attachment.owner_table == I.INSTRUCTION_FILES,
                                                               Attachment.owner_id == instruction.id))
    pairing = P.create_pairing(f"P{code}V01", f"P{code}V02", dt.date.today(), user=None)
    return {"Instruction": instruction.id, "InstructionCopy": copy, "Attachment": attachment, "Pairing": pairing.id}

PASSWORD = "Str0ng!Passw0rd"
USERS = {  # role -> (username, unit)
    R.ADMIN: ("pm_admin", "XY03"),
    R.STAFF: ("pm_staff", "XY03"),
    R.SUPERVISOR: ("pm_sup", "XY03"),
    R.LIAISON: ("pm_liaison", "XY03T01"),
    R.LEADER: ("pm_leader", "XY03"),
    R.DISPATCHER: ("pm_dispatcher", "XY03"),
}
REFUSED = (302, 401, 403)

# kind of each URL rule: how the matrix fills its arguments and what it may send.
#   public   – reachable without the app's permissions (login, static, own account)
#   page     – a GET page or export without a row argument
#   row:<M>  – a GET of one row of model M (in scope: 200; out of scope: 404)
#   write    – a mutating route: only refusals are sent (no permission, or a row out of scope)
#   write:<M> – a mutating route on one row of model M
#   skip     – covered elsewhere (named test) or needs arguments the matrix cannot forge
ROW_ROUTES = {
    "cadres": "Cadre", "careerrecords": "CareerRecord", "rewardspenalties": "RewardPenalty",
    "orgunits": "OrgUnit", "tasks": "SupervisionTask", "findings": "Finding", "inspections": "Inspection",
    "results": "EvaluationResult", "users": "AppUser", "partymembers": "PartyMember", "partyorgs": "PartyOrg",
    "appeals": "Appeal",
}
ENDPOINTS: dict[str, str] = {
    "/": "public", "/favicon.ico": "public", "/back": "public", "/lang/<string:locale>": "public",
    "/login/": "public", "/logout/": "public", "/static/<path:filename>": "public",
    "/static/appbuilder/<path:filename>": "public", "/api/v1/security/login": "public",
    "/api/v1/security/refresh": "public", "/api/<version>/_openapi": "page", "/swagger/<version>": "skip",
    "/api/v1/menu/": "public",
    "/resetmypassword/form": "public", "/userinfoeditview/form": "public", "/users/userinfo/": "public",
    # FAB's security screens, scoped (tests/test_security_admin.py has their finer rules):
    "/resetpassword/form": "rowq:AppUser", "/roles/list/": "page", "/roles/show/<pk>": "role",
    "/lookup/units": "page", "/lookup/cadres": "page", "/todo/": "page", "/dashboard/": "page",
    "/supervision/board/": "page", "/cadre-profile/compare": "skip",
    "/results/golden/<fmt>": "skip",  # needs ?period=…: tests/test_eval_views.py
    "/scoresheets/list/": "page",  # one cadre's sheets (?cadre=<id>): tests/test_eval_sheets.py
    "/cadre-profile/<int:id>": "row:Cadre", "/cadre-profile/<int:id>/json": "row:Cadre",
    "/cadre-profile/<int:id>/docx": "row:Cadre", "/cadre-profile/<int:id>/conclusion": "write:Cadre",
    "/api/v1/cadres/": "page", "/api/v1/cadres/<int:pk>": "row:Cadre", "/api/v1/cadres/<pk>": "write:Cadre",
    "/api/v1/cadres/_info": "page",
    "/api/v1/orgunits/": "page", "/api/v1/orgunits/<int:pk>": "row:OrgUnit", "/api/v1/orgunits/<pk>": "write:OrgUnit",
    "/api/v1/orgunits/_info": "page",
    "/api/v1/results/": "page", "/api/v1/results/<int:pk>": "row:EvaluationResult", "/api/v1/results/_info": "page",
    "/results/<int:pk>/trace": "row:EvaluationResult", "/api/v1/results/<int:pk>/trace": "row:EvaluationResult",
    "/api/v1/tasks/": "page", "/api/v1/tasks/<int:pk>": "row:SupervisionTask", "/api/v1/tasks/<pk>": "write:SupervisionTask",
    "/api/v1/tasks/_info": "page",
    "/api/v1/findings/": "page", "/api/v1/findings/<int:pk>": "row:Finding", "/api/v1/findings/_info": "page",
    # 诉求 API and the 12345 link (the workflow POSTs under <int:pk>/ are write:Appeal, below)
    "/api/v1/appeals/": "page", "/api/v1/appeals/<int:pk>": "row:Appeal", "/api/v1/appeals/_info": "page",
    "/api/v1/appeals/report": "write", "/api/v1/appeals/register": "write", "/api/v1/appeals/hotline": "write",
    "/api/v1/appeals/hotline/updates": "skip",  # needs ?since=…: tests/test_appeals_hotline.py
    "/appeals/hotline/upload/": "page", "/appeals/hotline/template/": "page",
    # 我的后台任务: every user, their own jobs only (another user's job is 404: tests/test_jobs.py)
    "/jobs/list/": "page", "/jobs/<int:pk>": "skip", "/jobs/<int:pk>/status": "skip",
    "/jobs/<int:pk>/download": "skip", "/jobs/<int:pk>/errors.csv": "skip",
    # 民主测评: the ballot is public (a one-time code, no account: tests/test_voting.py); the
    # sessions are staff's, scoped by the session's unit
    "/vote": "public", "/vote/submit": "public", "/voting/list/": "page", "/voting/add/": "page",
    "/voting/<int:pk>": "row:VotingSession", "/voting/<int:pk>/turnout": "row:VotingSession",
    **{f"/voting/<int:pk>/{action}": "write:VotingSession"
       for action in ("open", "codes", "void", "void-unused", "end", "record", "close", "delete")},
    # 工作指令: the sender's side (what one sent or what one's subtree received) and one's own copies
    # (another's copy is a 404 whatever the role: tests/test_party_instructions.py)
    "/party/instructions/list/": "page", "/party/instructions/add/": "page", "/party/instructions/preview": "write",
    "/party/instructions/<int:pk>": "row:Instruction", "/party/instructions/<int:pk>/preview": "row:Instruction",
    "/party/instructions/<int:pk>/copies": "row:Instruction",
    **{f"/party/instructions/<int:pk>/{action}": "write:Instruction"
       for action in ("edit", "send", "delete", "remind", "supervise")},
    "/party/instructions/attachment/<int:pk>": "write:Attachment",
    "/party/inbox/": "page", "/party/inbox/<int:pk>": "write:InstructionCopy",
    "/party/inbox/<int:pk>/reply": "write:InstructionCopy", "/party/inbox/attachment/<int:pk>": "write:Attachment",
    # 支部联支部: seen by either branch's unit subtree
    "/party/pairings/list/": "page", "/party/pairings/add/": "page", "/party/pairings/<int:pk>": "row:Pairing",
    **{rule: "write:Pairing" for rule in ("/party/pairings/<int:pk>/edit", "/party/pairings/<int:pk>/activity",
                                          "/party/pairings/<int:pk>/activity/<int:aid>/delete")},
    # 党员 (issue 16): the register's lists, tree and pickers, 结构分析 (page, JSON, export), the API
    "/partyorgs/lookup": "page", "/partyorgs/branches": "page",
    "/party/structure": "page", "/party/structure.json": "page", "/party/structure.xlsx": "page",
    "/api/v1/partymembers/": "page", "/api/v1/partymembers/<int:pk>": "row:PartyMember",
    "/api/v1/partymembers/<pk>": "write:PartyMember", "/api/v1/partymembers/_info": "page",
    "/api/v1/partyorgs/": "page", "/api/v1/partyorgs/<int:pk>": "row:PartyOrg",
    "/api/v1/partyorgs/<pk>": "write:PartyOrg", "/api/v1/partyorgs/_info": "page",
    # 诉求办理 screens: scoped like every list; an appeal of another county is 404 (its actions too)
    "/appeals/": "page", "/appeals/export/<fmt>": "page", "/appeals/todo/": "page", "/appeals/report/": "page",
    "/appeals/dispatch/": "page", "/appeals/whistles/": "page", "/appeals/figures/": "page",
    "/appeals/figures/export/<fmt>": "page", "/appeals/<int:pk>": "row:Appeal",
    "/appeals/categories/": "page", "/appeals/categories/save": "write", "/appeals/timelimits/": "page",
    "/appeals/timelimits/save": "write", "/appeals/charges/": "page", "/appeals/charges/add": "write",
    "/appeals/charges/<int:pk>/remove": "write",
    **{f"/appeals/<int:pk>/{action}": "write:Appeal"
       for action in ("sign", "refuse", "dispatch", "rule", "escalate", "whistle", "whistle-leader", "leader-assign",
                      "reply", "review", "callback", "merge", "supervise")},
}


def kind_of(rule: str) -> str | None:
    if rule in ENDPOINTS:
        return ENDPOINTS[rule]
    m = re.match(r"^/api/v1/(tasks|findings|appeals)/<int:pk>/", rule)
    if m:
        return "write:" + ROW_ROUTES[m.group(1)]
    parts = rule.strip("/").split("/")
    base = parts[0]
    if base in ("users", "roles", "groups", "permissions", "permissionviews", "viewmenus", "auditlog",
                "timelimitrules", "workcalendar", "calendardays", "schemes", "periods", "entry", "adjustments",
                "resultuses", "inspections", "findings", "tasks", "cadres", "careerrecords", "rewardspenalties",
                "orgunits", "results", "partymembers", "partyorgs") or base.startswith(("workcalendar", "calendar")):
        model = ROW_ROUTES.get(base)
        tail = "/".join(parts[1:])
        if tail in ("list", "tree", "add", "export/<fmt>", "upload", "form", "golden/<fmt>") and rule.endswith(("/", "<fmt>")):
            return "page"
        if tail in ("list", "form") or tail == "":
            return "page"
        if tail.startswith("show/") and model:
            return f"row:{model}"
        if model and (tail.startswith(("edit/", "delete/", "action/")) or re.match(r"<int:pk>/", tail)):
            return f"write:{model}"
        return "write"
    return None


@pytest.fixture(scope="module")
def matrix(app):
    """Users of each role in 罗山县 (XY03), rows inside and outside it, and each role's permissions."""
    from app.org.users import create_user
    from app.supervision import findings as sf
    from app.supervision import tasks as st

    with app.app_context():
        for role, (username, unit) in USERS.items():
            create_user(username, PASSWORD, role, unit)
        unit = {c: db.session.scalar(select(OrgUnit).where(OrgUnit.code == c)) for c in ("XY03T01", "XY04T01")}
        users = {"in": create_user("pm_user_in", PASSWORD, R.LEADER, "XY03T01"),
                 "out": create_user("pm_user_out", PASSWORD, R.LEADER, "XY04T01")}
        rows = {}
        for side, code in (("in", "XY03T01"), ("out", "XY04T01")):
            task = st.create_task(f"PM-{side}", "矩阵测试事项", lead_unit_id=unit[code].id, category="督实事",
                                  rule_name="普通事项")
            if side == "in":  # liaisons see assigned items only
                task = st.assign(task.id)
            insp = sf.create_inspection(f"PMI-{side}", dt.date(2025, 3, 1), "矩阵测试", "督查组", "明察", unit[code].id)
            finding = sf.add_finding(insp.id, unit[code].id, "矩阵测试问题", "作风", "一般", deadline=dt.date(2025, 4, 1))
            prefix = "XY03" if side == "in" else "XY04"
            cadre = db.session.scalar(select(Cadre).join(OrgUnit).where(OrgUnit.code.startswith(prefix + "T"))
                                      .order_by(Cadre.id))
            result = db.session.scalar(select(EvaluationResult).where(EvaluationResult.cadre_id == cadre.id)
                                       .order_by(EvaluationResult.id))
            rows[side] = {
                "Cadre": cadre.id, "OrgUnit": unit[code].id, "SupervisionTask": task.id, "Finding": finding.id,
                "Inspection": insp.id, "EvaluationResult": result.id if result else None,
                "AppUser": users[side].id,
                "CareerRecord": db.session.scalar(select(CareerRecord.id).where(CareerRecord.cadre_id == cadre.id)),
                "RewardPenalty": db.session.scalar(select(RewardPenalty.id).where(RewardPenalty.cadre_id == cadre.id)),
                "VotingSession": draft_session(code),
                **instruction_rows(side, code),
                "PartyMember": db.session.scalar(select(PartyMember.id).join(OrgUnit, OrgUnit.id == PartyMember.org_unit_id)
                                                 .where(OrgUnit.code.startswith(code)).order_by(PartyMember.id)),
                "PartyOrg": db.session.scalar(select(PartyOrg.id).join(OrgUnit, OrgUnit.id == PartyOrg.org_unit_id)
                                              .where(OrgUnit.code.startswith(code)).order_by(PartyOrg.id)),
                "Appeal": _appeal_in(unit[code]),
            }
        perms = {}
        for role in USERS:
            r = app.appbuilder.sm.find_role(role)
            perms[role] = {(pv.permission.name, pv.view_menu.name) for pv in r.permissions}
        views = {type(v).__name__: v for v in app.appbuilder.baseviews}
        rules = [r for r in app.url_map.iter_rules()]
        role_id = app.appbuilder.sm.find_role(R.LEADER).id
    return {"rows": rows, "perms": perms, "views": views, "rules": rules, "role_id": role_id}


def _appeal_in(unit) -> int:
    """A hotline appeal that happened in `unit` (待分派 at the city's dispatch), made by the system."""
    from app.appeals import services as appeals

    return appeals.create(user=None, source="12345热线", content="矩阵测试诉求", occurred_unit_id=unit.id,
                          citizen_name="张三", citizen_phone="13800001111").id


def test_every_endpoint_has_an_entry(matrix):
    missing = sorted({r.rule for r in matrix["rules"] if kind_of(r.rule) is None})
    assert not missing, f"endpoints without a permission-matrix entry: {missing}"


def _needed(matrix, endpoint: str):
    """(permission, resource) FAB checks for an endpoint, or None when it checks none."""
    if "." not in endpoint:
        return None
    view_name, method = endpoint.split(".", 1)
    view = matrix["views"].get(view_name)
    if view is None or not hasattr(getattr(view, method, None), "_permission_name"):
        return None
    return "can_" + view.get_method_permission(method), view.class_permission_name


def _fill(rule: str, pk) -> str:
    url = rule
    for arg in re.findall(r"<[^>]+>", rule):
        name = arg.strip("<>").split(":")[-1]
        value = {"fmt": "csv", "name": "muldelete", "kind": "sheets", "action": "open", "version": "v1"}.get(name, pk)
        url = url.replace(arg, str(value), 1)
    return url


class _Crash(int):
    """A request that raised (a 500 in production) counts as a failing status."""


def _safe(send):
    def call(*args, **kwargs):
        try:
            return send(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the matrix reports it as a failure
            return type("R", (), {"status_code": _Crash(599), "error": repr(exc)[:120]})()
    return call


def _cases(matrix):
    for rule in sorted(matrix["rules"], key=lambda r: r.rule):
        kind = kind_of(rule.rule)
        if kind in (None, "public", "skip"):
            continue
        for role in USERS:
            yield rule, kind, role


@pytest.mark.parametrize("role", list(USERS))
def test_matrix(app, matrix, role):
    username = USERS[role][0]
    failures = []
    client = app.test_client()
    login(client, username, PASSWORD)
    headers = api_token(app.test_client(), username, PASSWORD)
    for rule in sorted(matrix["rules"], key=lambda r: r.rule):
        kind = kind_of(rule.rule)
        if kind in (None, "public", "skip"):
            continue
        needed = _needed(matrix, rule.endpoint)
        allowed = needed is None or needed in matrix["perms"][role]
        is_api = rule.rule.startswith("/api/")
        kw = {"headers": headers} if is_api else {}
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        model = kind.split(":", 1)[1] if ":" in kind else None
        rows = matrix["rows"]
        for method in methods:
            send = _safe(getattr(client, method.lower()))
            if kind == "page" and method == "GET":
                status = send(_fill(rule.rule, rows["in"]["Cadre"]), **kw).status_code
                ok = status < 400 or (status == 400 and "<kind>" in rule.rule) if allowed else status in REFUSED
            elif kind == "role" and method == "GET":
                status = send(_fill(rule.rule, matrix["role_id"]), **kw).status_code
                ok = status == 200 if allowed else status in REFUSED
            elif kind.startswith("rowq:"):  # the row's key in the query string (?pk=N)
                data = {"data": {"password": PASSWORD + "x", "conf_password": PASSWORD + "x"}} if method == "POST" else {}
                outside = send(f"{rule.rule}?pk={rows['out'][model]}", **data).status_code
                inside = send(f"{rule.rule}?pk={rows['in'][model]}").status_code if method == "GET" else None
                status = (inside, outside)
                if allowed:
                    ok = outside == 404 and (inside is None or inside == 200)
                else:
                    ok = outside in REFUSED + (404,) and (inside is None or inside in REFUSED)
            elif kind.startswith("row:") and method == "GET":
                if rows["in"].get(model) is None:
                    continue
                inside = send(_fill(rule.rule, rows["in"][model]), **kw).status_code
                outside = send(_fill(rule.rule, rows["out"][model]), **kw).status_code
                status = (inside, outside)
                ok = (inside < 400 and outside == 404) if allowed else (inside in REFUSED and outside in REFUSED + (404,))
            elif method == "GET":
                status = send(_fill(rule.rule, rows["out"].get(model) or 99999999), **kw).status_code
                ok = status in (REFUSED + (404, 405)) if not allowed else status < 500
            else:
                target = rows["out"].get(model) if model else 99999999
                body = {"json": {}} if is_api else {"data": {"action": "muldelete", "rowid": [str(target)]}}
                status = send(_fill(rule.rule, target), **kw, **body).status_code
                if not allowed:
                    ok = status in REFUSED + (404, 405)
                elif model:
                    ok = status in (400, 403, 404, 405, 422)  # another county's row is never changed
                else:
                    ok = status < 500
            if not ok:
                failures.append((method, rule.rule, role, "allowed" if allowed else "refused", status))
    assert not failures, "\n".join(map(str, failures))


def test_rows_out_of_scope_are_unchanged(app, matrix):
    """After every refused write above, the other county's rows are all still there."""
    with app.app_context():
        out = matrix["rows"]["out"]
        for model in (Cadre, SupervisionTask, Finding, Inspection, OrgUnit, PartyMember, PartyOrg):
            assert db.session.get(model, out[model.__name__]) is not None, model.__name__
        task = db.session.get(SupervisionTask, out["SupervisionTask"])
        assert task.state == "draft"
        from app.appeals.models import Appeal

        appeal = db.session.get(Appeal, out["Appeal"])
        assert appeal.state == "to_dispatch" and not appeal.assignments
        assert db.session.scalar(select(AppUser).where(AppUser.username == "pm_liaison")).active
