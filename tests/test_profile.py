"""The 特写: assembly, narrative, JSON, Word, scope, unpublished results, the written conclusion,
the comparison and the leader's dashboard, on the fixed data of tests/profile_data.py."""

from __future__ import annotations

import io
import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import AuditLog, Cadre, CadreConclusion, OrgUnit
from app.profile.assemble import build_profile, narrative
from tests import profile_data
from tests.conftest import login

EXPECTED_NARRATIVE = [
    "2023年度综合得分 91.20 分，在同类干部（乡镇党政副职，4 人）中排名第 1 位，位于前 25.0%。",
    "五维度中“绩”最突出，得分 95.00 分，高于同类平均 11.00 分。",
    "“廉”相对薄弱，得分 86.00 分，低于同类平均 1.50 分。",
    "2021年度至2023年度共 3 个考评期综合得分持续上升，由 82.50 分变为 91.20 分（+8.70 分）。",
    "本期考评等次为优秀。",
    "作为责任人承办督查事项 4 项，其中已超期 1 项、超期已完成 1 项。",
    "涉及本人的督查发现问题 2 个，其中严重 1 个、较重 0 个，整改超期 1 个。",
]


@pytest.fixture(scope="module")
def data(app):
    with app.app_context():
        return profile_data.build()


@pytest.fixture()
def a_id(data):
    return data["ids"]["A"]


def guangshan_cadre(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Cadre.id).join(OrgUnit, Cadre.org_unit_id == OrgUnit.id)
            .where(OrgUnit.code.startswith("XY04")).order_by(Cadre.id).limit(1)
        )


# ---------------------------------------------------------------- assembly and narrative

def test_profile_assembly(app, data, a_id):
    with app.app_context():
        p = build_profile(a_id, user=None)
    assert p["cadre"]["name"] == "特写甲" and p["cadre"]["unit"]["code"] == "XY03T02"
    assert p["cadre"]["post_category"] == "乡镇党政副职"
    assert [h["period"]["name"] for h in p["history"]] == ["2021年度", "2022年度", "2023年度"]
    assert [h["composite"] for h in p["history"]] == [82.5, 85.0, 91.2]
    latest = p["latest"]
    assert (latest["rank"], latest["peer_count"], latest["percentile"], latest["grade"]) == (1, 4, 25.0, "优秀")
    assert latest["delta"] == 6.2
    assert p["groups"] == ["组织评价", "领导和同事评价", "群众评价"]
    assert latest["group_scores"] == {"组织评价": 92.2, "领导和同事评价": 91.2, "群众评价": 90.2}
    assert [(d["name"], d["score"], d["peer_avg"], d["diff"]) for d in p["dimensions"]] == [
        ("德", 90.0, 87.0, 3.0), ("能", 88.0, 85.0, 3.0), ("勤", 92.0, 85.0, 7.0),
        ("绩", 95.0, 84.0, 11.0), ("廉", 86.0, 87.5, -1.5),
    ]
    assert p["peer"] == {"category": "乡镇党政副职", "count": 4, "avg_composite": 84.65}
    # Only approved adjustments count and are shown.
    assert p["adjustments"] == [{"kind": "加分", "value": 1.0, "reason": "重点项目攻坚"}]
    assert p["conclusion"]["version"] == 0 and p["conclusion"]["period_id"] == data["period_ids"][2023]
    s = p["supervision"]
    assert (s["total"], s["open"], s["completed"], s["terminated"]) == (4, 2, 1, 1)
    assert (s["red"], s["yellow"], s["overdue_done"], s["overdue"]) == (1, 0, 1, 2)
    assert {t["code"][-2:]: t["light"] for t in s["items"]} == {
        "T1": "overdue_done", "T2": "red", "T3": "green", "T4": None}
    f = p["findings"]
    assert (f["total"], f["严重"], f["一般"], f["较重"], f["open"], f["rectification_overdue"]) == (2, 1, 1, 0, 1, 1)
    assert [c["position"] for c in p["career"]] == ["科员", "副镇长"]
    assert [r["title"] for r in p["rewards"]] == ["市级先进个人"]


def test_narrative_exact_sentences(app, a_id):
    with app.app_context():
        assert narrative(build_profile(a_id, user=None)) == EXPECTED_NARRATIVE


def test_narrative_with_unpublished_period(app, a_id):
    with app.app_context():
        p = build_profile(a_id, unpublished=True, user=None)
    assert p["latest"]["period"]["name"] == "2024年度" and len(p["history"]) == 4
    assert narrative(p)[:4] == [
        "2024年度综合得分 70.00 分，在同类干部（乡镇党政副职，1 人）中排名第 1 位，位于前 100.0%。",
        "各维度得分均与同类平均持平。",
        "2021年度至2024年度共 4 个考评期综合得分总体下降，由 82.50 分变为 70.00 分（-12.50 分）。",
        "本期考评等次为基本称职。",
    ]


def test_narrative_of_veto_and_short_history(app, data):
    with app.app_context():
        d = narrative(build_profile(data["ids"]["D"], user=None))
        s1 = narrative(build_profile(data["ids"]["S1"], user=None))
        b, c = build_profile(data["ids"]["B"], user=None), build_profile(data["ids"]["C"], user=None)
    assert "本期存在一票否决事项，等次为不称职。" in d
    assert "仅有一个考评期的结果，暂无纵向比较。" in s1
    # B: no dimension below the peer average; C: 83 → 80 → 83.
    assert narrative(b)[2] == "各维度均不低于同类平均，“勤”领先最少，得分 85.00 分，与同类平均持平。"
    assert narrative(c)[3] == "2021年度至2023年度共 3 个考评期综合得分有所波动、首末持平，由 83.00 分变为 83.00 分（0.00 分）。"


def _plain_profile(composites: list[float]) -> dict:
    """A minimal profile (narrative is pure: plain values in, sentences out)."""
    history = [{"period": {"name": f"{2020 + i}年度"}, "composite": c, "rank": 1, "peer_count": 2,
                "percentile": 50.0, "veto": False, "undetermined": False, "grade": "称职"}
               for i, c in enumerate(composites)]
    return {"latest": history[-1], "history": history, "dimensions": [], "cadre": {"post_category": "乡镇党政正职"},
            "supervision": {"total": 0}, "findings": {"total": 0}}


@pytest.mark.parametrize("composites, word", [
    ([80, 82], "上升"), ([82, 80], "下降"), ([80, 81, 83], "持续上升"), ([80, 85, 83], "总体上升"),
    ([83, 81, 80], "持续下降"), ([80, 80], "保持不变"), ([80, 78, 80], "有所波动、首末持平"),
])
def test_trend_words(composites, word):
    sentence = narrative(_plain_profile(composites))[1]
    assert f"考评期综合得分{word}，" in sentence, sentence


# ---------------------------------------------------------------- endpoints

def test_json_has_the_same_facts(client, a_id):
    login(client, "ld_luoshan")
    body = client.get(f"/cadre-profile/{a_id}/json").get_json()
    assert body["narrative"] == EXPECTED_NARRATIVE
    assert body["cadre"]["name"] == "特写甲"
    assert body["latest"]["composite"] == 91.2 and body["latest"]["grade"] == "优秀"
    assert [h["period"]["name"] for h in body["history"]] == ["2021年度", "2022年度", "2023年度"]
    assert body["dimensions"][3] == {"name": "绩", "score": 95.0, "peer_avg": 84.0, "diff": 11.0}


def test_html_page_shows_the_figures(client, a_id):
    login(client, "ld_luoshan")
    html = client.get(f"/cadre-profile/{a_id}").get_data(as_text=True)
    for sentence in EXPECTED_NARRATIVE:
        assert sentence in html
    assert 'id="profile-data"' in html and 'id="radar-chart"' in html and 'id="trend-chart"' in html
    assert "91.20" in html and "84.65" in html
    assert "onclick" not in html
    assert 'name="text"' not in html  # a county leader cannot write the conclusion


def test_unpublished_results_only_with_read_unpublished(client, a_id):
    login(client, "ld_luoshan")
    assert "2024年度" not in client.get(f"/cadre-profile/{a_id}").get_data(as_text=True)
    login(client, "kpy_luoshan")
    body = client.get(f"/cadre-profile/{a_id}/json").get_json()
    assert body["latest"]["period"]["name"] == "2024年度"


@pytest.mark.parametrize("suffix", ["", "/json", "/docx"])
def test_other_county_leader_gets_404(client, a_id, suffix):
    login(client, "ld_guangshan")
    assert client.get(f"/cadre-profile/{a_id}{suffix}").status_code == 404
    assert client.get(f"/cadre-profile/99999999{suffix}").status_code == 404


def test_own_county_leader_and_city_staff_see_it(client, a_id):
    for user in ("ld_luoshan", "kpy_city", "dcy_luoshan"):
        login(client, user)
        assert client.get(f"/cadre-profile/{a_id}").status_code == 200, user


def test_cadre_without_results(client, data):
    cadre_id = data["ids"]["N"]
    login(client, "ld_luoshan")
    html = client.get(f"/cadre-profile/{cadre_id}").get_data(as_text=True)
    assert "暂无可查看的考评结果" in html and 'id="radar-chart"' not in html
    body = client.get(f"/cadre-profile/{cadre_id}/json").get_json()
    assert body["history"] == [] and body["latest"] is None and body["narrative"] == ["暂无可查看的考评结果。"]
    assert client.get(f"/cadre-profile/{cadre_id}/docx").status_code == 200


def test_liaison_has_no_profile(client, a_id):
    login(client, "llr_luoshan_t01")
    assert client.get(f"/cadre-profile/{a_id}").status_code in (302, 403)


def test_docx_opens_with_name_grade_and_narrative(client, a_id):
    from docx import Document

    login(client, "ld_luoshan")
    response = client.get(f"/cadre-profile/{a_id}/docx")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    doc = Document(io.BytesIO(response.data))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = "\n".join(c.text for t in doc.tables for row in t.rows for c in row.cells)
    assert "特写甲同志考察材料" in text
    assert "优秀" in cells and "91.20" in cells and "乡镇党政副职" in cells
    for sentence in EXPECTED_NARRATIVE:
        assert sentence in text


# ---------------------------------------------------------------- query count (no N+1)

class QueryCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._hit)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._hit)

    def _hit(self, *args, **kwargs):
        self.count += 1


def count_queries(app, client, url) -> int:
    with app.app_context():
        engine = db.engine
    client.get(url)  # warm up
    with QueryCounter(engine) as counter:
        assert client.get(url).status_code == 200
    return counter.count


@pytest.mark.parametrize("suffix", ["", "/json"])
def test_query_count_does_not_grow_with_history(app, client, data, suffix):
    login(client, "ld_luoshan")
    one = count_queries(app, client, f"/cadre-profile/{data['ids']['S1']}{suffix}")
    five = count_queries(app, client, f"/cadre-profile/{data['ids']['S5']}{suffix}")
    with app.app_context():
        assert len(build_profile(data["ids"]["S5"], user=None)["history"]) == 5
    assert one == five, (one, five)
    assert one <= 25


# ---------------------------------------------------------------- written conclusion

def test_conclusion_versioned_and_audited(app, client, data, a_id):
    url = f"/cadre-profile/{a_id}/conclusion"
    period = data["period_ids"][2023]
    login(client, "ld_luoshan")
    assert client.post(url, data={"period_id": period, "version": 0, "text": "领导不能写"}).status_code == 403
    login(client, "kpy_city")  # sees 2024 (unpublished) too: writes on the period it posts
    response = client.post(url, data={"period_id": period, "version": 0, "text": "政治坚定，实绩突出。"})
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalar(select(CadreConclusion).where(CadreConclusion.cadre_id == a_id))
        assert (row.text, row.version, row.updated_by) == ("政治坚定，实绩突出。", 1, "kpy_city")
        audited = db.session.scalar(select(func.count(AuditLog.id)).where(
            AuditLog.table_name == "cadre_conclusion", AuditLog.row_id == str(row.id)))
        assert audited == 1
    # A second editor who started from version 0 is refused, in Chinese, and nothing is written.
    login(client, "kpy_luoshan")
    stale = client.post(url, data={"period_id": period, "version": 0, "text": "覆盖别人的结论"})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "已被kpy_city" in html and "您的修改未保存" in html and "覆盖别人的结论" in html
    ok = client.post(url, data={"period_id": period, "version": 1, "text": "政治坚定，实绩突出，群众认可。"})
    assert ok.status_code == 302
    with app.app_context():
        row = db.session.scalar(select(CadreConclusion).where(CadreConclusion.cadre_id == a_id))
        assert (row.text, row.version) == ("政治坚定，实绩突出，群众认可。", 2)
        audited = db.session.scalar(select(func.count(AuditLog.id)).where(
            AuditLog.table_name == "cadre_conclusion", AuditLog.row_id == str(row.id)))
        assert audited == 2
    login(client, "ld_luoshan")
    body = client.get(f"/cadre-profile/{a_id}/json").get_json()
    assert body["conclusion"]["text"] == "政治坚定，实绩突出，群众认可。" and body["conclusion"]["version"] == 2


def test_conclusion_refused_for_hidden_period_and_other_county(client, data, a_id):
    login(client, "kpy_luoshan")
    hidden = data["period_ids"][2019]  # A has no result there
    url = f"/cadre-profile/{a_id}/conclusion"
    assert client.post(url, data={"period_id": hidden, "version": 0, "text": "x"}).status_code == 404
    assert client.post(url, data={"period_id": data["period_ids"][2023], "version": 2, "text": " "}).status_code == 400


# ---------------------------------------------------------------- compare

def test_compare_lists_the_cadres(client, data):
    login(client, "ld_luoshan")
    ids = ",".join(str(data["ids"][k]) for k in ("A", "B", "C"))
    response = client.get(f"/cadre-profile/compare?ids={ids}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for name in ("特写甲", "特写乙", "特写丙"):
        assert name in html
    assert 'id="radar-chart"' in html and "91.20" in html and "86.00" in html
    assert EXPECTED_NARRATIVE[1] in html


def test_compare_bounds_and_scope(app, client, data):
    login(client, "ld_luoshan")
    assert client.get("/cadre-profile/compare").status_code == 200
    assert client.get(f"/cadre-profile/compare?ids={data['ids']['A']}").status_code == 400
    five = ",".join(str(data["ids"][k]) for k in ("A", "B", "C", "D", "S1"))
    assert client.get(f"/cadre-profile/compare?ids={five}").status_code == 400
    assert client.get("/cadre-profile/compare?ids=1,x").status_code == 400
    other = guangshan_cadre(app)
    assert client.get(f"/cadre-profile/compare?ids={data['ids']['A']},{other}").status_code == 404


# ---------------------------------------------------------------- dashboard

def _cells(html: str, section: str) -> str:
    return html.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]


def test_dashboard_figures_within_scope(client, data):
    login(client, "ld_luoshan")
    period = data["periods"][2023]
    response = client.get(f"/dashboard/?unit=XY03T02&period={period}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    grades = _cells(html, "grades")
    row = re.search(r"乡镇党政副职</a></th>(.*?)</tr>", grades, re.S).group(1)
    counts = [int(x) for x in re.findall(r">(\d+)<", row)]
    assert counts == [1, 2, 0, 1, 0, 4]  # 优秀 称职 基本称职 不称职 不定等次 合计
    link = "/results/list/?" + urlencode({"period": period, "unit": "XY03T02", "category": "乡镇党政副职", "grade": "优秀"})
    assert link.replace("&", "&amp;") in grades
    ranked = _cells(html, "ranked")
    top = re.findall(r'class="top-row"><td>前 \d</td><td><a href="/cadre-profile/\d+">([^<]+)</a>', ranked)
    bottom = re.findall(r'class="bottom-row"><td>后 \d</td><td><a href="/cadre-profile/\d+">([^<]+)</a>', ranked)
    assert top[:3] == ["特写甲", "特写乙", "特写丙"] and "特写丁" in bottom
    assert top[3:] == ["特写一期", "特写五期"]
    flags = _cells(html, "red-flags")
    assert f'/cadre-profile/{data["ids"]["D"]}">特写丁' in flags  # veto
    assert f'/cadre-profile/{data["ids"]["A"]}">特写甲' in flags  # two overdue items
    assert "特写测试严重问题" in flags
    assert 'href="/cadres/list/?unit=XY03T02"' in html
    # The figures' links open the lists behind them, filtered the same way.
    cadres = client.get("/cadres/list/?" + urlencode({"unit": "XY03T02", "_flt_3_post_category": "乡镇党政副职"}))
    assert cadres.status_code == 200 and "特写甲" in cadres.get_data(as_text=True)
    assert "特写一期" not in cadres.get_data(as_text=True)
    results = client.get(link)
    assert results.status_code == 200 and "特写甲" in results.get_data(as_text=True)
    assert "特写乙" not in results.get_data(as_text=True)
    tasks = client.get("/tasks/list/?" + urlencode({"responsible": data["codes"]["A"], "light": "red"}))
    assert tasks.status_code == 200 and "特写测试事项2" in tasks.get_data(as_text=True)
    assert "特写测试事项1" not in tasks.get_data(as_text=True)
    findings = client.get("/findings/list/?" + urlencode({"unit": "XY03T02", "severity": "严重", "state": "open"}))
    assert findings.status_code == 200 and "特写测试严重问题" in findings.get_data(as_text=True)


def test_dashboard_scope(client, data):
    period = data["periods"][2023]
    login(client, "ld_guangshan")
    assert client.get(f"/dashboard/?unit=XY03T02&period={period}").status_code == 404
    html = client.get(f"/dashboard/?period={period}").get_data(as_text=True)
    assert "特写甲" not in html and "特写测试严重问题" not in html
    login(client, "ld_luoshan")
    assert client.get(f"/dashboard/?period={data['periods'][2024]}").status_code == 404  # unpublished
    assert client.get("/dashboard/").status_code == 200
    login(client, "kpy_luoshan")
    assert client.get(f"/dashboard/?period={data['periods'][2024]}").status_code == 200


def test_menu_entries(client):
    login(client, "ld_luoshan")
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "干部特写" in home and "领导看板" in home and "干部特写对比" in home
    assert 'href="/dashboard/"' in home and 'href="/cadre-profile/compare"' in home
    html = client.get("/dashboard/").get_data(as_text=True)
    assert 'id="cadre-picker"' in html and 'data-url="/lookup/cadres"' in html


def test_dashboard_is_kept_a_minute_unless_the_data_changes(app, client, data):
    """cached_dashboard: a second look within the minute is the same figures (same 统计时间);
    an audited change (here an audit entry, as every import, compute or workflow step writes)
    makes the next look recompute; so does the minute passing."""
    import time

    from app.core import audit
    from app.profile import dashboard

    def as_of() -> str:
        html = client.get(f"/dashboard/?unit=XY03T02&period={data['periods'][2023]}").get_data(as_text=True)
        return re.search(r"统计时间：([0-9: -]+)", html).group(1)

    login(client, "ld_luoshan")
    first = as_of()
    time.sleep(1.1)
    assert as_of() == first
    with app.app_context():
        audit.record(db.session, "update", "cadre", data["ids"]["A"], {"name": "x"}, {"name": "y"})
        db.session.commit()
    second = as_of()
    assert second != first
    time.sleep(1.1)
    for key, (_expires, value) in list(dashboard._cache.items()):
        dashboard._cache[key] = (0, value)  # the minute has passed
    assert as_of() != second
