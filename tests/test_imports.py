"""Imports are all-or-nothing with every bad row listed; exports are formula-safe."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.core.errors import ImportRejected
from app.core.tabular import write_csv, write_xlsx
from app.extensions import db
from app.models import Cadre, OrgUnit
from app.org.cadres import import_cadres
from app.org.units import import_units
from tests.conftest import login, run_cli
from tests.jobs_support import follow_job

HEADER = "干部编号,姓名,性别,出生日期,单位编码,职务,职级,岗位类别"


def csv_bytes(*lines: str, bom: bool = False) -> bytes:
    text = "\n".join((HEADER,) + lines) + "\n"
    return (("\ufeff" if bom else "") + text).encode("utf-8")


def cadre_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Cadre))


def test_good_csv_with_bom_imports_and_updates(ctx):
    data = csv_bytes("TI0001,测试甲,男,1980-01-02,XY03T01,副镇长,副科,乡镇党政副职", bom=True)
    assert import_cadres(data, "a.csv", user=None) == {"created": 1, "updated": 0}
    data = csv_bytes("TI0001,测试甲乙,男,1980/1/2,XY03T01,镇长,正科,乡镇党政正职")
    assert import_cadres(data, "a.csv", user=None) == {"created": 0, "updated": 1}
    cadre = db.session.scalar(select(Cadre).where(Cadre.code == "TI0001"))
    assert cadre.name == "测试甲乙" and cadre.post_category == "乡镇党政正职"


def test_bad_rows_reject_the_whole_file_and_each_is_listed(ctx):
    before = cadre_count()
    data = csv_bytes(
        "TI0100,好人,男,1980-01-02,XY03T01,副镇长,副科,乡镇党政副职",
        "TI0101,,男,1980-01-02,XY03T01,副镇长,副科,乡镇党政副职",
        "TI0102,坏日期,男,1980-13-45,XY03T01,副镇长,副科,乡镇党政副职",
        "TI0103,坏单位,男,1980-01-02,NOPE,副镇长,副科,乡镇党政副职",
        "TI0104,坏性别,X,1980-01-02,XY03T01,副镇长,副科,乡镇党政副职",
        "TI0100,重复,男,1980-01-02,XY03T01,副镇长,副科,乡镇党政副职",
    )
    with pytest.raises(ImportRejected) as err:
        import_cadres(data, "bad.csv", user=None)
    lines = {row for row, _ in err.value.errors}
    assert lines == {3, 4, 5, 6, 7}
    text = err.value.message
    for fragment in ("姓名不能为空", "不是有效日期", "NOPE", "性别", "重复"):
        assert fragment in text
    assert cadre_count() == before
    assert db.session.scalar(select(Cadre).where(Cadre.code == "TI0100")) is None


@pytest.mark.parametrize(
    "data,name,fragment",
    [
        ("干部编号,姓名\nX,Y\n".encode(), "h.csv", "缺少列"),
        ((HEADER + ",爱好\nX,Y,男,1980-01-01,XY03,a,b,c,d\n").encode(), "h.csv", "无法识别的列"),
        ((HEADER + "\nTI9,张三,男,1980-01-01,XY03,a,b,c\n").encode("gbk"), "g.csv", "UTF-8"),
        (b"\x00\x01\x02binary", "x.csv", "二进制"),
        (b"not a zip", "x.xlsx", "无法读取"),
        (b"", "e.csv", "文件为空"),
        (b"abc", "x.txt", ".xlsx 或 .csv"),
    ],
)
def test_malformed_files_are_refused_in_chinese(ctx, data, name, fragment):
    before = cadre_count()
    with pytest.raises(ImportRejected) as err:
        import_cadres(data, name, user=None)
    assert fragment in err.value.message
    assert cadre_count() == before


def test_xlsx_import_reads_dates_and_numbers(ctx):
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER.split(","))
    import datetime as dt
    ws.append(["TI0200", "表格人", "女", dt.datetime(1985, 3, 4), "XY03T02", "副镇长", "副科", "乡镇党政副职"])
    buf = io.BytesIO()
    wb.save(buf)
    assert import_cadres(buf.getvalue(), "c.xlsx", user=None)["created"] == 1
    cadre = db.session.scalar(select(Cadre).where(Cadre.code == "TI0200"))
    assert cadre.birth_date == dt.date(1985, 3, 4)


def test_org_import_builds_paths_and_moving_keeps_descendants_right(ctx):
    data = ("单位编码,单位名称,类型,上级编码\n"
            "TU1,测试镇,乡镇街道,XY03\nTU1V1,测试村,村社区,TU1\n").encode()
    counts = import_units(data, "u.csv", user=None)
    assert (counts["created"], counts["updated"], counts["renamed"], counts["moved"]) == (2, 0, [], [])
    town = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "TU1"))
    village = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "TU1V1"))
    county3 = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY03"))
    assert village.path == f"{county3.path}{town.id}/{village.id}/"
    import_units("单位编码,单位名称,类型,上级编码\nTU1,测试镇,乡镇街道,XY04\n".encode(), "m.csv", user=None)
    db.session.expire_all()
    county4 = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY04"))
    village = db.session.get(OrgUnit, village.id)
    assert village.path == f"{county4.path}{town.id}/{village.id}/"


def test_org_import_rejects_unknown_parent_bad_kind_and_cycles(ctx):
    before = db.session.scalar(select(func.count()).select_from(OrgUnit))
    data = ("单位编码,单位名称,类型,上级编码\n"
            "TC1,甲,乡镇街道,NOPE\nTC2,乙,火星,XY03\nTC3,丙,村社区,TC4\nTC4,丁,村社区,TC3\n").encode()
    with pytest.raises(ImportRejected) as err:
        import_units(data, "c.csv", user=None)
    rows = {row for row, _ in err.value.errors}
    assert {2, 3} <= rows and (4 in rows or 5 in rows)
    assert "循环" in err.value.message
    assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == before


def test_web_upload_lists_every_bad_row(client, app):
    login(client, "kpy_luoshan")
    data = csv_bytes(
        "TW0001,越权,男,1980-01-02,XY04T01,副镇长,副科,乡镇党政副职",
        "TW0002,坏,男,1980-01-02,XY03T01,副镇长,副科,",
    )
    response = client.post("/cadres/upload/", data={"file": (io.BytesIO(data), "w.csv")},
                           content_type="multipart/form-data")
    html = follow_job(client, app, response)  # the import runs as a background job
    assert "导入被拒绝" in html
    assert "XY04T01" in html and "岗位类别不能为空" in html
    with app.app_context():
        assert db.session.scalar(select(Cadre).where(Cadre.code.in_(["TW0001", "TW0002"]))) is None


def test_upload_is_refused_to_read_only_roles(client):
    login(client, "ld_luoshan")
    response = client.post("/cadres/upload/", data={"file": (io.BytesIO(csv_bytes()), "w.csv")},
                           content_type="multipart/form-data")
    assert response.status_code in (302, 403)


def test_cli_import_exits_non_zero_and_writes_nothing(fresh_db_url, tmp_path):
    run_cli(fresh_db_url, "setup")
    units = tmp_path / "units.csv"
    units.write_text("单位编码,单位名称,类型,上级编码\nC0,示例市,市,\nX0,示例县,县区,C0\n", encoding="utf-8")
    run_cli(fresh_db_url, "org", "import", str(units))
    bad = tmp_path / "cadres.csv"
    bad.write_text(HEADER + "\nG1,甲,男,1980-01-01,X0,a,b,c\nG2,乙,男,1980-01-01,NOPE,a,b,c\n", encoding="utf-8")
    result = run_cli(fresh_db_url, "cadres", "import", str(bad), check=False)
    assert result.returncode != 0 and "第 3 行" in result.stderr and "NOPE" in result.stderr
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "\nG1,甲,男,1980-01-01,X0,a,b,c\n", encoding="utf-8")
    assert "新增 1" in run_cli(fresh_db_url, "cadres", "import", str(good)).stdout


# --- exports -----------------------------------------------------------------------

HOSTILE = ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "正常"]


def test_csv_export_neutralises_formulas_and_keeps_numbers():
    body = write_csv(["文本", "数"], [[t, 1.5] for t in HOSTILE]).decode("utf-8-sig")
    lines = body.splitlines()[1:]
    assert [line.split(",")[0].strip('"') for line in lines[:5]] == ["'=1+1", "'+cmd", "'-2+3", "'@SUM(A1)", "'\tx"]
    assert lines[5].startswith("正常,1.5")


def test_xlsx_export_neutralises_formulas_and_keeps_numbers():
    ws = load_workbook(io.BytesIO(write_xlsx(["文本", "数"], [[t, 2] for t in HOSTILE]))).active
    values = [(row[0].value, row[0].data_type, row[1].value, row[1].data_type) for row in ws.iter_rows(min_row=2)]
    assert all(not str(v).startswith(("=", "+", "-", "@", "\t")) for v, *_ in values)
    assert all(t == "s" for _, t, _, _ in values)
    assert all(n == 2 and nt == "n" for _, _, n, nt in values)


def test_cadre_export_of_filtered_list_is_safe(client, app):
    with app.app_context():
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY03T03"))
        db.session.add(Cadre(code="TX0001", name="=HYPERLINK(\"x\")", gender="男", org_unit_id=unit.id,
                             post_category="乡镇党政副职", status="在职"))
        db.session.commit()
    login(client, "kpy_luoshan")
    response = client.get("/cadres/export/xlsx?_flt_0_code=TX0001")
    ws = load_workbook(io.BytesIO(response.data)).active
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 1 and rows[0][0] == "TX0001" and rows[0][1].startswith("'=")


def test_an_import_rows_key_is_checked_once_for_every_register():
    """tabular.key_error: the cadre, party-member and party-org imports' key rule."""
    from app.core.tabular import key_error

    seen: dict = {}
    assert key_error("", "党员编号", seen, 2) == "党员编号不能为空"
    assert key_error("X" * 33, "干部编号", seen, 3) == "干部编号过长（最多 32 个字符）"
    assert key_error("DY1", "党员编号", seen, 4) is None and seen == {"DY1": 4}
    assert key_error("DY1", "党员编号", seen, 5) == "党员编号 DY1 与第 4 行重复"
    assert seen == {"DY1": 4}
