"""PageFirstInterface: a list's count and page keys come from one query, its rows from a
second; the count, the rows and their order must be FAB's own on every page, and the task
export must still carry each task's assisting units without a query per task."""

from __future__ import annotations

import io

import pytest
from flask_appbuilder.models.sqla.interface import SQLAInterface
from openpyxl import load_workbook
from sqlalchemy import event

from app.extensions import db
from app.models import SupervisionTask
from app.supervision.setup import seed_defaults
from app.supervision.views import TaskView
from tests.conftest import login
from tests.supervision_data import make_task


@pytest.fixture()
def tasks(app):
    """Seven items of 罗山县 (three with two assisting units), one of them a draft."""
    with app.app_context():
        seed_defaults()
        made = [make_task("XY03T01", ("XY03D01", "XY03T02") if i % 2 else (), ago=i) for i in range(6)]
        made.append(make_task("XY03T02", ("XY03D01",), ago=None))
        db.session.commit()
        return made


def _fab(order_column, direction, page, size):
    plain = SQLAInterface(SupervisionTask)
    count, rows = plain.query(None, order_column, direction, page=page, page_size=size)
    return count, [row.id for row in rows]


@pytest.mark.parametrize("order_column,direction", [("id", "desc"), ("code", "asc"), ("complete_due", "desc"),
                                                    ("lead_unit.name", "asc")])
def test_count_rows_and_order_equal_fabs_on_every_page(app, tasks, order_column, direction):
    with app.test_request_context("/"):
        page_first = TaskView.datamodel
        total = _fab(order_column, direction, None, None)[0]
        assert total >= len(tasks)
        size = 3
        for page in range((total + size - 1) // size + 1):  # every page, and one past the end
            expected = _fab(order_column, direction, page, size)
            got_count, got_rows = page_first.query(None, order_column, direction, page=page, page_size=size)
            assert (got_count, [row.id for row in got_rows]) == expected


def test_count_and_page_keys_are_one_query(app, tasks):
    with app.test_request_context("/"):
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            TaskView.datamodel.query(None, "id", "desc", page=0, page_size=5)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert not any("count(*) AS" in s for s in statements)  # no separate count query
        assert sum("OVER ()" in s for s in statements) == 1


def test_task_export_lists_assisting_units_in_one_query(client, app, tasks):
    login(client, "dcy_luoshan")
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = client.get("/tasks/export/xlsx")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    header = [c.value for c in sheet[1]]
    rows = {r[header.index("事项编号")]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assist = header.index("协办单位")
    with app.app_context():
        for made in tasks:
            task = db.session.get(SupervisionTask, made["id"])
            names = set(filter(None, (rows[made["code"]][assist] or "").split("、")))
            assert names == {u.name for u in task.assist_units}
    # the units of every task in one query (a lazy load would be one per task); the task
    # query itself names task_assist_unit only in its scope filter
    assert sum("task_assist_unit" in s and "supervision_task" not in s for s in statements) == 1
