"""A database that is gone answers a clean Chinese 503, and the app recovers by itself."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from tests.conftest import login


def test_lost_database_gives_503_then_recovers(client, app, monkeypatch):
    login(client, "kpy_luoshan")
    from sqlalchemy.orm import Session

    real_execute = Session.execute

    def broken(self, *args, **kwargs):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(Session, "execute", broken)
    response = client.get("/cadres/list/")
    assert response.status_code == 503
    assert "数据库无法连接" in response.get_data(as_text=True)
    api = client.get("/api/v1/cadres/")
    assert api.status_code in (401, 503)
    monkeypatch.setattr(Session, "execute", real_execute)
    assert client.get("/cadres/list/").status_code == 200
