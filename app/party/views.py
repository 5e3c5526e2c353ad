"""The party register's screens, declared: organizations (list and tree), members."""

from __future__ import annotations

from flask import abort, has_request_context, jsonify, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from markupsafe import Markup, escape
from sqlalchemy import func, or_, select
from wtforms import BooleanField, SelectField
from wtforms.validators import DataRequired, Length, Optional

from app.extensions import db
from app.party import members as member_service
from app.party import orgs as org_service
from app.party.models import MEMBER_EDUCATIONS, MEMBER_GENDERS, MEMBER_STATUSES, PARTY_ORG_KINDS, PartyMember, PartyOrg
from app.security.roles import MODELVIEW_METHODS
from app.security.scope import UnitScopeChoiceFilter, UnitScopeFilter, apply_unit_scope, current_scope_prefix
from app.web.context import acting_user, can
from app.web.lookup import LOOKUP_LIMIT, LookupField, cadre_field, unit_field
from app.web.modelview import ScopedModelView

CATEGORY = "党员管理"

ORG_LABELS = {
    "code": "组织编码", "name": "组织名称", "kind": "类型", "parent": "上级党组织", "parent.name": "上级党组织",
    "parent.code": "上级编码", "org_unit": "所在单位", "org_unit.name": "所在单位", "org_unit.code": "所在单位编码",
    "secretary": "书记（账号）", "secretary_member": "书记（党员）", "sort_order": "排序",
}


def _org_text(org: PartyOrg) -> str:
    return f"{org.name}（{org.code}）"


def _scoped_org(raw, kind: str | None = None) -> PartyOrg | None:
    stmt = apply_unit_scope(select(PartyOrg).where(PartyOrg.id == int(raw)), PartyOrg.org_unit_id,
                            current_scope_prefix())
    org = db.session.scalar(stmt)
    return org if org is not None and (kind is None or org.kind == kind) else None


def org_field(label, required=True, branch_only=False):
    return LookupField(
        label,
        [DataRequired(message="请选择党组织")] if required else [Optional()],
        loader=(lambda raw: _scoped_org(raw, org_service.BRANCH)) if branch_only else _scoped_org,
        endpoint="PartyOrgView.branches" if branch_only else "PartyOrgView.lookup",
        describe=_org_text,
    )


class PartyOrgView(ScopedModelView):
    """党组织: 党委, 党总支 and 党支部 of the units in scope. The menu opens the tree."""

    route_base = "/partyorgs"
    datamodel = SQLAInterface(PartyOrg)
    class_permission_name = "PartyOrg"
    method_permission_name = {**MODELVIEW_METHODS, "tree": "read", "lookup": "read", "branches": "read"}
    default_view = "tree"
    list_title = "党组织"
    show_title = "党组织详情"
    add_title = "新增党组织"
    edit_title = "编辑党组织"
    label_columns = ORG_LABELS
    list_columns = ["code", "name", "kind", "parent.name", "org_unit.name", "secretary"]
    show_columns = ["code", "name", "kind", "parent", "org_unit", "secretary", "secretary_member", "sort_order"]
    add_columns = ["code", "name", "kind", "parent", "org_unit", "secretary", "sort_order"]
    edit_columns = add_columns
    search_columns = ["code", "name", "kind"]
    order_columns = ["code", "name", "sort_order"]
    base_order = ("code", "asc")
    base_filters = [["org_unit_id", UnitScopeChoiceFilter, lambda: None]]
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": SelectField("类型", choices=[(k, k) for k in PARTY_ORG_KINDS], validators=[DataRequired()],
                            widget=Select2Widget()),
        "parent": org_field("上级党组织", required=False),
        "org_unit": unit_field("所在单位"),
    }
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "secretary": [["org_unit_id", UnitScopeFilter, lambda: None]],
    }
    validators_columns = {"code": [DataRequired(), Length(max=32)], "name": [DataRequired(), Length(max=100)]}
    export_columns = ["code", "name", "kind", "parent.code", "org_unit.code", "org_unit.name", "sort_order"]
    import_service = staticmethod(org_service.import_orgs)
    import_help = ("列：组织编码、组织名称、类型（党委/党总支/党支部）、上级编码、所在单位编码；可选列：排序。"
                   "上级可以是文件中的其他行或系统中已有的组织；党支部下不能再设组织，党总支下只能设党支部。")

    def pre_add(self, item):
        org_service.place_org(item, user=acting_user())

    def pre_update(self, item):
        try:
            org_service.place_org(item, user=acting_user())
        except Exception:
            db.session.rollback()
            raise

    @expose("/tree/")
    @has_access
    def tree(self):
        """One level of the tree at a time: the organizations under ?root=CODE (default: the
        top organizations of the scope), each with its sub-organizations and members counted."""
        prefix = current_scope_prefix()
        code = (request.args.get("root") or "").strip()
        root = None
        if code:
            root = db.session.scalar(apply_unit_scope(select(PartyOrg).where(PartyOrg.code == code),
                                                      PartyOrg.org_unit_id, prefix))
            if root is None:
                abort(404)
            stmt = select(PartyOrg).where(PartyOrg.parent_id == root.id)
        else:  # tops: no parent, or a parent outside the scope
            parent = PartyOrg.__table__.alias("parent_org")
            visible_parent = apply_unit_scope(select(parent.c.id), parent.c.org_unit_id, prefix)
            stmt = select(PartyOrg).where(or_(PartyOrg.parent_id.is_(None), PartyOrg.parent_id.not_in(visible_parent)))
        stmt = apply_unit_scope(stmt, PartyOrg.org_unit_id, prefix).order_by(PartyOrg.sort_order, PartyOrg.code)
        orgs = db.session.scalars(stmt.limit(500)).all()
        ids = [o.id for o in orgs]
        subs = dict(db.session.execute(select(PartyOrg.parent_id, func.count()).where(PartyOrg.parent_id.in_(ids))
                                       .group_by(PartyOrg.parent_id)).all()) if ids else {}
        members = dict(db.session.execute(select(PartyMember.branch_id, func.count())
                                          .where(PartyMember.branch_id.in_(ids))
                                          .group_by(PartyMember.branch_id)).all()) if ids else {}
        trail = []
        node = root
        while node is not None and len(trail) < 10:
            trail.insert(0, node)
            node = node.parent
        return self.render_template("party/org_tree.html", title="党组织", orgs=orgs, subs=subs, members=members,
                                    root=root, trail=trail, can_members=can("read", "PartyMember"))

    def _lookup(self, kind: str | None):
        q = (request.args.get("q") or "").strip()
        stmt = select(PartyOrg).order_by(PartyOrg.code).limit(LOOKUP_LIMIT)
        if kind:
            stmt = stmt.where(PartyOrg.kind == kind)
        if q:
            stmt = stmt.where(or_(PartyOrg.name.contains(q, autoescape=True), PartyOrg.code.startswith(q, autoescape=True)))
        stmt = apply_unit_scope(stmt, PartyOrg.org_unit_id, current_scope_prefix())
        return jsonify(results=[{"id": o.id, "text": _org_text(o), "code": o.code, "kind": o.kind}
                                for o in db.session.scalars(stmt)])

    @expose("/lookup")
    @has_access
    def lookup(self):
        return self._lookup(None)

    @expose("/branches")
    @has_access
    def branches(self):
        return self._lookup(org_service.BRANCH)


MEMBER_LABELS = {
    "code": "党员编号", "name": "姓名", "gender": "性别", "birth_date": "出生日期", "ethnicity": "民族",
    "education": "学历", "joined_at": "入党时间", "confirmed_at": "转正时间", "status": "党员类别",
    "flowing": "流动党员", "flowing_to": "流动去向", "party_post": "党内职务", "branch": "所在支部",
    "branch.name": "所在支部", "branch.code": "支部编码", "org_unit": "所在单位", "org_unit.name": "所在单位",
    "org_unit.code": "单位编码", "phone": "联系电话", "phone_masked": "联系电话", "cadre": "关联干部",
    "cadre.code": "干部编号", "expected_version": "",
}


def _cadre_link(cadre) -> Markup | str:
    if cadre is None:
        return ""
    text = f"{cadre.name}（{cadre.code}）"
    if not can("read", "Cadre"):
        return text
    return Markup('<a href="{}">{}</a>').format(url_for("CadreView.show", pk=cadre.id), text)


class BranchFilter(BaseFilter):
    """Narrow the member list to one branch chosen by `?branch=<code>` (inside the scope)."""

    name = "按支部筛选"

    def apply(self, query, value):
        code = (request.args.get("branch") or "").strip() if has_request_context() else ""
        if not code:
            return query
        return query.filter(PartyMember.branch_id.in_(select(PartyOrg.id).where(PartyOrg.code == code)))


class PartyMemberView(ScopedModelView):
    """党员名册: members of the branches in scope. Phones are masked in the list and exports,
    in full on the detail page (PLATFORM.md §5)."""

    route_base = "/partymembers"
    datamodel = SQLAInterface(PartyMember)
    class_permission_name = "PartyMember"
    list_title = "党员名册"
    show_title = "党员信息"
    add_title = "新增党员"
    edit_title = "编辑党员"
    label_columns = MEMBER_LABELS
    list_columns = ["code", "name", "gender", "birth_date", "education", "status", "flowing", "party_post",
                    "branch.name", "org_unit.name", "phone_masked"]
    show_fieldsets = [
        ("基本信息", {"fields": ["code", "name", "gender", "birth_date", "ethnicity", "education", "phone", "cadre"]}),
        ("党籍信息", {"fields": ["joined_at", "confirmed_at", "status", "party_post", "branch", "org_unit", "flowing",
                               "flowing_to"]}),
    ]
    _form_fields = ["code", "name", "gender", "birth_date", "ethnicity", "education", "joined_at", "confirmed_at",
                    "status", "flowing", "flowing_to", "party_post", "branch", "phone", "cadre"]
    add_columns = edit_columns = _form_fields
    search_columns = ["code", "name", "gender", "education", "status", "flowing", "party_post", "ethnicity",
                      "birth_date", "joined_at"]
    order_columns = ["code", "name", "birth_date", "joined_at"]
    base_order = ("code", "asc")
    base_filters = [["org_unit_id", UnitScopeChoiceFilter, lambda: None], ["branch_id", BranchFilter, lambda: None]]
    keyword_columns = ("code", "name", "party_post", "branch.code", "branch.name", "org_unit.name")
    formatters_columns = {"cadre": _cadre_link}
    add_form_extra_fields = edit_form_extra_fields = {
        "gender": SelectField("性别", choices=[(g, g) for g in MEMBER_GENDERS], widget=Select2Widget()),
        "education": SelectField("学历", choices=[(e, e) for e in MEMBER_EDUCATIONS], widget=Select2Widget()),
        "status": SelectField("党员类别", choices=[(s, s) for s in MEMBER_STATUSES], widget=Select2Widget()),
        "flowing": BooleanField("流动党员", description="外出务工、经商等流动在外的党员"),  # unticked is 否
        "branch": org_field("所在支部", branch_only=True),
        "cadre": cadre_field("关联干部", required=False),
    }
    validators_columns = {"code": [DataRequired(), Length(max=32)], "name": [DataRequired(), Length(max=50)],
                          "birth_date": [DataRequired(message="请填写出生日期")],
                          "joined_at": [DataRequired(message="请填写入党时间")],
                          "phone": [Length(max=20)], "party_post": [Length(max=50)], "flowing_to": [Length(max=200)]}
    export_columns = ["code", "name", "gender", "birth_date", "ethnicity", "education", "joined_at", "confirmed_at",
                      "status", "flowing", "flowing_to", "branch.code", "branch.name", "party_post", "org_unit.name",
                      "phone_masked", "cadre.code"]
    import_service = staticmethod(member_service.import_members)
    import_help = ("列：党员编号、姓名、性别、出生日期、民族、学历（研究生/大学本科/大学专科/中专及以下）、入党时间、"
                   "转正时间（预备党员不填）、党员类别（正式党员/预备党员）、是否流动（是/否）、所在支部编码、党内职务、"
                   "联系电话；可选列：流动去向、干部编号。任何一行有误则整个文件不导入，并列出所有错误行。")

    def pre_add(self, item):
        member_service.check_member(item, user=acting_user())

    def pre_update(self, item):
        try:
            member_service.check_member(item, user=acting_user())
        except Exception:
            db.session.rollback()
            raise


def member_count_text(count: int) -> Markup:
    return Markup("<b>{}</b> 人").format(escape(count))
