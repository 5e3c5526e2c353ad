"""诉求办理 settings: the catalogue of 高频事项 (dispatchers and admins complete what a hotline
import added), the 签收/答复 time limits per urgency (admins), and the 分管领导 charges of county
leaders over departments (admins of that scope). Every change through app/appeals/catalogue.py."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.security.sqla.models import Role
from sqlalchemy import select

from app.appeals import catalogue as C
from app.appeals import rules
from app.appeals.models import AppealCategory, AppealTimeLimit, LeaderCharge
from app.appeals.queries import person_name
from app.appeals.web import form_int, form_text
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.models import AppUser, OrgUnit
from app.security import roles as R
from app.security.roles import APPEAL_SETTINGS_METHODS
from app.security.scope import prefix_of
from app.web.context import acting_user, can


def _done(fn, success: str, endpoint: str):
    try:
        fn()
    except NotFound:
        abort(404)
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(success, "success")
    return redirect(url_for(endpoint))


def _departments(user) -> list[OrgUnit]:
    prefix = prefix_of(user)
    stmt = select(OrgUnit).where(OrgUnit.kind == "department", OrgUnit.active)
    if prefix is not None:
        stmt = stmt.where(OrgUnit.path.startswith(prefix, autoescape=True))
    return db.session.scalars(stmt.order_by(OrgUnit.path)).all()


class AppealCategoryView(BaseView):
    """高频事项目录: name, default urgency, suggested department; 待完善 rows came from a hotline import."""

    route_base = "/appeals/categories"
    class_permission_name = "AppealCategory"
    method_permission_name = APPEAL_SETTINGS_METHODS
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        rows = db.session.scalars(select(AppealCategory).order_by(AppealCategory.needs_completion.desc(),
                                                                  AppealCategory.name)).all()
        return self.render_template("appeals/settings_categories.html", title="高频事项目录", rows=rows,
                                    urgencies=rules.URGENCIES, departments=_departments(acting_user()),
                                    may_write=can("write", "AppealCategory"))

    @expose("/save", methods=["POST"])
    @has_access
    def save(self):
        user = acting_user()
        return _done(lambda: C.save_category(form_text("name"), user=user, default_urgency=form_text("default_urgency"),
                                             department_id=form_int("department_id"),
                                             active=form_text("active") != "0", category_id=form_int("category_id")),
                     "高频事项已保存", "AppealCategoryView.index")


class AppealTimeLimitView(BaseView):
    """诉求时限: the 签收 and 答复 limits of each urgency (hours or working days)."""

    route_base = "/appeals/timelimits"
    class_permission_name = "AppealTimeLimit"
    method_permission_name = APPEAL_SETTINGS_METHODS
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        rows = {r.urgency: r for r in db.session.scalars(select(AppealTimeLimit))}
        limits = [{"urgency": u, "row": rows.get(u), "limits": rows.get(u) and rules.TimeLimits(
            rules.Limit(rows[u].sign_amount, rows[u].sign_unit), rules.Limit(rows[u].reply_amount, rows[u].reply_unit))
            or rules.DEFAULT_LIMITS[u]} for u in rules.URGENCIES]
        return self.render_template("appeals/settings_timelimits.html", title="诉求时限", limits=limits,
                                    units=rules.UNIT_LABELS, may_write=can("write", "AppealTimeLimit"))

    @expose("/save", methods=["POST"])
    @has_access
    def save(self):
        user = acting_user()

        def go():
            amounts = [form_int("sign_amount"), form_int("reply_amount")]
            if None in amounts:
                raise DomainError("时限须为正整数")
            C.set_time_limit(form_text("urgency"), user=user, sign_amount=amounts[0], sign_unit=form_text("sign_unit"),
                             reply_amount=amounts[1], reply_unit=form_text("reply_unit"))

        return _done(go, "时限已保存（已受理诉求的期限不变）", "AppealTimeLimitView.index")


class LeaderChargeView(BaseView):
    """分管领导: which county leader is in charge of which departments (吹哨 to a 分管领导)."""

    route_base = "/appeals/charges"
    class_permission_name = "LeaderCharge"
    method_permission_name = APPEAL_SETTINGS_METHODS
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        user = acting_user()
        prefix = prefix_of(user)
        stmt = select(LeaderCharge).join(OrgUnit, OrgUnit.id == LeaderCharge.org_unit_id)
        if prefix is not None:
            stmt = stmt.where(OrgUnit.path.startswith(prefix, autoescape=True))
        charges = db.session.scalars(stmt.order_by(LeaderCharge.leader_id, OrgUnit.path)).all()
        stmt = (select(AppUser).join(AppUser.roles).join(OrgUnit, OrgUnit.id == AppUser.org_unit_id)
                .where(AppUser.active, Role.name == R.LEADER).order_by(AppUser.username))
        if prefix is not None:
            stmt = stmt.where(OrgUnit.path.startswith(prefix, autoescape=True))
        leaders = db.session.scalars(stmt).unique().all()
        return self.render_template("appeals/settings_charges.html", title="分管领导", charges=charges,
                                    leaders=[(u.id, person_name(u), u.org_unit.name) for u in leaders],
                                    departments=_departments(user), name=person_name,
                                    may_write=can("write", "LeaderCharge"))

    @expose("/add", methods=["POST"])
    @has_access
    def add(self):
        user = acting_user()
        return _done(lambda: C.add_leader_charge(form_int("leader_id"), form_int("unit_id"), user=user),
                     "已添加分管关系", "LeaderChargeView.index")

    @expose("/<int:pk>/remove", methods=["POST"])
    @has_access
    def remove(self, pk):
        user = acting_user()
        return _done(lambda: C.remove_leader_charge(pk, user=user), "已删除分管关系", "LeaderChargeView.index")
