"""An item shared by two counties (issue 12, point 7): who reads which unit's reports.

The item: lead unit XY03T01 (罗山县), assisting unit XY04T01 (光山县), made by the city's
supervisor; each unit reports progress with an attachment, the assisting unit reports its own
completion, then the lead unit its consolidated completion report.

Rule (supervision_access, README "督查事项跨县共享的可见范围"): a unit sees the item, its own
assignment and reports, and the lead unit's consolidated (completion) report; the lead unit's
side and the item's supervisors see everything; another unit's own reports and attachments
answer 404 — on the show page, the attachment download and the API alike.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Attachment
from app.org.users import create_user
from app.supervision import tasks as S
from tests.conftest import PASSWORD, api_token, login
from tests.supervision_data import make_task, now, page_text, unit

XY04_LIAISON, XY04_SUPERVISOR = "llr_guangshan_t01", "dcy_guangshan"
TEXTS = {"lead_progress": "罗山主办进展甲", "assist_progress": "光山协办进展乙", "assist_done": "光山协办办结丙",
         "lead_done": "罗山主办办结汇总丁"}
XY04_SEES = {"assist_progress", "assist_done", "lead_done"}  # its own, and the consolidated report
XY04_SIDE = [XY04_LIAISON, "ld_guangshan", XY04_SUPERVISOR]
WHOLE_ITEM = ["llr_luoshan_t01", "ld_luoshan", "dcy_luoshan", "dcy_city", "ld_city"]


@pytest.fixture(scope="module")
def item(app):
    with app.app_context():
        create_user(XY04_LIAISON, PASSWORD, "承办联络员", "XY04T01")
        create_user(XY04_SUPERVISOR, PASSWORD, "督查员", "XY04")
        row = make_task(lead="XY03T01", assist=("XY04T01",), by="dcy_city", sign=True)
        lead, assist = row["assignments"]["XY03T01"], row["assignments"]["XY04T01"]
        reports = {}
        for key, aid, fn in (("lead_progress", lead, S.report_progress), ("assist_progress", assist, S.report_progress),
                             ("assist_done", assist, S.submit_completion), ("lead_done", lead, S.submit_completion)):
            report = fn(aid, TEXTS[key], attachments=[(f"{key}.txt", TEXTS[key].encode(), "text/plain")],
                        user=None, now=now())
            reports[key] = report.id
        files = {key: db.session.scalar(select(Attachment.id).where(Attachment.owner_table == "task_report",
                                                                    Attachment.owner_id == rid))
                 for key, rid in reports.items()}
        return {"id": row["id"], "reports": reports, "files": files, "lead_name": unit("XY03T01").name,
                "assist_name": unit("XY04T01").name}


def _readable(username: str) -> set[str]:
    return XY04_SEES if username in XY04_SIDE else set(TEXTS)


@pytest.mark.parametrize("username", XY04_SIDE + WHOLE_ITEM)
def test_the_show_page_shows_the_reports_of_the_rule(app, item, username):
    client = login(app.test_client(), username)
    page = page_text(client.get(f"/tasks/show/{item['id']}"))
    shown = {key for key, text in TEXTS.items() if text in page}
    assert shown == _readable(username), (username, shown)
    rows = page.split("承办单位与时限节点")[1].split("反馈记录")[0] if "承办单位与时限节点" in page else ""
    assert item["assist_name"] in rows
    assert (item["lead_name"] in rows) == (username not in XY04_SIDE)  # another unit's assignment is not shown


@pytest.mark.parametrize("username", XY04_SIDE + WHOLE_ITEM)
def test_attachments_download_by_the_rule(app, item, username):
    client = login(app.test_client(), username)
    for key, aid in item["files"].items():
        answer = client.get(f"/tasks/attachment/{aid}")
        if key in _readable(username):
            assert answer.status_code == 200 and answer.data == TEXTS[key].encode(), (username, key)
        else:
            assert answer.status_code == 404, (username, key, answer.status_code)


@pytest.mark.parametrize("username", XY04_SIDE + WHOLE_ITEM)
def test_the_api_answers_by_the_rule(app, item, username):
    client = app.test_client()
    headers = api_token(client, username)
    pk = item["id"]
    assert client.get(f"/api/v1/tasks/{pk}", headers=headers).status_code == 200  # the item itself: everyone
    listed = client.get(f"/api/v1/tasks/{pk}/reports", headers=headers).get_json()["result"]
    by_id = {rid: key for key, rid in item["reports"].items()}
    assert {by_id[r["id"]] for r in listed} == _readable(username)
    for key, rid in item["reports"].items():
        one = client.get(f"/api/v1/tasks/{pk}/reports/{rid}", headers=headers)
        down = client.get(f"/api/v1/tasks/{pk}/attachments/{item['files'][key]}", headers=headers)
        if key in _readable(username):
            assert one.status_code == 200 and one.get_json()["result"]["done_text"] == TEXTS[key]
            assert down.status_code == 200 and down.data == TEXTS[key].encode()
        else:
            assert (one.status_code, down.status_code) == (404, 404), (username, key)
            assert one.get_json()["message"] == "办理反馈或附件不存在或不在您的管辖范围内"
    units = {a["unit"] for a in client.get(f"/api/v1/tasks/{pk}", headers=headers).get_json()["result"]["assignments"]}
    assert units == ({"XY04T01"} if username in XY04_SIDE else {"XY03T01", "XY04T01"})


def test_a_report_or_attachment_through_another_items_url_is_404(app, item):
    with app.app_context():
        other = make_task(sign=True)["id"]  # an item of 罗山县 the supervisor also reads
    client = app.test_client()
    headers = api_token(client, "dcy_luoshan")
    rid, aid = item["reports"]["lead_progress"], item["files"]["lead_progress"]
    assert client.get(f"/api/v1/tasks/{item['id']}/reports/{rid}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/tasks/{other}/reports/{rid}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/tasks/{item['id']}/attachments/{aid}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/tasks/{other}/attachments/{aid}", headers=headers).status_code == 404


def test_outsiders_see_nothing_of_the_item(app, item):
    """A county reached by neither unit: the item itself is a 404, and so is all of its material."""
    client = app.test_client()
    headers = api_token(client, "llr_luoshan_d01")  # a 罗山县 unit the item is not addressed to
    assert client.get(f"/api/v1/tasks/{item['id']}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/tasks/{item['id']}/reports", headers=headers).status_code == 404
    page = login(app.test_client(), "llr_luoshan_d01")
    assert page.get(f"/tasks/attachment/{item['files']['lead_done']}").status_code == 404
