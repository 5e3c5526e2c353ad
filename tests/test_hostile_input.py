"""Hostile input: every import parser takes arbitrary bytes without crashing, imports are
all-or-nothing for generated rows, the scoring rules keep their invariants, hostile uploads
are refused in Chinese through the real web upload, stored text is escaped on every page
that shows it, and every export neutralises formulas."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
import uuid
import zipfile

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from sqlalchemy import delete, func, select

from app.core.errors import ImportRejected
from app.core.tabular import FORMULA_PREFIXES, MAX_BYTES, check_header, parse_date, read_table
from app.evaluation import scoring
from app.extensions import db
from app.models import AuditLog, Cadre, CareerRecord, EvaluationPeriod, EvaluationResult, OrgUnit, RewardPenalty
from app.org.cadres import CADRE_HEADER, import_cadres
from app.org.units import ORG_HEADER, import_units
from tests.conftest import login
from tests.jobs_support import follow_job, job_download

FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
SCRIPT_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
IMG_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def xlsx_bytes(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_of(rows) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


# ---------------------------------------------------------------- the parsers, with arbitrary input

SUFFIXES = st.sampled_from([".csv", ".xlsx", ".CSV", ".txt", "", ".xls"])


def rewrap_xlsx(member: str, payload: bytes) -> bytes:
    """A real workbook whose `member` is replaced by payload (a damaged or hostile part)."""
    good = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["干部编号", "姓名"], ["A1", "甲"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in good.infolist():
            zf.writestr(info.filename, payload if info.filename == member else good.read(info.filename))
    return out.getvalue()


def assert_parses_or_refuses(data: bytes, name: str) -> None:
    try:
        header, table = read_table(data, name)
    except (ImportRejected, ValueError) as exc:
        if isinstance(exc, ImportRejected):
            assert exc.errors and all(isinstance(msg, str) and msg for _, msg in exc.errors)
        return
    assert isinstance(header, list) and all(isinstance(h, str) for h in header)
    for line, row in table:
        assert isinstance(line, int) and all(isinstance(v, str) for v in row.values())


@FAST
@given(data=st.binary(max_size=4096), suffix=SUFFIXES)
def test_read_table_takes_arbitrary_bytes(data, suffix):
    assert_parses_or_refuses(data, "f" + suffix)


@FAST
@given(text=st.text(max_size=2000), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk", "utf-16"]))
def test_read_table_takes_arbitrary_csv_text(text, encoding):
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass") if encoding == "gbk" else text.encode("utf-8", "replace")
    assert_parses_or_refuses(data, "t.csv")


@FAST
@given(member=st.sampled_from(["xl/worksheets/sheet1.xml", "xl/workbook.xml", "xl/sharedStrings.xml",
                               "[Content_Types].xml", "xl/styles.xml"]),
       payload=st.one_of(st.binary(max_size=512),
                         st.text(max_size=300).map(lambda t: ('<?xml version="1.0"?><worksheet>' + t).encode()),
                         st.just(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                                 b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>99</v>'
                                 b"</c></row></sheetData></worksheet>")))
def test_read_table_takes_damaged_workbooks(member, payload):
    assert_parses_or_refuses(rewrap_xlsx(member, payload), "d.xlsx")


@FAST
@given(cells=st.lists(st.lists(st.one_of(st.text(max_size=20), st.integers(), st.floats(allow_nan=True),
                                         st.none(), st.dates(), st.booleans()), max_size=6), max_size=6))
def test_read_table_takes_arbitrary_workbook_cells(cells):
    clean = [[c.replace("\x00", "") if isinstance(c, str) else c for c in row] for row in cells]
    try:
        data = xlsx_bytes(clean)
    except Exception:  # openpyxl itself refuses illegal characters: nothing to upload
        assume(False)
    assert_parses_or_refuses(data, "c.xlsx")


@FAST
@given(header=st.lists(st.one_of(st.sampled_from(CADRE_HEADER + ["民族", "爱好", ""]), st.text(max_size=8)),
                       max_size=12))
def test_check_header_accepts_or_refuses_in_chinese(header):
    try:
        check_header(header, CADRE_HEADER, ["民族"])
    except ImportRejected as exc:
        assert exc.errors and all(line == 1 for line, _ in exc.errors)
        assert any(word in exc.message for word in ("缺少列", "无法识别的列", "重复的列"))
        return
    assert set(CADRE_HEADER) <= set(header)


@FAST
@given(text=st.one_of(st.text(max_size=30), st.dates().map(lambda d: d.strftime("%Y/%m/%d")),
                      st.dates().map(lambda d: d.isoformat())))
def test_parse_date_returns_a_date_or_value_error(text):
    try:
        value = parse_date(text)
    except ValueError:
        return
    assert isinstance(value, dt.date)


# ---------------------------------------------------------------- imports: all or nothing

GOOD_NAME = st.text(alphabet="王李张刘陈杨黄赵吴周甲乙丙丁伟芳", min_size=1, max_size=4)
CELL = st.text(max_size=12)


def pick(draw, valid: bool, good, bad):
    """A valid value, or (in a hostile example) a mixture of valid and hostile ones."""
    return draw(good if valid else st.one_of(good, bad))


@st.composite
def cadre_rows(draw):
    valid = draw(st.booleans())
    rows = []
    for i in range(draw(st.integers(1, 6))):
        rows.append({
            "code": pick(draw, valid, st.just("fresh"), st.sampled_from(["", "dup", "long"])),
            "i": i,
            "姓名": pick(draw, valid, GOOD_NAME, st.one_of(st.just(""), st.just(SCRIPT), CELL, st.just("名" * 51))),
            "性别": pick(draw, valid, st.sampled_from(["男", "女"]), st.sampled_from(["X", "", "male"])),
            "出生日期": pick(draw, valid, st.dates(dt.date(1950, 1, 1), dt.date(2005, 1, 1)).map(str),
                         st.sampled_from(["1980/1/2", "19800102", "1980-13-45", "", "明天"])),
            "单位编码": pick(draw, valid, st.sampled_from(["XY03T01", "XY03"]), st.sampled_from(["NOPE", ""])),
            "职务": pick(draw, valid, st.just("副镇长"), CELL),
            "职级": pick(draw, valid, st.sampled_from(["副科", "正科"]), st.just("")),
            "岗位类别": pick(draw, valid, st.sampled_from(["乡镇党政副职", "=1+1"]), st.just("")),
        })
    return rows


def materialise_codes(rows, prefix):
    out = []
    for r in rows:
        code = {"fresh": f"{prefix}{r['i']}", "": "", "dup": f"{prefix}0", "long": prefix + "x" * 40}[r["code"]]
        out.append([code] + [r[h] for h in CADRE_HEADER[1:]])
    return out


GOOD_ROW = {"code": "fresh", "i": 0, "姓名": "王伟", "性别": "男", "出生日期": "1980-01-02", "单位编码": "XY03T01",
            "职务": "副镇长", "职级": "副科", "岗位类别": "乡镇党政副职"}


@FAST
@given(rows=cadre_rows(), as_xlsx=st.booleans())
@example(rows=[GOOD_ROW, {**GOOD_ROW, "i": 1}], as_xlsx=False)  # both paths are always taken
@example(rows=[GOOD_ROW, {**GOOD_ROW, "i": 1, "单位编码": "NOPE"}], as_xlsx=True)
def test_cadre_import_writes_every_row_or_none(ctx, rows, as_xlsx):
    prefix = "HY" + uuid.uuid4().hex[:8]
    table = materialise_codes(rows, prefix)
    try:
        data = xlsx_bytes([CADRE_HEADER] + table) if as_xlsx else csv_of([CADRE_HEADER] + table)
    except Exception:  # openpyxl refuses control characters: such a workbook cannot exist
        assume(False)
    before = count(Cadre)
    try:
        result = import_cadres(data, "g.xlsx" if as_xlsx else "g.csv", user=None)
    except ImportRejected as exc:
        assert exc.errors
        db.session.rollback()
        assert count(Cadre) == before
        assert db.session.scalar(select(func.count()).select_from(Cadre).where(Cadre.code.startswith(prefix))) == 0
        return
    try:
        written = {c.code: c for c in db.session.scalars(select(Cadre).where(Cadre.code.startswith(prefix)))}
        assert result == {"created": len(table), "updated": 0}
        assert set(written) == {row[0] for row in table} and count(Cadre) == before + len(table)
        for row in table:
            assert written[row[0]].name == row[1].strip()
    finally:
        db.session.execute(delete(Cadre).where(Cadre.code.startswith(prefix)))
        db.session.commit()


@st.composite
def unit_rows(draw):
    rows = []
    n = draw(st.integers(1, 6))
    for i in range(n):
        parent = draw(st.sampled_from(["XY03", "XY03", "prev", "self", "next", "NOPE"]))
        rows.append({
            "i": i, "parent": parent,
            "name": draw(st.one_of(GOOD_NAME, st.just(""), st.just(SCRIPT), st.just("单" * 101))),
            "kind": draw(st.sampled_from(["乡镇街道", "村社区", "部门", "火星", ""])),
            "sort": draw(st.sampled_from(["", "3", "-1", "x"])),
        })
    return rows


@FAST
@given(rows=unit_rows())
@example(rows=[{"i": 0, "parent": "XY03", "name": "甲镇", "kind": "乡镇街道", "sort": ""},
               {"i": 1, "parent": "prev", "name": "乙村", "kind": "村社区", "sort": "3"}])
@example(rows=[{"i": 0, "parent": "next", "name": "甲镇", "kind": "乡镇街道", "sort": ""},
               {"i": 1, "parent": "next", "name": "乙村", "kind": "村社区", "sort": "3"}])
def test_unit_import_writes_every_row_or_none(ctx, rows):
    prefix = "HU" + uuid.uuid4().hex[:8]
    n = len(rows)

    def parent_code(r):
        i = r["i"]
        return {"XY03": "XY03", "NOPE": "NOPE", "self": f"{prefix}{i}",
                "prev": f"{prefix}{i - 1}" if i else "XY03", "next": f"{prefix}{(i + 1) % n}"}[r["parent"]]

    table = [[f"{prefix}{r['i']}", r["name"], r["kind"], parent_code(r), r["sort"]] for r in rows]
    before = count(OrgUnit)
    try:
        import_units(csv_of([ORG_HEADER + ["排序"]] + table), "u.csv", user=None)
    except ImportRejected as exc:
        assert exc.errors
        db.session.rollback()
        assert count(OrgUnit) == before
        return
    try:
        units = {u.code: u for u in db.session.scalars(select(OrgUnit).where(OrgUnit.code.startswith(prefix)))}
        assert set(units) == {row[0] for row in table} and count(OrgUnit) == before + len(table)
        for unit in units.values():  # every path ends with the unit and starts at its parent's path
            assert unit.path.endswith(f"/{unit.id}/")
            assert unit.parent is None or unit.path == f"{unit.parent.path}{unit.id}/"
    finally:
        for unit in sorted(units.values(), key=lambda u: -len(u.path)):
            db.session.delete(unit)
        db.session.commit()


def test_nul_byte_far_into_a_csv_is_refused_not_crashing(ctx):
    """The binary sniff reads 4 KB; a NUL further down must still be refused, not reach the database."""
    prefix = "HN" + uuid.uuid4().hex[:6]
    rows = [[f"{prefix}{i}", "正常", "男", "1980-01-01", "XY03T01", "副镇长", "副科", "乡镇党政副职"] for i in range(200)]
    rows.append([f"{prefix}x", "甲\x00乙", "男", "1980-01-01", "XY03T01", "副镇长", "副科", "乡镇党政副职"])
    data = csv_of([CADRE_HEADER] + rows)
    assert data.index(b"\x00") > 4096
    before = count(Cadre)
    with pytest.raises(ImportRejected):
        import_cadres(data, "nul.csv", user=None)
    db.session.rollback()
    assert count(Cadre) == before


# ---------------------------------------------------------------- scoring rules

RULES = scoring.SchemeRules(
    dimensions={"德": 0.2, "能": 0.2, "勤": 0.15, "绩": 0.3, "廉": 0.15},
    groups=(scoring.GroupRule("组织评价", "scores", 0.4), scoring.GroupRule("领导和同事评价", "scores", 0.3),
            scoring.GroupRule("群众评价", "votes", 0.3, dict(scoring.DEFAULT_VOTE_POINTS))),
    sanping_weight=0.6,
    indicators=(scoring.IndicatorRule("项目建设实绩", 0.2), scoring.IndicatorRule("基层治理实绩", 0.2)),
)
SCORE = st.floats(0, 100, allow_nan=False)


@st.composite
def aggregates(draw):
    sheets = {}
    for g in ("组织评价", "领导和同事评价"):
        for d in RULES.dimensions:
            values = draw(st.lists(SCORE, max_size=8))
            if values:
                sheets[(g, d)] = scoring.DimensionAggregate(len(values), sum(values), max(values), min(values))
    votes = {}
    if draw(st.booleans()):
        votes["群众评价"] = {k: draw(st.integers(0, 50)) for k in (*scoring.VOTE_GRADES, scoring.UNKNOWN_VOTE)}
    indicators = {i.name: draw(st.one_of(st.none(), SCORE)) for i in RULES.indicators}
    return sheets, votes, indicators


@FAST
@given(agg=aggregates(), adjustment=st.floats(-1000, 1000, allow_nan=False))
def test_composite_stays_within_0_and_100(agg, adjustment):
    sheets, votes, indicators = agg
    score = scoring.score_cadre(sheets, votes, indicators, adjustment, RULES)
    assert -RULES.adjustment_cap <= score.adjustment <= RULES.adjustment_cap
    if score.composite_raw is not None:
        assert -1e-9 <= score.composite_raw <= 100 + 1e-9
        assert 0 <= score.composite <= 100
        assert score.composite == scoring.round_half_up(score.composite)


@FAST
@given(x=st.floats(-1e9, 1e9, allow_nan=False))
def test_round_half_up_is_idempotent_and_close(x):
    once = scoring.round_half_up(x)
    assert scoring.round_half_up(once) == once
    assert abs(once - x) <= 0.005 + 1e-6 * max(1.0, abs(x))


@FAST
@given(peers=st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 200).map(lambda v: v / 2)),
                                st.booleans(), st.integers(0, 9)), min_size=1, max_size=30),
       quota=st.sampled_from([0.05, 0.1, 0.2, 0.29, 0.5, 1.0]))
def test_rank_and_grade_are_consistent_with_composites(peers, quota):
    rules = scoring.SchemeRules(**{**RULES.__dict__, "excellent_quota": quota})
    standings = [scoring.Standing(i, c, veto=v, undetermined=(u == 0)) for i, (c, v, u) in enumerate(peers)]
    out = scoring.rank_and_grade(standings, rules)
    ranked = [s for s in standings if not s.undetermined and s.composite is not None]
    for s in standings:
        rank, peer_count, _, grade = out[s.cadre_key]
        assert peer_count == len(ranked)
        if s not in ranked:
            assert rank is None and grade == (scoring.INCOMPETENT if s.veto else scoring.UNDETERMINED)
            continue
        assert rank == 1 + sum(1 for o in ranked if o.composite > s.composite)
        if s.veto:
            assert grade == scoring.INCOMPETENT
        if grade == scoring.EXCELLENT:
            assert s.composite >= rules.excellent_min
    for a in ranked:
        for b in ranked:
            if a.composite > b.composite:
                assert out[a.cadre_key][0] < out[b.cadre_key][0]
    excellent = sum(1 for s in standings if out[s.cadre_key][3] == scoring.EXCELLENT)
    assert excellent <= scoring.quota_places(quota, len(ranked))


# ---------------------------------------------------------------- hostile uploads through the web


def upload(client, data: bytes, name: str):
    return client.post("/cadres/upload/", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def zip_bomb(megabytes: int = 300) -> bytes:
    """A small .xlsx-shaped zip whose one member inflates to `megabytes` MB of zeros."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(megabytes):
                member.write(chunk)
    return buf.getvalue()


def gbk_csv() -> bytes:
    return ("干部编号,姓名,性别,出生日期,单位编码,职务,职级,岗位类别\n"
            "HG0001,张三,男,1980-01-01,XY03T01,副镇长,副科,乡镇党政副职\n").encode("gbk")


BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8


@pytest.mark.parametrize(
    "name,make,fragment",
    [
        ("bomb.xlsx", zip_bomb, "压缩炸弹"),
        ("photo.csv", lambda: BINARY, "二进制"),
        ("gbk.csv", gbk_csv, "UTF-8"),
        ("junk.xlsx", lambda: BINARY, "无法读取 Excel"),
    ],
    ids=["zip-bomb-xlsx", "binary-renamed-csv", "gbk-csv", "binary-renamed-xlsx"],
)
def test_hostile_upload_is_refused_in_chinese_and_writes_nothing(client, app, name, make, fragment):
    login(client, "kpy_luoshan")
    data = make()
    with app.app_context():
        before = count(Cadre), count(AuditLog)
    started = time.monotonic()
    html = follow_job(client, app, upload(client, data, name))  # the import runs as a background job
    elapsed = time.monotonic() - started
    assert "导入被拒绝，未写入任何数据" in html and fragment in html
    assert elapsed < 10, f"refusing {name} took {elapsed:.1f}s"
    with app.app_context():
        assert (count(Cadre), count(AuditLog)) == before


def test_upload_over_the_size_limit_gets_the_chinese_413_page(client, app):
    login(client, "kpy_luoshan")
    assert app.config["MAX_CONTENT_LENGTH"] == MAX_BYTES
    data = b"a" * (MAX_BYTES + 1024)
    with app.app_context():
        before = count(Cadre)
    response = upload(client, data, "huge.csv")
    html = response.get_data(as_text=True)
    # Werkzeug stops reading at MAX_CONTENT_LENGTH: the app's 413 page, in Chinese, not the import page.
    assert response.status_code == 413 and "上传的文件过大" in html and "Request Entity Too Large" not in html
    with app.app_context():
        assert count(Cadre) == before


def test_service_refuses_a_file_over_the_size_limit_in_chinese(ctx):
    with pytest.raises(ImportRejected) as err:
        read_table(b"a" * (MAX_BYTES + 1), "big.csv")
    assert "文件过大" in err.value.message


# ---------------------------------------------------------------- stored XSS


@pytest.fixture()
def hostile_cadre(app):
    """A cadre (and its reward and career record) whose free text is an XSS payload."""
    token = uuid.uuid4().hex[:8]
    with app.app_context():
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY03T01"))
        cadre = Cadre(code=f"HX{token}", name="占位", gender="男", org_unit_id=unit.id, position=IMG,
                      post_category="乡镇党政副职", status="在职")
        db.session.add(cadre)
        db.session.commit()
        cadre.name = SCRIPT  # an update: the audit trail holds old → new with the payload
        db.session.add(RewardPenalty(cadre_id=cadre.id, kind="奖励", date=dt.date(2024, 1, 1),
                                     title=f"{SCRIPT}{IMG}{token}", issuer=IMG))
        db.session.add(CareerRecord(cadre_id=cadre.id, start_date=dt.date(2020, 1, 1), unit_name=IMG,
                                    position=f"{SCRIPT}{token}"))
        db.session.commit()
        ids = {
            "token": token, "cadre": cadre.id,
            "reward": db.session.scalar(select(RewardPenalty.id).where(RewardPenalty.cadre_id == cadre.id)),
            "career": db.session.scalar(select(CareerRecord.id).where(CareerRecord.cadre_id == cadre.id)),
            "audit": db.session.scalar(select(func.max(AuditLog.id)).where(
                AuditLog.table_name == "cadre", AuditLog.row_id == str(cadre.id))),
        }
    yield ids
    with app.app_context():
        db.session.execute(delete(CareerRecord).where(CareerRecord.cadre_id == ids["cadre"]))
        db.session.execute(delete(RewardPenalty).where(RewardPenalty.cadre_id == ids["cadre"]))
        db.session.execute(delete(Cadre).where(Cadre.id == ids["cadre"]))
        db.session.commit()


def assert_escaped(response, *escaped: str) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 200, (response.status_code, html[:300])
    assert SCRIPT not in html and "<img src=x" not in html
    for fragment in escaped:
        assert fragment in html


def test_stored_xss_is_escaped_on_every_page(client, hostile_cadre):
    h = hostile_cadre
    login(client, "kpy_luoshan")
    pages = {
        f"/cadres/list/?_flt_0_code=HX{h['token']}": (SCRIPT_ESCAPED, IMG_ESCAPED),
        f"/cadres/show/{h['cadre']}": (SCRIPT_ESCAPED, IMG_ESCAPED),
        f"/cadres/edit/{h['cadre']}": (),
        f"/rewardspenalties/list/?_flt_2_title={h['token']}": (SCRIPT_ESCAPED, IMG_ESCAPED),
        f"/rewardspenalties/show/{h['reward']}": (SCRIPT_ESCAPED, IMG_ESCAPED),
        f"/rewardspenalties/edit/{h['reward']}": (SCRIPT_ESCAPED,),
        f"/careerrecords/list/?_flt_2_position={h['token']}": (SCRIPT_ESCAPED, IMG_ESCAPED),
        f"/careerrecords/show/{h['career']}": (SCRIPT_ESCAPED, IMG_ESCAPED),
        f"/careerrecords/edit/{h['career']}": (SCRIPT_ESCAPED,),
        f"/cadre-profile/{h['cadre']}": (SCRIPT_ESCAPED,),
    }
    for path, escaped in pages.items():
        assert_escaped(client.get(path), *escaped)
    for path in (f"/cadre-profile/{h['cadre']}/json", f"/lookup/cadres?q={SCRIPT}"):
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == "application/json", path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    lookup = client.get("/lookup/cadres", query_string={"q": SCRIPT}).get_json()
    assert any(item["text"].startswith(SCRIPT) for item in lookup["results"])
    export = client.get(f"/cadres/export/csv?_flt_0_code=HX{h['token']}")
    assert export.mimetype == "text/csv" and export.headers["Content-Disposition"].startswith("attachment")
    assert export.headers["X-Content-Type-Options"] == "nosniff" and SCRIPT in export.get_data(as_text=True)


def test_stored_xss_is_escaped_in_the_audit_log(client, hostile_cadre):
    login(client, "admin")
    assert_escaped(client.get(f"/auditlog/show/{hostile_cadre['audit']}"), SCRIPT_ESCAPED)
    assert_escaped(client.get("/auditlog/list/?_flt_0_table_name=cadre"), SCRIPT_ESCAPED)


# ---------------------------------------------------------------- formula injection in every export

FORMULAS = {"name": "=HYPERLINK(\"http://x\",\"y\")", "position": "+cmd|' /C calc'!A0", "unit": "-2+3",
            "title": "@SUM(A1:A9)", "issuer": "\t=1+1", "unit_name": "=1+1"}


def formula_cells_of(response, fmt: str) -> tuple[list[str], list]:
    """(text cells that start like a formula, every cell) of an export answer."""
    if fmt == "csv":
        body = response.get_data().decode("utf-8-sig")
        cells = [c for row in csv.reader(io.StringIO(body)) for c in row]

        def is_number(c):
            try:
                float(c)
                return True
            except ValueError:
                return False

        return [c for c in cells if c.startswith(FORMULA_PREFIXES) and not is_number(c)], cells
    ws = load_workbook(io.BytesIO(response.data)).worksheets[0]
    cells = [c for row in ws.iter_rows() for c in row]
    bad = [c.value for c in cells if c.data_type in ("s", "f") and str(c.value).startswith(FORMULA_PREFIXES)]
    return bad, [c.value for c in cells]


@pytest.fixture()
def formula_rows(app):
    token = uuid.uuid4().hex[:6]
    with app.app_context():
        town = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY03T01"))
        unit = OrgUnit(code=f"HF{token}", name=FORMULAS["unit"], kind="village", parent_id=town.id,
                       path="", sort_order=0)
        from app.org.units import place_unit

        place_unit(unit, user=None)
        cadre = Cadre(code=f"HF{token}", name=FORMULAS["name"], gender="男", org_unit_id=unit.id,
                      position=FORMULAS["position"], post_category="村党组织书记", status="在职")
        db.session.add(cadre)
        db.session.flush()
        db.session.add(RewardPenalty(cadre_id=cadre.id, kind="奖励", date=dt.date(2024, 1, 1),
                                     title=FORMULAS["title"] + token, issuer=FORMULAS["issuer"]))
        db.session.add(CareerRecord(cadre_id=cadre.id, start_date=dt.date(2020, 1, 1),
                                    unit_name=FORMULAS["unit_name"], position=f"职{token}"))
        period = db.session.scalar(select(EvaluationPeriod).where(EvaluationPeriod.computed_at.is_not(None))
                                   .order_by(EvaluationPeriod.id.desc()))
        result = EvaluationResult(period_id=period.id, cadre_id=cadre.id, sanping=-0.5, adjustment=-2.0,
                                  composite=-0.0, rank=1, peer_count=1, grade="不称职", flags="=cmd",
                                  computed_at=dt.datetime.now(), group_scores={}, indicator_scores={})
        db.session.add(result)
        db.session.commit()
        ids = {"token": token, "cadre": cadre.id, "unit": unit.id, "period": period.code}
    yield ids
    with app.app_context():
        db.session.execute(delete(EvaluationResult).where(EvaluationResult.cadre_id == ids["cadre"]))
        db.session.execute(delete(CareerRecord).where(CareerRecord.cadre_id == ids["cadre"]))
        db.session.execute(delete(RewardPenalty).where(RewardPenalty.cadre_id == ids["cadre"]))
        db.session.execute(delete(Cadre).where(Cadre.id == ids["cadre"]))
        db.session.execute(delete(OrgUnit).where(OrgUnit.id == ids["unit"]))
        db.session.commit()


def export_plans(ids) -> dict[str, tuple[str, str, str | None]]:
    """endpoint -> (user, query string, a planted text that must come out quoted)."""
    t = ids["token"]
    return {
        "CadreView.export": ("kpy_luoshan", f"_flt_0_code=HF{t}", FORMULAS["name"]),
        "CareerRecordView.export": ("kpy_luoshan", f"_flt_2_position={t}", FORMULAS["unit_name"]),  # if offered
        "RewardPenaltyView.export": ("kpy_luoshan", f"_flt_2_title={t}", FORMULAS["title"] + t),  # if offered
        "OrgUnitView.export": ("kpy_luoshan", f"_flt_0_code=HF{t}", FORMULAS["unit"]),
        "ResultView.export": ("kpy_luoshan", f"period={ids['period']}", None),
        "ResultView.golden": ("kpy_luoshan", f"period={ids['period']}", FORMULAS["name"]),
        "AuditLogView.export": ("admin", "", None),
    }


def test_every_export_endpoint_neutralises_formulas(app, client, formula_rows):
    endpoints = sorted({r.endpoint for r in app.url_map.iter_rules()
                        if "/export/" in r.rule or r.endpoint.endswith((".export", ".golden"))})
    plans = export_plans(formula_rows)
    assert {"CadreView.export", "OrgUnitView.export", "AuditLogView.export", "ResultView.golden"} <= set(endpoints)
    checked = []
    for endpoint in endpoints:  # the planned ones with planted rows; any other export as admin, as it comes
        user, query, planted = plans.get(endpoint, ("admin", "", None))
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        view = next((v for v in app.appbuilder.baseviews if type(v).__name__ == endpoint.split(".")[0]), None)
        if endpoint.endswith(".export") and getattr(view, "export_columns", None) == []:
            login(client, "admin")  # the route exists but the screen offers no export: 404, nothing leaks
            assert client.get(rule.rule.replace("<fmt>", "csv")).status_code == 404
            continue
        for fmt in ("csv", "xlsx"):
            login(client, user)
            path = rule.rule.replace("<fmt>", fmt)
            response = client.get(f"{path}?{query}")
            if response.status_code == 302 and "/jobs/" in response.headers["Location"]:
                response = job_download(client, app, response)  # a big export: a background job's file
            if endpoint not in plans and response.status_code in (302, 403, 404):
                continue  # an export this test does not know yet, not reachable without arguments
            assert response.status_code == 200, (endpoint, fmt, response.status_code)
            bad, cells = formula_cells_of(response, fmt)
            assert not bad, f"{endpoint} {fmt}: formula-like text cells {bad[:5]}"
            if planted is not None:
                assert "'" + planted in cells, f"{endpoint} {fmt}: planted {planted!r} not exported quoted"
            checked.append(f"{endpoint}:{fmt}")
    print("exports checked:", checked)
    assert {"CadreView.export:xlsx", "ResultView.golden:csv", "AuditLogView.export:csv"} <= set(checked)


# ---------------------------------------------------------------- NUL characters (PostgreSQL cannot hold them)


@pytest.mark.parametrize("method,path,data", [
    ("post", "/login/", {"username": "admin\x00", "password": "x"}),
    ("get", "/cadres/list/?_flt_0_name=%00", None),
    ("get", "/lookup/cadres?q=a%00b", None),
])
def test_a_nul_character_in_a_request_is_a_bad_request_not_a_crash(client, method, path, data):
    login(client, "kpy_luoshan")
    response = getattr(client, method)(path, data=data)
    assert response.status_code == 400 and "请求无效" in response.get_data(as_text=True)
