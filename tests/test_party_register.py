"""The party register (issue 16, PLATFORM.md §4 and §5): imports of organizations and members
(each bad row kind, all or nothing, updates and idempotence, CLI and web upload), screens,
REST API, the link to a cadre, masked phones (lists, exports, API lists, audit), and scope."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from app.core.errors import DomainError, ImportRejected
from app.extensions import db
from app.models import AuditLog, Cadre, OrgUnit
from app.party import members as M
from app.party import orgs as O
from app.party.models import PartyMember, PartyOrg
from tests.conftest import api_token, login
from tests.jobs_support import follow_job
from tests.supervision_data import user

ORG_HEAD = "组织编码,组织名称,类型,上级编码,所在单位编码"
MEMBER_HEAD = "党员编号,姓名,性别,出生日期,民族,学历,入党时间,转正时间,党员类别,是否流动,所在支部编码,党内职务,联系电话"


def csv(head: str, *lines: str) -> bytes:
    return ("\n".join([head, *lines]) + "\n").encode("utf-8")


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def good_member(code="TM0001", branch="PXY03T01V01", **over) -> str:
    row = {"党员编号": code, "姓名": "李四", "性别": "男", "出生日期": "1980-05-06", "民族": "汉族", "学历": "大学本科",
           "入党时间": "2005-07-01", "转正时间": "2006-07-01", "党员类别": "正式党员", "是否流动": "否",
           "所在支部编码": branch, "党内职务": "", "联系电话": "13812345678"}
    row.update(over)
    return ",".join(row[h] for h in MEMBER_HEAD.split(","))


# ---------------------------------------------------------------- organizations

def test_import_orgs_creates_a_tree_in_any_row_order_and_updates_on_reimport(app, ctx):
    data = csv(ORG_HEAD,
               "TZB01,测试第一支部,党支部,TZZ01,XY03T01",     # its parent comes later in the file
               "TZZ01,测试党总支,党总支,PXY03T01,XY03T01",
               "TZB02,测试第二支部,党支部,TZZ01,XY03T01V01")
    assert O.import_orgs(data, "o.csv", user=user("kpy_luoshan")) == {"created": 3, "updated": 0}
    branch = db.session.scalar(select(PartyOrg).where(PartyOrg.code == "TZB01"))
    assert branch.parent.code == "TZZ01" and branch.parent.parent.code == "PXY03T01"
    assert O.import_orgs(data, "o.csv", user=user("kpy_luoshan")) == {"created": 0, "updated": 3}
    renamed = data.replace("测试第一支部".encode(), "测试第一党支部".encode())
    O.import_orgs(renamed, "o.csv", user=user("kpy_luoshan"))
    db.session.expire_all()
    assert db.session.scalar(select(PartyOrg.name).where(PartyOrg.code == "TZB01")) == "测试第一党支部"
    assert count(PartyOrg, PartyOrg.code.like("TZ%")) == 3


def test_import_orgs_lists_every_bad_row_and_writes_nothing(app, ctx):
    before = count(PartyOrg)
    data = csv(ORG_HEAD,
               "TBAD1,好组织,党支部,,XY03T02",                 # 2: fine
               ",无编码,党支部,,XY03T02",                       # 3: empty code
               "TBAD1,重复,党支部,,XY03T02",                    # 4: duplicate code
               "TBAD3,类型错,支部,,XY03T02",                    # 5: bad kind
               "TBAD4,无上级,党支部,NOPE,XY03T02",              # 6: unknown parent
               "TBAD5,单位错,党支部,,NOUNIT",                   # 7: unknown unit
               "TBAD6,越权,党支部,,XY04T01",                    # 8: another county
               "TBAD7,支部下设组织,党支部,TBAD1,XY03T02",       # 9: under a branch
               "TBAD8,循环一,党总支,TBAD9,XY03T02",             # 10/11: a cycle
               "TBAD9,循环二,党委,TBAD8,XY03T02")
    with pytest.raises(ImportRejected) as err:
        O.import_orgs(data, "o.csv", user=user("kpy_luoshan"))
    by_line = {}
    for line, message in err.value.errors:
        by_line.setdefault(line, []).append(message)
    assert 2 not in by_line
    assert "组织编码不能为空" in by_line[3][0]
    assert "与第 2 行重复" in " ".join(by_line[4])
    assert "类型“支部”无效" in " ".join(by_line[5])
    assert "上级编码“NOPE”不存在" in " ".join(by_line[6])
    assert "NOUNIT" in " ".join(by_line[7]) and "XY04T01" in " ".join(by_line[8])
    assert "不能隶属于“党支部”" in " ".join(by_line[9])
    assert "循环" in " ".join(by_line[10] + by_line[11])
    assert "导入被拒绝，未写入任何数据" in err.value.message
    assert count(PartyOrg) == before


def test_place_org_refuses_out_of_scope_and_bad_parents(app, ctx):
    staff = user("kpy_luoshan")
    out = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY04T01"))
    with pytest.raises(DomainError, match="管辖范围"):
        O.place_org(PartyOrg(code="X1", name="x", kind="党支部", org_unit=out), user=staff)
    branch = db.session.scalar(select(PartyOrg).where(PartyOrg.code == "PXY03T01V01"))
    town = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY03T01"))
    with pytest.raises(DomainError, match="不能隶属于"):
        O.place_org(PartyOrg(code="X2", name="x", kind="党支部", org_unit=town, parent=branch), user=staff)
    db.session.rollback()


# ---------------------------------------------------------------- members

BAD_MEMBER_ROWS = [
    (good_member("TB01", 学历="初中"), "学历“初中”无效"),
    (good_member("TB02", 出生日期="1980-02-30"), "出生日期“1980-02-30”不是有效日期"),
    (good_member("TB03", 所在支部编码="NOSUCH"), "所在支部编码“NOSUCH”不存在"),
    (good_member("TB04", 转正时间="2004-07-01"), "转正时间早于入党时间"),
    (good_member("TB05", 党员类别="预备党员"), "预备党员不应填写转正时间"),
    (good_member("TB06", 转正时间=""), "正式党员须填写转正时间"),
    (good_member("TB07", 性别="M"), "性别“M”无效"),
    (good_member("TB08", 党员类别="党员"), "党员类别“党员”无效"),
    (good_member("TB09", 是否流动="可能"), "是否流动“可能”无效"),
    (good_member("TB10", 所在支部编码="PXY03T01"), "党员只能编入党支部"),          # a 党委
    (good_member("TB11", 所在支部编码="PXY04T01V01"), "不在您的管辖范围内"),        # another county
    (good_member("TB12", 入党时间="1995-01-01", 转正时间="1996-01-01"), "年满 18 周岁"),
    (good_member("TB13", 入党时间="2999-01-01", 转正时间="", 党员类别="预备党员"), "入党时间晚于今天"),
    (good_member("TB14", 联系电话="call me"), "联系电话“call me”格式不正确"),
    (good_member("", ), "党员编号不能为空"),
    (good_member("TB16", 姓名=""), "姓名不能为空"),
]


@pytest.mark.parametrize("row, reason", BAD_MEMBER_ROWS, ids=[r for _, r in BAD_MEMBER_ROWS])
def test_each_bad_member_row_is_refused_with_its_reason(app, ctx, row, reason):
    before = count(PartyMember)
    data = csv(MEMBER_HEAD, good_member("TOK1"), row)
    with pytest.raises(ImportRejected) as err:
        M.import_members(data, "m.csv", user=user("kpy_luoshan"))
    assert {line for line, _ in err.value.errors} == {3}, err.value.errors
    assert reason in " ".join(message for _, message in err.value.errors)
    assert count(PartyMember) == before  # the good row is not written either


def test_every_bad_row_is_listed_at_once(app, ctx):
    data = csv(MEMBER_HEAD, *(row for row, _ in BAD_MEMBER_ROWS), good_member("TB01X", 党员编号="TB01"))
    with pytest.raises(ImportRejected) as err:
        M.import_members(data, "m.csv", user=user("kpy_luoshan"))
    lines = {line for line, _ in err.value.errors}
    assert lines == set(range(2, len(BAD_MEMBER_ROWS) + 3))  # the last one repeats 党员编号 TB01
    assert "与第 2 行重复" in " ".join(m for line, m in err.value.errors if line == len(BAD_MEMBER_ROWS) + 2)


def test_import_members_creates_updates_links_cadres_and_is_idempotent(app, ctx):
    cadre = db.session.scalar(select(Cadre).join(OrgUnit).where(OrgUnit.code == "XY03T02").order_by(Cadre.id))
    db.session.execute(PartyMember.__table__.update().where(PartyMember.cadre_id == cadre.id).values(cadre_id=None))
    db.session.commit()  # the demo links every cadre: free one
    head = MEMBER_HEAD + ",流动去向,干部编号"
    data = csv(head, good_member("TI01") + ",,", good_member("TI02", branch="PXY03T02J", 是否流动="是") + f",上海市,{cadre.code}",
               good_member("TI03", 党员类别="预备党员", 转正时间="", 入党时间="2026-01-05") + ",,")
    staff = user("kpy_luoshan")
    assert M.import_members(data, "m.csv", user=staff) == {"created": 3, "updated": 0}
    linked = db.session.scalar(select(PartyMember).where(PartyMember.code == "TI02"))
    assert linked.cadre_id == cadre.id and linked.flowing and linked.flowing_to == "上海市"
    assert linked.org_unit.code == "XY03T02"  # the branch's unit, kept on the member
    assert M.import_members(data, "m.csv", user=staff) == {"created": 0, "updated": 3}
    assert count(PartyMember, PartyMember.code.like("TI0%")) == 3
    moved = data.replace(b"PXY03T02J", b"PXY03T03V01")
    M.import_members(moved, "m.csv", user=staff)
    db.session.expire_all()
    again = db.session.scalar(select(PartyMember).where(PartyMember.code == "TI02"))
    assert again.org_unit.code == "XY03T03V01" and again.branch.code == "PXY03T03V01"
    other = csv(head, good_member("TI09") + f",,{cadre.code}")  # the cadre is linked to TI02 already
    with pytest.raises(ImportRejected, match="已关联党员 TI02"):
        M.import_members(other, "m.csv", user=staff)


def test_an_existing_member_of_another_county_cannot_be_overwritten(app, ctx):
    theirs = db.session.scalar(select(PartyMember).join(OrgUnit, OrgUnit.id == PartyMember.org_unit_id)
                               .where(OrgUnit.code.startswith("XY04")).order_by(PartyMember.id))
    with pytest.raises(ImportRejected, match="不在您的管辖范围内"):
        M.import_members(csv(MEMBER_HEAD, good_member(theirs.code)), "m.csv", user=user("kpy_luoshan"))


def test_xlsx_imports_like_csv(app, ctx):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(MEMBER_HEAD.split(","))
    ws.append(good_member("TX01").split(","))
    buf = io.BytesIO()
    wb.save(buf)
    assert M.import_members(buf.getvalue(), "m.xlsx", user=user("kpy_luoshan"))["created"] == 1


def test_cli_imports_exit_non_zero_on_a_bad_file(app, tmp_path):
    runner = app.test_cli_runner()
    orgs = tmp_path / "orgs.csv"
    orgs.write_bytes(csv(ORG_HEAD, "TCLI1,命令行支部,党支部,PXY05T01,XY05T01"))
    result = runner.invoke(args=["party", "import-orgs", str(orgs)])
    assert result.exit_code == 0 and "党组织导入成功：新增 1" in result.output
    members = tmp_path / "members.csv"
    members.write_bytes(csv(MEMBER_HEAD, good_member("TCLI01", branch="TCLI1"), good_member("TCLI02", 学历="小学")))
    result = runner.invoke(args=["party", "import-members", str(members)])
    assert result.exit_code == 1 and "第 3 行" in result.output and "学历“小学”无效" in result.output
    members.write_bytes(csv(MEMBER_HEAD, good_member("TCLI01", branch="TCLI1")))
    result = runner.invoke(args=["party", "import-members", str(members)])
    assert result.exit_code == 0 and "新增 1" in result.output


def test_web_upload_runs_as_a_job_and_lists_every_bad_row(app, client):
    login(client, "kpy_luoshan")
    data = csv(MEMBER_HEAD, good_member("TW01"), good_member("TW02", 学历="博士"), good_member("TW03", 出生日期="坏日期"))
    response = client.post("/partymembers/upload/", data={"file": (io.BytesIO(data), "w.csv")},
                           content_type="multipart/form-data")
    html = follow_job(client, app, response)
    assert "导入被拒绝" in html and "学历“博士”无效" in html and "出生日期“坏日期”不是有效日期" in html
    with app.app_context():
        assert count(PartyMember, PartyMember.code.in_(["TW01", "TW02", "TW03"])) == 0
    ok = client.post("/partymembers/upload/", data={"file": (io.BytesIO(csv(MEMBER_HEAD, good_member("TW01"))), "w.csv")},
                     content_type="multipart/form-data")
    assert "新增 1 条" in follow_job(client, app, ok)
    login(client, "ld_luoshan")  # a leader reads only
    refused = client.post("/partymembers/upload/", data={"file": (io.BytesIO(data), "w.csv")},
                          content_type="multipart/form-data")
    assert refused.status_code in (302, 403)


# ---------------------------------------------------------------- screens, exports, API, audit

def _member_in(prefix: str) -> PartyMember:
    return db.session.scalar(select(PartyMember).join(OrgUnit, OrgUnit.id == PartyMember.org_unit_id)
                             .where(OrgUnit.code.startswith(prefix), PartyMember.phone.is_not(None))
                             .order_by(PartyMember.id))


def test_phones_are_masked_in_the_list_and_exports_and_full_on_the_detail_page(app, client):
    with app.app_context():
        m = _member_in("XY03")
        pk, phone, code = m.id, m.phone, m.code
    masked = phone[:3] + "****" + phone[-4:]
    login(client, "kpy_luoshan")
    listing = client.get(f"/partymembers/list/?q={code}").get_data(as_text=True)
    assert masked in listing and phone not in listing
    detail = client.get(f"/partymembers/show/{pk}").get_data(as_text=True)
    assert phone in detail
    export = client.get(f"/partymembers/export/csv?q={code}").get_data().decode("utf-8-sig")
    assert masked in export and phone not in export and "党员编号" in export


def test_exports_are_formula_safe(app, ctx, client):
    M.import_members(csv(MEMBER_HEAD, good_member("TF01", 姓名="=HYPERLINK(1)", 党内职务="+1")), "m.csv",
                     user=user("kpy_luoshan"))
    login(client, "kpy_luoshan")
    export = client.get("/partymembers/export/csv?q=TF01").get_data().decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in export and "'+1" in export


def test_member_detail_links_the_cadre_and_scope_is_404_outside(app, client):
    with app.app_context():
        linked = db.session.scalar(select(PartyMember).join(OrgUnit, OrgUnit.id == PartyMember.org_unit_id)
                                   .where(OrgUnit.code.startswith("XY03"), PartyMember.cadre_id.is_not(None)))
        pk, cadre_id = linked.id, linked.cadre_id
        theirs = _member_in("XY04").id
        their_org = db.session.scalar(select(PartyOrg.id).where(PartyOrg.code == "PXY04T01V01"))
    login(client, "kpy_luoshan")
    assert f"/cadres/show/{cadre_id}" in client.get(f"/partymembers/show/{pk}").get_data(as_text=True)
    assert client.get(f"/partymembers/show/{theirs}").status_code == 404
    assert client.get(f"/partymembers/edit/{theirs}").status_code == 404
    assert client.get(f"/partyorgs/show/{their_org}").status_code == 404
    assert client.get("/partyorgs/tree/?root=PXY04").status_code == 404
    tree = client.get("/partyorgs/tree/").get_data(as_text=True)
    assert "罗山县" in tree and "光山县" not in tree
    login(client, "llr_luoshan_t01")  # a township liaison reads its own township's members only
    assert client.get(f"/partymembers/show/{theirs}").status_code == 404
    assert client.get("/partymembers/list/").status_code == 200


def test_api_lists_masked_phones_details_full_and_scope(app, client):
    headers = api_token(client, "kpy_luoshan")
    listing = client.get("/api/v1/partymembers/?q=(page_size:5)", headers=headers)
    assert listing.status_code == 200
    rows = listing.get_json()["result"]
    assert rows and all("phone" not in r and "****" in (r["phone_masked"] or "****") for r in rows)
    assert all(r["org_unit"]["code"].startswith("XY03") for r in rows)
    pk = listing.get_json()["ids"][0]
    detail = client.get(f"/api/v1/partymembers/{pk}", headers=headers).get_json()["result"]
    assert detail["phone"] and "*" not in detail["phone"]
    with app.app_context():
        theirs = _member_in("XY04").id
        their_org = db.session.scalar(select(PartyOrg.id).where(PartyOrg.code == "PXY04T01"))
    assert client.get(f"/api/v1/partymembers/{theirs}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/partyorgs/{their_org}", headers=headers).status_code == 404
    orgs = client.get("/api/v1/partyorgs/?q=(page_size:100)", headers=headers).get_json()["result"]
    assert orgs and all(o["org_unit"]["code"].startswith("XY03") for o in orgs)


def test_api_writes_go_through_the_checks(app, client):
    headers = api_token(client, "kpy_luoshan")
    with app.app_context():
        ours = db.session.scalar(select(PartyOrg.id).where(PartyOrg.code == "PXY03T01V02"))
        theirs = db.session.scalar(select(PartyOrg.id).where(PartyOrg.code == "PXY04T01V02"))
    body = {"code": "TAPI1", "name": "接口党员", "gender": "女", "birth_date": "1990-01-01", "education": "研究生",
            "joined_at": "2015-01-01", "confirmed_at": "2016-01-01", "status": "正式党员", "flowing": False,
            "branch": theirs, "phone": "13900001111"}
    assert client.post("/api/v1/partymembers/", json=body, headers=headers).status_code in (400, 422)
    body["branch"] = ours
    body["status"] = "预备党员"
    bad = client.post("/api/v1/partymembers/", json=body, headers=headers)
    assert bad.status_code == 400 and "预备党员不应填写转正时间" in bad.get_json()["message"]
    body["status"] = "正式党员"
    created = client.post("/api/v1/partymembers/", json=body, headers=headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    with app.app_context():
        m = db.session.scalar(select(PartyMember).where(PartyMember.code == "TAPI1"))
        assert m.org_unit.code == "XY03T01V02"


def test_edits_are_audited_with_the_phone_masked(app, client):
    with app.app_context():
        m = _member_in("XY03T02")
        pk, version = m.id, m.version
        form = {"code": m.code, "name": m.name, "gender": m.gender, "birth_date": m.birth_date.isoformat(),
                "ethnicity": m.ethnicity or "", "education": m.education, "joined_at": m.joined_at.isoformat(),
                "confirmed_at": m.confirmed_at.isoformat() if m.confirmed_at else "", "status": m.status,
                "flowing_to": "", "party_post": m.party_post or "", "branch": str(m.branch_id),
                "phone": "13700001234", "cadre": str(m.cadre_id or ""), "expected_version": str(version)}
    login(client, "kpy_luoshan")
    response = client.post(f"/partymembers/edit/{pk}", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    with app.app_context():
        assert db.session.get(PartyMember, pk).phone == "13700001234"
        entry = db.session.scalar(select(AuditLog).where(AuditLog.table_name == "party_member",
                                                         AuditLog.row_id == str(pk)).order_by(AuditLog.id.desc()))
        new = json.loads(entry.new_values)
        assert new["phone"] == "137****1234" and "13700001234" not in (entry.old_values or "") + entry.new_values
        assert entry.org_unit_id is not None and entry.username == "kpy_luoshan"


def test_a_secretary_out_of_scope_is_refused(app, ctx):
    staff = user("kpy_luoshan")
    org = db.session.scalar(select(PartyOrg).where(PartyOrg.code == "PXY03T01V03"))
    org.secretary = user("ld_guangshan")  # an account of 光山县
    with pytest.raises(DomainError, match="书记账号"):
        O.place_org(org, user=staff)
    db.session.rollback()
    org = db.session.scalar(select(PartyOrg).where(PartyOrg.code == "PXY03T01V03"))
    org.secretary = user("llr_luoshan_t01")
    O.place_org(org, user=staff)  # its own township's liaison: fine
    db.session.rollback()
