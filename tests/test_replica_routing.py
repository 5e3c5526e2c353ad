"""Which statements a report reading the replica may send there (app/core/replica.py), on both
databases and without a replica: the routing decision itself. tests/test_replica.py runs the
reports on a real streaming replica (PostgreSQL)."""

from __future__ import annotations

from flask import g
from sqlalchemy import select, text

from app.core import replica
from app.extensions import db
from app.models import AppUser, Cadre, OrgUnit

REPLICA_URL = "postgresql://postgres@127.0.0.1:5439/not_started"  # never connected to here


def _routed_url(app, **kwargs) -> str:
    with app.test_request_context("/"):
        setattr(g, replica._READS, True)
        return db.session.get_bind(**kwargs).url.render_as_string(hide_password=False)


def test_reads_of_accounts_roles_and_permissions_stay_on_the_primary(app, monkeypatch):
    monkeypatch.setitem(app.config, "READ_DATABASE_URL", REPLICA_URL)
    try:
        with app.app_context():
            primary = db.engine.url.render_as_string(hide_password=False)
            on_replica = replica._engine(replica.read_url(app)).url.render_as_string(hide_password=False)
            assert primary != on_replica
            # Report data goes to the replica …
            assert _routed_url(app, clause=select(Cadre.id).join(OrgUnit)) == on_replica
            assert _routed_url(app, mapper=OrgUnit.__mapper__, clause=select(OrgUnit)) == on_replica
            # … the security tables never: a revoked right or a locked account holds at once.
            assert _routed_url(app, mapper=AppUser.__mapper__, clause=select(AppUser)) == primary
            assert _routed_url(app, clause=select(OrgUnit.id).join(AppUser, AppUser.org_unit_id == OrgUnit.id)) == primary
            # Writes never.
            assert _routed_url(app, clause=text("UPDATE org_unit SET name = name WHERE id = 0")) == primary
    finally:
        replica.forget()
