"""Concurrent edits never silently overwrite each other (issue 12, point 4; the brief).

Every edit form opens with the row's version; when someone else saves the row in between,
the stale form's save is refused in Chinese and the other person's change stays. Tried on
each plain edit form: units, career records, rewards, cadres, time-limit rules, calendar days
and users.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AppUser, Cadre, CareerRecord, OrgUnit, RewardPenalty, TimeLimitRule, WorkCalendarDay
from app.web.modelview import STALE_EDIT
from tests.conftest import login


class FormValues(HTMLParser):
    """The values a browser would submit from the page's edit form."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self.values.setdefault(name, []).append(a.get("value", ""))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.values.setdefault(self._select, []).append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] = [self.values[self._textarea][0] + data]


def form_of(client, url: str) -> dict[str, list[str]]:
    page = client.get(url)
    assert page.status_code == 200, url
    parser = FormValues()
    parser.feed(page.get_data(as_text=True))
    assert "expected_version" in parser.values, url
    return parser.values


def _first(model, *where):
    return db.session.scalar(select(model).where(*where).order_by(model.id))


CASES = {
    # name: (url prefix, model, how to pick the row, field the form changes, the other's change)
    "unit": ("/orgunits", OrgUnit, lambda: _first(OrgUnit, OrgUnit.code == "XY03T01"), "name", "name"),
    "career": ("/careerrecords", CareerRecord, lambda: _first(CareerRecord), "position", "position"),
    "reward": ("/rewardspenalties", RewardPenalty, lambda: _first(RewardPenalty), "title", "title"),
    "cadre": ("/cadres", Cadre, lambda: _first(Cadre), "position", "position"),
    "rule": ("/timelimitrules", TimeLimitRule, lambda: _first(TimeLimitRule), "report_interval_days",
             "report_interval_days"),
    "calendar": ("/workcalendar", WorkCalendarDay, lambda: _first(WorkCalendarDay), "note", "note"),
    "user": ("/users", AppUser, lambda: _first(AppUser, AppUser.username == "ld_guangshan"), "first_name",
             "first_name"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_stale_edit_form_is_refused_and_the_newer_save_stays(app, client, case):
    prefix, model, pick, field, theirs_field = CASES[case]
    with app.app_context():
        row = pick()
        pk, original = row.id, getattr(row, field)
    login(client, "admin")
    values = form_of(client, f"{prefix}/edit/{pk}")
    # Someone else saves the row while our form is open.
    theirs = 11 if isinstance(original, int) else f"他人修改{case}"
    with app.app_context():
        row = db.session.get(model, pk)
        setattr(row, theirs_field, theirs)
        if model is AppUser:
            import datetime as dt

            row.changed_on = dt.datetime.now() + dt.timedelta(seconds=1)
        db.session.commit()
    values[field] = ["12" if isinstance(original, int) else f"我的修改{case}"]
    response = client.post(f"{prefix}/edit/{pk}", data=values, follow_redirects=True)
    assert STALE_EDIT in response.get_data(as_text=True), case
    with app.app_context():
        assert getattr(db.session.get(model, pk), field) == theirs


def test_a_fresh_edit_form_saves(app, client):
    with app.app_context():
        pk = _first(OrgUnit, OrgUnit.code == "XY03T02").id
    login(client, "admin")
    values = form_of(client, f"/orgunits/edit/{pk}")
    values["name"] = ["新名称乡"]
    response = client.post(f"/orgunits/edit/{pk}", data=values, follow_redirects=True)
    assert STALE_EDIT not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(OrgUnit, pk).name == "新名称乡"
