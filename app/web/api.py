"""The shared REST machinery: a ModelRestApi whose writes go through the services' checks."""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import ModelRestApi
from sqlalchemy import select
from werkzeug.exceptions import BadRequest

from app.core.errors import DomainError
from app.extensions import db
from app.security.roles import API_METHODS

MAX_ID = 2**31 - 1  # an INTEGER key: a larger number overflows on PostgreSQL


def id_by_code(model, code, what: str) -> int | None:
    """The id of the `model` row with this code (an integer is taken as the id itself); None
    for an empty value; an unknown code is refused in Chinese like an out-of-scope one (the
    service then checks the scope of the id)."""
    if code in (None, ""):
        return None
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    row_id = db.session.scalar(select(model.id).where(model.code == str(code)))
    if row_id is None:
        raise DomainError(f"{what}“{code}”不存在或不在您的管辖范围内")
    return row_id


def relation_errors(datamodel, body) -> dict[str, list[str]]:
    """Relation fields of a JSON body that are not an integer id (null clears the relation).

    marshmallow-sqlalchemy would build a transient row from an object (TypeError) or send text
    to an INTEGER key (DataError on PostgreSQL): both were 500s.
    """
    if not isinstance(body, dict):
        return {}
    errors = {}
    for name, value in body.items():
        if value is None or not isinstance(name, str) or not datamodel.is_relation_many_to_one(name):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
            errors[name] = [f"须为关联记录的整数 id（1 到 {MAX_ID} 之间的整数）"]
    return errors


class ScopedRestApi(ModelRestApi):
    """A ModelRestApi whose writes go through the same service checks as the forms."""

    method_permission_name = API_METHODS
    allow_browser_login = False  # JWT only: cookie-authenticated writes would need CSRF
    page_size = 50

    def check_write(self, item) -> None:
        raise NotImplementedError

    def _checked(self, item) -> None:
        try:
            self.check_write(item)
        except DomainError as exc:
            db.session.rollback()
            raise BadRequest(exc.message)

    def _bad_relations(self):
        errors = relation_errors(self.datamodel, request.get_json(silent=True)) if request.is_json else {}
        return self.response_422(message=errors) if errors else None

    def post_headless(self):
        return self._bad_relations() or super().post_headless()

    def put_headless(self, pk):
        return self._bad_relations() or super().put_headless(pk)

    def pre_add(self, item) -> None:
        self._checked(item)

    def pre_update(self, item) -> None:
        self._checked(item)
