"""Search-as-you-type relation fields: the form field, its widget, and the /lookup endpoints
that answer it, always within the row scope."""

from __future__ import annotations

from flask import jsonify, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from markupsafe import Markup, escape
from sqlalchemy import or_, select
from wtforms import Field
from wtforms.validators import DataRequired, Optional, StopValidation

from app.extensions import db
from app.models import Cadre, OrgUnit
from app.security.scope import apply_cadre_scope, apply_unit_scope, current_scope_prefix

LOOKUP_LIMIT = 20


class LookupView(BaseView):
    """Search-as-you-type endpoints for relation fields; always within the row scope."""

    route_base = "/lookup"
    class_permission_name = "Lookup"
    method_permission_name = {"units": "read", "cadres": "read"}

    @expose("/units")
    @has_access
    def units(self):
        q = (request.args.get("q") or "").strip()
        stmt = select(OrgUnit).order_by(OrgUnit.path).limit(LOOKUP_LIMIT)
        if q:
            stmt = stmt.where(or_(OrgUnit.name.contains(q, autoescape=True), OrgUnit.code.startswith(q, autoescape=True)))
        prefix = current_scope_prefix()
        if prefix is not None:
            stmt = stmt.where(OrgUnit.path.startswith(prefix, autoescape=True))
        items = db.session.scalars(stmt)
        return jsonify(results=[{"id": u.id, "text": f"{u.name}（{u.code}）", "code": u.code} for u in items])

    @expose("/cadres")
    @has_access
    def cadres(self):
        q = (request.args.get("q") or "").strip()
        stmt = select(Cadre).order_by(Cadre.code).limit(LOOKUP_LIMIT)
        if q:
            stmt = stmt.where(or_(Cadre.name.startswith(q, autoescape=True), Cadre.code.startswith(q, autoescape=True)))
        stmt = apply_unit_scope(stmt, Cadre.org_unit_id, current_scope_prefix())
        return jsonify(results=[{"id": c.id, "text": cadre_text(c), "name": c.name, "code": c.code,
                                 "unit": c.org_unit.name, "position": c.position or ""}
                                for c in db.session.scalars(stmt)])


class LookupWidget:
    """A <select> that searches the server as the user types (select2 + /lookup/...)."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint

    def __call__(self, field, **kwargs):
        url = url_for(self.endpoint)
        option = ""
        if field.data is not None:
            option = f'<option value="{field.data.id}" selected>{escape(field.label_for(field.data))}</option>'
        return Markup(
            f'<select class="form-control lookup-select" id="{field.id}" name="{field.name}" '
            f'data-url="{url}" data-placeholder="输入名称或编码搜索"><option value=""></option>{option}</select>'
        )


class LookupField(Field):
    """A relation field bound by id, checked against the row scope on submit."""

    def __init__(self, label=None, validators=None, *, loader, endpoint, describe=str, **kwargs):
        super().__init__(label, validators, widget=LookupWidget(endpoint), **kwargs)
        self.loader = loader
        self.label_for = describe
        self._bad = False

    def process_formdata(self, valuelist):
        self._bad = False
        raw = valuelist[0] if valuelist else ""
        if not raw:
            self.data = None
            return
        obj = self.loader(raw) if str(raw).isdigit() else None
        if obj is None:
            self._bad = True
            self.data = None
        else:
            self.data = obj

    def pre_validate(self, form):
        if self._bad:
            raise StopValidation("所选项不存在或不在您的管辖范围内")

    def _value(self):
        return "" if self.data is None else str(self.data.id)


def _scoped_unit(raw) -> OrgUnit | None:
    unit = db.session.get(OrgUnit, int(raw))
    prefix = current_scope_prefix()
    if unit is None or (prefix is not None and not unit.path.startswith(prefix)):
        return None
    return unit


def _scoped_cadre(raw) -> Cadre | None:
    stmt = apply_cadre_scope(select(Cadre).where(Cadre.id == int(raw)), Cadre.id, current_scope_prefix())
    return db.session.scalar(stmt)


def unit_field(label, required=True):
    return LookupField(
        label,
        [DataRequired(message="请选择单位")] if required else [Optional()],
        loader=_scoped_unit,
        endpoint="LookupView.units",
        describe=lambda u: f"{u.name}（{u.code}）",
    )


def cadre_text(cadre: Cadre) -> str:
    """A cadre as the pickers show it: two namesakes differ by unit and post.
    「张伟（XY00107）· 罗山县委组织部 · 副部长」"""
    parts = [f"{cadre.name}（{cadre.code}）", cadre.org_unit.name if cadre.org_unit is not None else "",
             cadre.position or ""]
    return " · ".join(p for p in parts if p)


def cadre_field(label, required=True):
    return LookupField(
        label,
        [DataRequired(message="请选择干部")] if required else [Optional()],
        loader=_scoped_cadre,
        endpoint="LookupView.cadres",
        describe=cadre_text,
    )
