"""The audit log is append-only: no update or delete path, in the app or in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.models import AuditLog, Cadre
from tests.conftest import login


def test_database_refuses_update_and_delete_of_audit_rows(app):
    with app.app_context():
        cadre = db.session.scalar(select(Cadre).order_by(Cadre.id))
        cadre.phone = "13900000000" if cadre.phone != "13900000000" else "13900000001"
        db.session.commit()
        count = db.session.scalar(select(func.count()).select_from(AuditLog))
        row_id = db.session.scalar(select(func.max(AuditLog.id)))
        for stmt in (update(AuditLog).where(AuditLog.id == row_id).values(username="篡改"),
                     delete(AuditLog).where(AuditLog.id == row_id)):
            with pytest.raises(DBAPIError):
                db.session.execute(stmt)
            db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(AuditLog)) == count
        assert db.session.get(AuditLog, row_id).username != "篡改"


def test_no_screen_edits_or_deletes_audit_rows(client, app):
    with app.app_context():
        row_id = db.session.scalar(select(func.max(AuditLog.id)))
    login(client, "admin")
    assert client.get(f"/auditlog/edit/{row_id}").status_code in (302, 403, 404)
    assert client.post(f"/auditlog/delete/{row_id}").status_code in (302, 403, 404)
    response = client.post("/auditlog/action_post", data={"action": "muldelete", "rowid": [str(row_id)]})
    assert response.status_code in (403, 404)
    with app.app_context():
        assert db.session.get(AuditLog, row_id) is not None


def test_admin_can_filter_and_export_the_audit_log(client):
    login(client, "admin")
    response = client.get("/auditlog/export/csv?_flt_0_action=login")
    assert response.status_code == 200
    body = response.data.decode("utf-8-sig")
    assert body.splitlines()[0].startswith("时间")
    assert client.get("/auditlog/list/?_flt_0_table_name=cadre").status_code == 200


def test_other_roles_cannot_read_the_audit_log(client):
    login(client, "kpy_city")
    assert client.get("/auditlog/list/").status_code in (302, 403)
