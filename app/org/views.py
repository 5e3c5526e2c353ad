"""The org domain's screens, declared: units, cadres, career records, rewards, the audit log."""

from __future__ import annotations

from flask import abort, request
from flask_appbuilder import expose
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2Widget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from app.core import audit_labels
from app.core.errors import DomainError
from app.extensions import db
from app.models import CADRE_STATUSES, GENDERS, UNIT_KINDS, AuditLog, Cadre, CareerRecord, OrgUnit, RewardPenalty
from app.org import cadres as cadre_service
from app.org import units as org_service
from app.org.tree import unit_tree
from app.security.roles import MODELVIEW_METHODS
from app.security.scope import (
    AuditScopeFilter,
    CadreScopeFilter,
    RequestUnitFilter,
    UnitPathScopeFilter,
    UnitScopeChoiceFilter,
)
from app.web.context import acting_user, can
from app.web.lookup import cadre_field, unit_field
from app.web.modelview import ScopedModelView

UNIT_LABELS = {
    "code": "单位编码",
    "name": "单位名称",
    "kind": "类型",
    "kind_label": "类型",
    "parent": "上级单位",
    "parent.name": "上级单位",
    "parent.code": "上级编码",
    "path": "层级路径",
    "sort_order": "排序",
    "active": "启用",
}


class OrgUnitView(ScopedModelView):
    """The 王-shaped org tree: city, counties, townships, villages, departments. The menu opens
    the tree (/orgunits/tree/); the list keeps search, export and import."""

    route_base = "/orgunits"
    datamodel = SQLAInterface(OrgUnit)
    class_permission_name = "OrgUnit"
    method_permission_name = {**MODELVIEW_METHODS, "tree": "read"}
    default_view = "tree"
    list_title = "组织机构"
    show_title = "单位详情"
    add_title = "新增单位"
    edit_title = "编辑单位"
    label_columns = UNIT_LABELS
    list_columns = ["code", "name", "kind_label", "parent.name", "sort_order", "active"]
    show_columns = ["code", "name", "kind_label", "parent", "path", "sort_order", "active"]
    add_columns = ["code", "name", "kind", "parent", "sort_order", "active"]
    edit_columns = add_columns
    search_columns = ["code", "name", "kind", "active"]
    order_columns = ["code", "name", "sort_order"]
    base_order = ("path", "asc")
    base_filters = [["path", UnitPathScopeFilter, lambda: None], ["id", RequestUnitFilter, lambda: None]]
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": SelectField("类型", choices=list(UNIT_KINDS.items()), validators=[DataRequired()], widget=Select2Widget()),
        "parent": unit_field("上级单位", required=False),
    }
    validators_columns = {"code": [Length(max=32)], "name": [Length(max=100)]}
    export_columns = ["code", "name", "kind_label", "parent.code", "sort_order"]
    import_service = staticmethod(org_service.import_units)
    import_preview = staticmethod(org_service.preview_units)
    import_help = ("列：单位编码、单位名称、类型（市/县区/乡镇街道/村社区/网格/部门）、上级编码；可选列：排序。"
                   "上级须符合“王”字型架构：县区隶属于市，乡镇街道隶属于县区，村社区隶属于乡镇街道，部门隶属于市或县区。"
                   "上传后先显示将新增、改名、移动的单位，确认后才导入。")

    def pre_add(self, item):
        org_service.place_unit(item, user=acting_user())

    def pre_update(self, item):
        org_service.place_unit(item, user=acting_user())

    @expose("/tree/")
    @has_access
    def tree(self):
        """The user's subtree as a tree with counts (?root=CODE: from that unit down)."""
        root = (request.args.get("root") or "").strip() or None
        try:
            nodes, count = unit_tree(root, user=acting_user())
        except DomainError:
            abort(404)
        return self.render_template("org/tree.html", title="组织机构", nodes=nodes, count=count, root=root,
                                    can_cadres=can("read", "Cadre"))


CADRE_LABELS = {
    "code": "干部编号",
    "name": "姓名",
    "gender": "性别",
    "ethnicity": "民族",
    "birth_date": "出生日期",
    "native_place": "籍贯",
    "party_join_date": "入党时间",
    "education": "学历",
    "org_unit": "所属单位",
    "org_unit.name": "所属单位",
    "org_unit.code": "单位编码",
    "position": "职务",
    "rank": "职级",
    "post_category": "岗位类别",
    "position_start": "任现职时间",
    "status": "状态",
    "phone": "联系电话",
    "expected_version": "",
    "career_records": "任职经历",
    "rewards_penalties": "奖惩情况",
}


class CareerRecordView(ScopedModelView):
    """任职经历 of cadres in scope."""

    route_base = "/careerrecords"
    datamodel = SQLAInterface(CareerRecord)
    class_permission_name = "Cadre"
    list_title = "任职经历"
    show_title = add_title = edit_title = "任职经历"
    label_columns = {"cadre": "干部", "start_date": "起始日期", "end_date": "终止日期", "unit_name": "单位", "position": "职务"}
    list_columns = ["cadre", "start_date", "end_date", "unit_name", "position"]
    add_columns = edit_columns = ["cadre", "start_date", "end_date", "unit_name", "position"]
    search_columns = ["unit_name", "position", "start_date"]
    base_filters = [["cadre_id", CadreScopeFilter, lambda: None]]
    add_form_extra_fields = edit_form_extra_fields = {"cadre": cadre_field("干部")}
    unit_filter = False


class RewardPenaltyView(ScopedModelView):
    """奖惩 of cadres in scope."""

    route_base = "/rewardspenalties"
    datamodel = SQLAInterface(RewardPenalty)
    class_permission_name = "Cadre"
    list_title = "奖惩情况"
    show_title = add_title = edit_title = "奖惩情况"
    label_columns = {"cadre": "干部", "kind": "类别", "date": "日期", "title": "事项", "issuer": "决定机关"}
    list_columns = ["cadre", "kind", "date", "title", "issuer"]
    add_columns = edit_columns = ["cadre", "kind", "date", "title", "issuer"]
    search_columns = ["kind", "title", "date"]
    base_filters = [["cadre_id", CadreScopeFilter, lambda: None]]
    unit_filter = False
    add_form_extra_fields = edit_form_extra_fields = {
        "cadre": cadre_field("干部"),
        "kind": SelectField("类别", choices=[("奖励", "奖励"), ("惩戒", "惩戒")], widget=Select2Widget()),
    }


class CadreView(ScopedModelView):
    """The cadre register (干部名册)."""

    route_base = "/cadres"
    datamodel = SQLAInterface(Cadre)
    class_permission_name = "Cadre"
    list_title = "干部名册"
    show_title = "干部信息"
    add_title = "新增干部"
    edit_title = "编辑干部"
    label_columns = CADRE_LABELS
    list_columns = ["code", "name", "gender", "org_unit.name", "position", "rank", "post_category", "status"]
    show_fieldsets = [
        ("基本信息", {"fields": ["code", "name", "gender", "ethnicity", "birth_date", "native_place",
                               "party_join_date", "education", "phone"]}),
        ("任职信息", {"fields": ["org_unit", "position", "rank", "post_category", "position_start", "status"]}),
    ]
    _form_fields = ["code", "name", "gender", "ethnicity", "birth_date", "native_place", "party_join_date",
                    "education", "org_unit", "position", "rank", "post_category", "position_start", "status",
                    "phone"]
    add_columns = _form_fields
    edit_columns = _form_fields
    search_columns = ["code", "name", "gender", "post_category", "position", "rank", "status"]
    order_columns = ["code", "name", "post_category", "rank"]
    base_order = ("code", "asc")
    base_filters = [["org_unit_id", UnitScopeChoiceFilter, lambda: None]]
    related_views = [CareerRecordView, RewardPenaltyView]
    add_form_extra_fields = {
        "org_unit": unit_field("所属单位"),
        "gender": SelectField("性别", choices=[(g, g) for g in GENDERS], widget=Select2Widget()),
        "status": SelectField("状态", choices=[(s, s) for s in CADRE_STATUSES], widget=Select2Widget()),
        "post_category": StringField("岗位类别", validators=[DataRequired(message="请填写岗位类别"), Length(max=30)],
                                     widget=BS3TextFieldWidget()),
    }
    edit_form_extra_fields = add_form_extra_fields
    validators_columns = {"code": [DataRequired(), Length(max=32)], "name": [DataRequired(), Length(max=50)]}
    export_columns = ["code", "name", "gender", "birth_date", "org_unit.code", "org_unit.name", "position",
                      "rank", "post_category", "status"]
    import_service = staticmethod(cadre_service.import_cadres)
    import_help = ("列：干部编号、姓名、性别、出生日期、单位编码、职务、职级、岗位类别；"
                   "可选列：民族、籍贯、入党时间、学历、任现职时间、状态、联系电话")

    def pre_add(self, item):
        cadre_service.check_cadre(item, user=acting_user())

    def pre_update(self, item):
        try:
            cadre_service.check_cadre(item, user=acting_user())
        except DomainError:
            db.session.rollback()
            raise


class AuditInterface(SQLAInterface):
    """The audit log's rows as the admin reads them: the person, the row's name, and the
    changes labelled in Chinese with ids as names (resolved once per page, app/core/audit_labels.py)."""

    def _shown(self, items) -> list[dict]:
        items = list(items)
        names = audit_labels.resolve_names(db.session, items)
        return [{
            "who": audit_labels.who_text(e, names),
            "about": audit_labels.row_text(e, names),
            "changes": audit_labels.changes_html(audit_labels.changes(e, names)),
            "old_values": audit_labels.values_label(e.old_values, e.table_name, names),
            "new_values": audit_labels.values_label(e.new_values, e.table_name, names),
        } for e in items]

    def get_values(self, lst, list_columns):
        lst = list(lst)
        for item, shown in zip(lst, self._shown(lst)):
            yield {c: shown[c] if c in shown else self._get_attr_value(item, c) for c in list_columns}

    def get_values_item(self, item, show_columns):
        shown = self._shown([item])[0]
        return [shown[c] if c in shown else self._get_attr_value(item, c) for c in show_columns]


class AuditLogView(ScopedModelView):
    """The audit trail, read-only: who (the person), when, what, and the changes in Chinese."""

    route_base = "/auditlog"
    datamodel = AuditInterface(AuditLog)
    class_permission_name = "AuditLog"
    base_filters = [["org_unit_id", AuditScopeFilter, lambda: None]]  # entries about the admin's subtree
    list_title = show_title = "审计日志"
    can_add = can_edit = can_delete = False
    label_columns = {"at": "时间", "username": "操作人（用户名）", "who": "操作人", "action": "操作",
                     "table_name": "数据类别", "row_id": "记录编号", "about": "记录", "changes": "变更内容",
                     "old_values": "修改前", "new_values": "修改后", "user_id": "用户ID"}
    list_columns = ["at", "who", "action", "table_name", "about", "changes"]
    show_columns = ["at", "who", "action", "table_name", "about", "changes", "old_values", "new_values"]
    search_columns = ["username", "action", "table_name", "row_id", "at"]
    order_columns = ["at"]
    base_order = ("id", "desc")
    formatters_columns = {
        "action": audit_labels.action_label,
        "table_name": audit_labels.table_label,
    }
    unit_filter = False
    export_columns = ["at", "who", "action", "table_name", "about", "old_values", "new_values"]

    def export_rows(self, items) -> list[list]:
        """Names resolved once per 500 rows, not once per row."""
        items, rows = list(items), []
        for start in range(0, len(items), 500):
            chunk = items[start:start + 500]
            for item, shown in zip(chunk, self.datamodel._shown(chunk)):
                rows.append([shown[c] if c in shown else self._export_value(item, c) for c in self.export_columns])
        return rows

    def _export_value(self, item, column):
        if column == "action":
            return audit_labels.action_label(item.action)
        if column == "table_name":
            return audit_labels.table_label(item.table_name)
        return super()._export_value(item, column)

    def muldelete(self, items):  # the audit trail is append-only
        abort(404)
