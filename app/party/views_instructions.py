"""工作指令 screens: the sender's list, compose (a draft), the draft's page with "将发送给 N 人"
and 确认发送, a sent instruction's read and reply rates per unit (drill-down to child units and to
the copies), 催办 and 转督办; the recipient's inbox and its own copy (opening it records the read
receipt; the reply with attachments). Plus the to-do provider of unread / unanswered copies.

Every page asks app/party/instructions.py with the acting user; out of scope is a 404.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import func, select

from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.models import POST_CATEGORIES, OrgUnit
from app.party import instruction_targets as T
from app.party import instructions as I
from app.party.models_instructions import Instruction, InstructionCopy
from app.security.roles import ALL_ROLES
from app.web.context import acting_user, can, request_now
from app.web.downloads import download, inline, preview_type
from app.web.todo import TodoGroup, TodoItem, register_provider

CATEGORY = "精准指挥"
SHOWN = 5


def _fail(exc: DomainError) -> None:
    if isinstance(exc, NotFound):
        abort(404)
    flash(exc.message, "danger")


def _files(name: str = "attachments") -> list[tuple[str, bytes, str | None]]:
    return [(f.filename, f.read(), f.mimetype) for f in request.files.getlist(name) if f and f.filename]


def _draft_from_form() -> I.Draft:
    form = request.form
    due_raw = (form.get("reply_due") or "").strip()
    try:
        due = dt.date.fromisoformat(due_raw) if due_raw else None
    except ValueError:
        raise DomainError("反馈截止日期格式不正确（应为 年-月-日）")
    return I.Draft(
        title=form.get("title", ""), content=form.get("content", ""),
        reply_required=form.get("reply_required") in ("1", "on", "true"), reply_due=due,
        unit_codes=form.getlist("unit"), roles=form.getlist("role"), post_categories=form.getlist("post_category"),
        member_status=form.getlist("member_status"), member_flowing=form.get("member_flowing") or None,
        member_age_bands=form.getlist("member_age_band"),
    )


def _version() -> int | None:
    raw = (request.form.get("expected_version") or "").strip()
    return int(raw) if raw.isdigit() else None


def _unit_choices(user) -> list[OrgUnit]:
    """The sender's unit and its direct children: the usual targets, as checkboxes."""
    unit = getattr(user, "org_unit", None)
    if unit is None:
        return []
    children = db.session.scalars(select(OrgUnit).where(OrgUnit.parent_id == unit.id, OrgUnit.active.is_(True))
                                  .order_by(OrgUnit.sort_order, OrgUnit.code))
    return [unit, *children]


class InstructionView(BaseView):
    """工作指令: sent and received, and what senders do with them."""

    route_base = "/party/instructions"
    class_permission_name = "Instruction"
    method_permission_name = {
        "list": "read", "show": "read", "copies": "read", "attachment": "read",
        "add": "write", "edit": "write", "preview": "write", "preview_form": "write", "send": "write",
        "delete": "write", "remind": "write", "supervise": "write",
    }
    default_view = "list"

    def render(self, template, **kwargs):
        return self.render_template(template, can=can, states=I.T, **kwargs)

    def _instruction(self, pk) -> Instruction:
        try:
            return I.get_instruction(pk, user=acting_user())
        except NotFound:
            abort(404)

    # ------------------------------------------------------------ sender side

    @expose("/list/")
    @has_access
    def list(self):
        user = acting_user()
        items = I.list_instructions(user)
        stats = I.summaries(items, user)
        return self.render("party/instruction_list.html", title="工作指令", items=items, stats=stats,
                           user=user, may_send=I.may_send(user))

    def _form(self, instruction: Instruction | None, error: str | None = None, values=None):
        user = acting_user()
        if values is None and instruction is not None:
            f = T.TargetFilters.from_json(instruction.filters)
            values = {"title": instruction.title, "content": instruction.content,
                      "reply_required": instruction.reply_required,
                      "reply_due": instruction.reply_due.isoformat() if instruction.reply_due else "",
                      "unit": [u.code for u in instruction.target_units], "role": f.roles,
                      "post_category": f.post_categories, "member_status": f.member_status,
                      "member_flowing": f.to_json()["member_flowing"] or "", "member_age_band": f.member_age_bands}
        if values is None:
            values = {"unit": [], "role": [], "post_category": [], "member_status": [], "member_age_band": []}
        choices = _unit_choices(user)
        extra = [c for c in values.get("unit", []) if c not in {u.code for u in choices}]
        return self.render("party/instruction_form.html", title="修改工作指令" if instruction else "新建工作指令",
                           instruction=instruction, values=values, error=error, unit_choices=choices,
                           extra_units=extra, roles=ALL_ROLES, categories=POST_CATEGORIES,
                           statuses=T.MEMBER_STATUSES, bands=T.AGE_BANDS)

    @staticmethod
    def _values():
        form = request.form
        return {"title": form.get("title", ""), "content": form.get("content", ""),
                "reply_required": form.get("reply_required") in ("1", "on", "true"),
                "reply_due": form.get("reply_due", ""), "unit": form.getlist("unit"), "role": form.getlist("role"),
                "post_category": form.getlist("post_category"), "member_status": form.getlist("member_status"),
                "member_flowing": form.get("member_flowing", ""), "member_age_band": form.getlist("member_age_band")}

    @expose("/add/", methods=["GET", "POST"])
    @has_access
    def add(self):
        if request.method == "POST":
            try:
                instruction = I.create_draft(_draft_from_form(), user=acting_user(), attachments=_files())
                flash("草稿已保存，请核对接收人数后发送", "success")
                return redirect(url_for("InstructionView.show", pk=instruction.id))
            except DomainError as exc:
                return self._form(None, exc.message, self._values())
        return self._form(None)

    @expose("/<int:pk>/edit", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        instruction = self._instruction(pk)
        if instruction.sender_id != acting_user().id:
            abort(404)
        if instruction.state != "draft":
            flash("工作指令已下发，不能再修改", "danger")
            return redirect(url_for("InstructionView.show", pk=pk))
        if request.method == "POST":
            try:
                I.update_draft(pk, _draft_from_form(), user=acting_user(), expected_version=_version(),
                               attachments=_files())
                flash("草稿已保存", "success")
                return redirect(url_for("InstructionView.show", pk=pk))
            except DomainError as exc:
                if isinstance(exc, NotFound):
                    abort(404)
                if exc.status == 409:
                    return self._form(instruction, exc.message, self._values()), 409
                return self._form(instruction, exc.message, self._values())
        return self._form(instruction)

    @expose("/preview", methods=["POST"])
    @has_access
    def preview_form(self):
        """The compose form's live count, before anything is saved."""
        user = acting_user()
        try:
            _values, units, filters = I._checked(_draft_from_form(), user)
        except DomainError as exc:
            return jsonify(ok=False, error=exc.message), 400
        found = I.resolve(units, filters, user.id, request_now().date())
        return jsonify(ok=True, count=found.count, text=f"将发送给 {found.count} 人", orphans=found.orphans,
                       members=found.members)

    @expose("/<int:pk>/preview")
    @has_access
    def preview(self, pk):
        """A draft's recipients now, as JSON: {"count", "text": "将发送给 N 人", …}; for a sent
        instruction the recipients it was sent to."""
        instruction = self._instruction(pk)
        if instruction.state != "draft":
            return jsonify(count=instruction.recipient_count, text=f"已发送给 {instruction.recipient_count} 人",
                           sent=True)
        found = I.preview(pk, user=acting_user())
        return jsonify(count=found.count, text=f"将发送给 {found.count} 人", orphans=found.orphans,
                       members=found.members, sent=False)

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        user = acting_user()
        instruction = self._instruction(pk)
        attachments = I.attachments_of(I.INSTRUCTION_FILES, [instruction.id])[instruction.id]
        filters = T.describe(T.TargetFilters.from_json(instruction.filters))
        if instruction.state == "draft":
            found = I.preview(pk, user=user)
            recipients = _people(list(found.users)[:30])
            return self.render("party/instruction_draft.html", title=instruction.title, i=instruction,
                               found=found, recipients=recipients, attachments=attachments, filters=filters)
        try:
            root = I.unit_for_rates(instruction, request.args.get("unit"), user=user)
        except NotFound:
            abort(404)
        total, rows = I.rates(instruction, root, user=user)
        summary = I.summarize(instruction, user)
        return self.render("party/instruction_show.html", title=instruction.title, i=instruction, root=root,
                           total=total, rows=rows, summary=summary, attachments=attachments, filters=filters,
                           mine=instruction.sender_id == user.id, parent=_parent_in_view(root, instruction, user),
                           may_supervise=I.may_supervise(user),
                           waiting=summary["total"] - (summary["replied"] if instruction.reply_required
                                                       else summary["read"]))

    @expose("/<int:pk>/copies")
    @has_access
    def copies(self, pk):
        user = acting_user()
        instruction = self._instruction(pk)
        try:
            root = I.unit_for_rates(instruction, request.args.get("unit"), user=user)
        except NotFound:
            abort(404)
        state = request.args.get("state") or None
        rows = I.copies_at(instruction, root, user=user, state=state, only_root=request.args.get("own") == "1")
        replies = I.attachments_of(I.REPLY_FILES, [c.id for c in rows if c.state == "replied"])
        return self.render("party/instruction_copies.html", title=f"{instruction.title} · 接收情况", i=instruction,
                           root=root, rows=rows, state=state, replies=replies,
                           state_labels=dict(_COPY_LABELS), own=request.args.get("own") == "1",
                           mine=instruction.sender_id == user.id, today=request_now().date())

    def _act(self, pk, fn, success):
        try:
            outcome = fn()
            flash(success(outcome) if callable(success) else success, "success")
        except DomainError as exc:
            _fail(exc)
        return redirect(request.form.get("next") or url_for("InstructionView.show", pk=pk))

    @expose("/<int:pk>/send", methods=["POST"])
    @has_access
    def send(self, pk):
        raw = (request.form.get("expected_count") or "").strip()
        count = int(raw) if raw.isdigit() else None
        return self._act(pk, lambda: I.send(pk, user=acting_user(), expected_version=_version(), expected_count=count),
                         lambda i: f"工作指令已下发给 {i.recipient_count} 人")

    @expose("/<int:pk>/delete", methods=["POST"])
    @has_access
    def delete(self, pk):
        try:
            I.delete_draft(pk, user=acting_user())
        except DomainError as exc:
            _fail(exc)
            return redirect(url_for("InstructionView.show", pk=pk))
        flash("草稿已删除", "success")
        return redirect(url_for("InstructionView.list"))

    @expose("/<int:pk>/remind", methods=["POST"])
    @has_access
    def remind(self, pk):
        raw = (request.form.get("copy_id") or "").strip()
        copy_id = int(raw) if raw.isdigit() else None
        return self._act(pk, lambda: I.remind(pk, user=acting_user(), copy_id=copy_id,
                                              message=request.form.get("message")),
                         lambda n: f"已向 {n} 位接收人催办")

    @expose("/<int:pk>/supervise", methods=["POST"])
    @has_access
    def supervise(self, pk):
        return self._act(pk, lambda: I.to_supervision(pk, user=acting_user(), lead_unit_code=request.form.get("lead_unit"),
                                                      category=request.form.get("category") or "督实事"),
                         lambda task: f"已转为督办事项 {task.code}（草稿），请在督查事项中交办")

    @expose("/attachment/<int:pk>")
    @has_access
    def attachment(self, pk):
        return _send_attachment(pk)

class InstructionInboxView(BaseView):
    """收到的工作指令: the copies addressed to the user; opening one records the read receipt."""

    route_base = "/party/inbox"
    class_permission_name = "InstructionInbox"
    method_permission_name = {"inbox": "read", "copy": "read", "reply": "reply", "attachment": "read"}
    default_view = "inbox"

    def render(self, template, **kwargs):
        return self.render_template(template, can=can, **kwargs)

    @expose("/")
    @has_access
    def inbox(self):
        copies = I.inbox(acting_user())
        return self.render("party/instruction_inbox.html", title="收到的工作指令", copies=copies,
                           state_labels=dict(_COPY_LABELS))

    @expose("/<int:pk>")
    @has_access
    def copy(self, pk):
        user = acting_user()
        try:
            copy = I.open_copy(pk, user=user, now=request_now())
        except NotFound:
            abort(404)
        instruction = copy.instruction
        return self.render(
            "party/instruction_copy.html", title=instruction.title, c=copy, i=instruction,
            attachments=I.attachments_of(I.INSTRUCTION_FILES, [instruction.id])[instruction.id],
            replies=I.attachments_of(I.REPLY_FILES, [copy.id])[copy.id], members=I.copy_members(copy.id),
            reminders=I.copy_reminders(copy.id), state_labels=dict(_COPY_LABELS))

    @expose("/<int:pk>/reply", methods=["POST"])
    @has_access
    def reply(self, pk):
        try:
            I.reply(pk, request.form.get("reply", ""), user=acting_user(), attachments=_files(),
                    expected_version=_version(), now=request_now())
            flash("反馈已提交", "success")
        except DomainError as exc:
            _fail(exc)
        return redirect(url_for("InstructionInboxView.copy", pk=pk))

    @expose("/attachment/<int:pk>")
    @has_access
    def attachment(self, pk):
        """An attachment of an instruction received, or of one's own reply."""
        return _send_attachment(pk)



def _send_attachment(pk):
    try:
        att = I.attachment_for(pk, user=acting_user())
    except NotFound:
        abort(404)
    mime = preview_type(att.filename) if request.args.get("preview") == "1" else None
    if mime:
        return inline(att.content, mime, att.filename)
    return download(att.content, "application/octet-stream", att.filename)


_COPY_LABELS = (("unread", "未读"), ("read", "已读"), ("replied", "已反馈"))


def _people(user_ids) -> list:
    from app.models import AppUser

    if not user_ids:
        return []
    return list(db.session.scalars(select(AppUser).where(AppUser.id.in_(user_ids)).order_by(AppUser.username)))


def _parent_in_view(root: OrgUnit, instruction: Instruction, user) -> OrgUnit | None:
    """The unit one level up, if the viewer may drill back to it."""
    top = I.default_root(instruction, user)
    if root.id == top.id or root.parent is None:
        return None
    return root.parent if root.parent.path.startswith(top.path) else None


# ---------------------------------------------------------------- 我的待办

def todo_provider(user, now: dt.datetime) -> list[TodoGroup]:
    """Copies waiting on the user: 未读工作指令, and read ones whose reply is due (待反馈)."""
    if user is None:
        return []
    groups = []
    base = I.waiting_copies(user)
    wanted = (("instruction_unread", "未读工作指令", InstructionCopy.state == "unread",
               "打开即记录已读；如要求反馈，请在截止日期前反馈"),
              ("instruction_reply", "待反馈工作指令", InstructionCopy.state == "read", "已阅读，尚未反馈"))
    for key, title, condition, hint in wanted:
        stmt = base.where(condition)
        count = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
        if not count:
            continue
        items = []
        for c in db.session.scalars(stmt.order_by(InstructionCopy.id.desc()).limit(SHOWN)):
            note = c.instruction.sender_unit.name
            if c.reminders:
                note += f"，已催办 {c.reminders} 次"
            due = dt.datetime.combine(c.instruction.reply_due, dt.time(23, 59)) if c.instruction.reply_due else None
            late = due is not None and due < now
            if late:
                note += "，已逾期未反馈"
            items.append(TodoItem(title=c.instruction.title, url=f"/party/inbox/{c.id}", due=due, note=note,
                                  light="red" if late else None))
        groups.append(TodoGroup(key=key, title=title, count=count, items=items, url="/party/inbox/",
                                hint=hint))
    return groups


def register_instructions(appbuilder, category: str = CATEGORY) -> None:
    """The instruction and pairing screens in the menu, and the instructions' to-do."""
    from app.party.views_pairings import PairingView

    appbuilder.add_view(InstructionView, "工作指令", icon="fa-bullhorn", category=category,
                        category_label=category, label="工作指令")
    appbuilder.add_view(InstructionInboxView, "收到的工作指令", icon="fa-inbox", category=category,
                        category_label=category, label="收到的工作指令")
    appbuilder.add_view(PairingView, "支部联支部", icon="fa-handshake", category=category,
                        category_label=category, label="支部联支部")
    register_provider("party_instructions", todo_provider)
