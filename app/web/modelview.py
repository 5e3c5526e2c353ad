"""Shared machinery for the declared views: scoped list actions, exports, imports,
search-as-you-type relation fields. views.py only declares."""

from __future__ import annotations

import datetime as dt
import re

from flask import abort, current_app, flash, g, has_request_context, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.actions import action as fab_action
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.widgets import RenderTemplateWidget, SearchWidget
from markupsafe import Markup, escape
from wtforms import HiddenField

from app.core import formats
from app.core.commands import command
from app.core.errors import DomainError
from app.core.tabular import write_csv, write_xlsx
from app.extensions import db
from app.security.roles import MODELVIEW_METHODS
from app.security.scope import current_scope_prefix
from app.web import downloads
from app.web.context import acting_user
from app.web.downloads import CSV_MIME, XLSX_MIME

EXPORT_LIMIT = 100_000
STILL_REFERENCED = "删除失败：记录仍被其他数据引用"


class SafeActionsMixin:
    """List actions and downloads that answer 404/403 instead of crashing, and that load
    rows through the view's base filters (FAB's own do neither: FAB-NOTES.md)."""

    @expose("/download/<string:filename>")
    @has_access
    def download(self, filename):  # FAB's file download: this app stores no uploaded files
        abort(404)

    @expose("/list/")
    @has_access
    def list(self):
        try:
            return super().list()
        except ValueError:  # a non-numeric page or page-size argument
            abort(400)

    def _scoped_get(self, pk):
        item = self.datamodel.get(self._deserialize_pk_if_composite(pk), self._base_filters)
        if item is None:
            abort(404)
        return item

    @expose("/action/<string:name>/<pk>", methods=["POST"])
    @has_access
    def action(self, name, pk):
        act = self.actions.get(name)
        if act is None:
            abort(404)
        if not self.appbuilder.sm.has_access(self.get_action_permission_name(name), self.class_permission_name):
            abort(403)
        return act.func(self._scoped_get(pk))

    @expose("/action_post", methods=["POST"])
    @has_access
    def action_post(self):
        name = request.form.get("action", "")
        act = self.actions.get(name)
        if act is None:
            abort(404)
        if not self.appbuilder.sm.has_access(self.get_action_permission_name(name), self.class_permission_name):
            abort(403)
        items = [self._scoped_get(pk) for pk in request.form.getlist("rowid")]
        return act.func(items)


STALE_EDIT = "该记录已被他人修改，您的修改未保存。请刷新后重新编辑。"


class OptimisticEditMixin:
    """Edit forms that refuse a save made from a stale copy (FAB re-reads the row at POST time
    and would silently overwrite a concurrent change: FAB-NOTES.md, Concurrency).

    The form carries the row's `version_column` as it was when the form opened (a hidden
    `expected_version`); a save whose value no longer matches is refused with a Chinese
    message and changes nothing. Rows with a SQLAlchemy version column are also guarded at the
    database: of two saves at the same instant, the second's UPDATE matches no row."""

    version_column = "version"
    database_error_message = "保存失败：该记录已被他人修改或与已有记录冲突，您的修改未保存。请刷新后重试。"

    def __init__(self, **kwargs):
        if self._versioned():
            self.edit_form_extra_fields = {**(self.edit_form_extra_fields or {}), "expected_version": HiddenField()}
            if self.edit_columns and "expected_version" not in self.edit_columns:
                self.edit_columns = [*self.edit_columns, "expected_version"]
        super().__init__(**kwargs)

    def _versioned(self) -> bool:
        return hasattr(self.datamodel.obj, self.version_column)

    def _version_of(self, item) -> str:
        return "" if item is None else str(getattr(item, self.version_column) or "")

    def prefill_form(self, form, pk):
        super().prefill_form(form, pk)
        if self._versioned():
            form.expected_version.data = self._version_of(self.datamodel.get(pk, self._base_filters))

    def _edit(self, pk):
        if request.method == "POST" and self._versioned():
            expected = request.form.get("expected_version")
            item = self.datamodel.get(pk, self._base_filters)
            if item is not None and expected is not None and expected != self._version_of(item):
                flash(STALE_EDIT, "danger")
                return None
        return super()._edit(pk)


class CachedSearchWidget(SearchWidget):
    """FAB's search widget (the 搜索 panel), whose fixed parts are worked out once per search
    form and language: the column labels, each column's empty input and its filter names.
    FAB rebuilt them on every list page (3 ms of a 40 ms page). Only the active filters are
    the request's own. A form with a field whose choices come from the database (a related
    column) is never cached: its choices can change."""

    _fixed: dict = {}

    def __call__(self, **kwargs):
        from flask_babel import get_locale

        form = self.template_args["form"]
        include = tuple(self.template_args["include_cols"])
        key = (type(form), include, str(get_locale()))
        fixed = self._fixed.get(key)
        if fixed is None:
            filters = self.filters.get_search_filters()
            fixed = {
                "label_columns": {col: str(form[col].label.text) for col in include},
                "form_fields": {col: form[col]() for col in include},
                "search_filters": {col: [str(flt.name) for flt in filters[col]] for col in include},
            }
            if not any(hasattr(form[col], "query_func") or hasattr(form[col], "query_factory") for col in include):
                self._fixed[key] = fixed
        kwargs.update(fixed)
        kwargs["active_filters"] = self.filters.get_filters_values_tojson()
        return RenderTemplateWidget.__call__(self, **kwargs)


class ReadableDatesMixin:
    """Dates and times in lists and detail pages as people read them (app/core/formats.py):
    every Date or DateTime column of the model gets a formatter unless the view declares one;
    a deadline column (`*_due`) shows its last day."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.formatters_columns = {**date_formatters(self.datamodel), **(self.formatters_columns or {})}


def date_formatters(datamodel) -> dict:
    """{column: formatter} for the Date/DateTime columns of a FAB datamodel."""
    out = {}
    for column in datamodel.get_columns_list():
        try:
            is_datetime, is_date = datamodel.is_datetime(column), datamodel.is_date(column)
        except Exception:  # a relation or a property: not a date column
            continue
        if is_datetime:
            out[column] = formats.deadline_text if column.endswith("_due") else formats.datetime_text
        elif is_date:
            out[column] = formats.date_text
    return out


KEYWORD_ARG = "q"
KEYWORD_OWN = ("code", "name", "title", "place", "unit_name", "username", "note")  # text columns searched by default
KEYWORD_RELATIONS = ("cadre", "org_unit", "lead_unit")  # many-to-one relations whose code and name are searched
KEYWORD_WORDS = {"code": "编码", "name": "名称", "title": "标题", "place": "地点", "unit_name": "单位",
                 "username": "用户名", "note": "说明", "cadre": "干部姓名或编号", "org_unit": "单位名称或编码", "lead_unit": "主办单位"}


def keyword_columns_of(model) -> tuple[str, ...]:
    """The columns a list's keyword box searches by default: the model's own code/name/title
    (and a few like them), and the code and name of its cadre or unit."""
    from sqlalchemy import inspect as sa_inspect

    mapper = sa_inspect(model)
    text = lambda m, name: name in m.columns and _is_text(m.columns[name])  # noqa: E731
    own = [name for name in KEYWORD_OWN if text(mapper, name)]
    related = []
    for rel in KEYWORD_RELATIONS:
        prop = mapper.relationships.get(rel)
        if prop is not None and not prop.uselist:
            related += [f"{rel}.{name}" for name in ("code", "name") if text(prop.mapper, name)]
        elif f"{rel}_id" in mapper.columns and _referenced(model, f"{rel}_id") is not None:
            target = sa_inspect(_referenced(model, f"{rel}_id"))  # a key without a relationship
            related += [f"{rel}_id.{name}" for name in ("code", "name") if text(target, name)]
    return tuple(own + related)


def _referenced(model, fk_column: str):
    """The mapped class a foreign-key column of `model` points to (None if none)."""
    from sqlalchemy import inspect as sa_inspect

    column = sa_inspect(model).columns[fk_column]
    for fk in column.foreign_keys:
        for mapper in model.registry.mappers:
            if mapper.local_table is fk.column.table:
                return mapper.class_
    return None


def _is_text(column) -> bool:
    try:
        return column.type.python_type is str
    except NotImplementedError:
        return False


def keyword_condition(model, columns, keyword: str):
    """SQL: any of `columns` ("col" or "relation.col") contains `keyword` (case-insensitive,
    % and _ taken literally); a relation's column through EXISTS, so no row is repeated."""
    from sqlalchemy import or_, select

    pattern = "%" + keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    by_relation: dict[str, list] = {}
    parts = []
    for column in columns:
        if "." in column:
            rel, name = column.split(".", 1)
            by_relation.setdefault(rel, []).append(name)
        else:
            parts.append(getattr(model, column).ilike(pattern, escape="\\"))
    for rel, names in by_relation.items():
        if rel.endswith("_id"):  # a foreign key without a relationship: key IN (matching rows)
            target = _referenced(model, rel)
            match = or_(*(getattr(target, n).ilike(pattern, escape="\\") for n in names))
            parts.append(getattr(model, rel).in_(select(target.id).where(match)))
            continue
        target = getattr(model, rel).property.mapper.class_
        parts.append(getattr(model, rel).has(or_(*(getattr(target, n).ilike(pattern, escape="\\") for n in names))))
    return or_(*parts)


class KeywordFilter(BaseFilter):
    """The list's plain keyword box (?q=…): rows whose code, name or title (the view's
    `keyword_columns`) contain the words, each word anywhere. A base filter, so it holds
    inside the row scope, for the list, its count and its export alike."""

    name = "关键字"

    def apply(self, query, value):
        if not has_request_context():
            return query
        words = (request.args.get(KEYWORD_ARG) or "").split()[:5]
        model = self.datamodel.obj
        for word in words:
            query = query.filter(keyword_condition(model, value, word[:100]))
        return query


class ScopedModelView(ReadableDatesMixin, SafeActionsMixin, OptimisticEditMixin, ModelView):
    """A ModelView whose every path, list actions and exports included, goes through
    the base filters (the row scope), and whose permissions collapse to read/write."""

    method_permission_name = MODELVIEW_METHODS
    search_widget = CachedSearchWidget
    page_size = 25
    list_template = "scoped_list.html"
    export_columns: list[str] = []
    import_service = None
    import_preview = None  # a service showing what an upload would change: confirmed before it is queued
    import_help = ""
    unit_filter = True  # the list shows the 按单位筛选 picker (rows reachable by a unit id)
    can_edit = can_delete = True  # False: no edit/delete button on any list row (rows move by workflow)
    keyword_columns: tuple[str, ...] | None = None  # the keyword box's columns; None: keyword_columns_of(model)

    def __init__(self, **kwargs):
        if self.keyword_columns is None:
            self.keyword_columns = keyword_columns_of(self.datamodel.obj)
        if self.keyword_columns:
            self.base_filters = [*(self.base_filters or []), ["id", KeywordFilter, tuple(self.keyword_columns)]]
        # Routes a view does not use are not registered at all (no dead 404 endpoints).
        unused = set()
        if self.import_service is None:
            unused.add("upload")
        if not self.export_columns:
            unused.add("export")
        self.exclude_route_methods = set(self.exclude_route_methods or ()) | unused
        super().__init__(**kwargs)

    def render_template(self, template, **kwargs):
        return super().render_template(template, view=self, **kwargs)

    def keyword_clear_url(self) -> str:
        """The list as it is, without the keyword (first page)."""
        args = [(k, v) for k, v in request.args.items(multi=True) if k != KEYWORD_ARG and not k.startswith("page_")]
        from urllib.parse import urlencode

        return request.path + ("?" + urlencode(args) if args else "")

    def keyword_placeholder(self) -> str:
        """What the keyword box searches, in the list's own words (e.g. 事项编号、事项名称)."""
        labels = []
        for column in self.keyword_columns or ():
            if "." in column:
                label = KEYWORD_WORDS.get(column.split(".")[0].removesuffix("_id"), "")
            else:
                label = str(self.label_columns.get(column) or "")
                label = label if label and not label.isascii() else KEYWORD_WORDS.get(column, column)
            if label and label not in labels:
                labels.append(label)
        return "、".join(labels[:4])

    def row_editable(self, row: dict) -> bool:
        """Whether a list row offers the edit button (row: its list column values); the
        user's permission is checked besides. Views whose rows move by workflow override it."""
        return self.can_edit

    def row_deletable(self, row: dict) -> bool:
        """Whether a list row offers the delete button, like row_editable."""
        return self.can_delete

    def _get_list_widget(self, filters, **kwargs):
        # The list widget (appbuilder/general/widgets/list.html) asks these per row.
        kwargs.setdefault("row_editable", self.row_editable)
        kwargs.setdefault("row_deletable", self.row_deletable)
        return super()._get_list_widget(filters, **kwargs)


    @fab_action("muldelete", "删除", "确定删除所选记录吗？", "fa-trash", single=False)
    def muldelete(self, items):
        if not isinstance(items, list):
            items = [items]
        self._delete_items(items, f"已删除 {len(items)} 条记录")
        return redirect(self.get_redirect())

    def _delete(self, pk):
        """Delete through the scope with a Chinese message when the row is still referenced."""
        self._delete_items([self._scoped_get(pk)], self.delete_row_message)
        self.update_redirect()

    def _delete_items(self, items, done: str) -> None:
        """Delete rows already loaded through the scope, all or none, as the request's user."""
        try:
            with command(acting_user(), "删除失败：记录已被他人修改，请刷新后重试", STILL_REFERENCED):
                for item in items:
                    self.pre_delete(item)
                    db.session.delete(item)
            flash(done, "success")
        except DomainError as exc:
            flash(exc.message, "danger")

    def _filtered_query(self):
        """The list's query with the user's current search filters and the scope."""
        from flask_appbuilder.urltools import get_filter_args

        get_filter_args(self._filters)
        joined = self._filters.get_joined_filters(self._base_filters)
        order_column, order_direction = self.base_order or ("id", "asc")
        export_rows = getattr(self.datamodel, "export_rows", None)  # loads what the export shows
        if export_rows is not None:
            return export_rows(joined, order_column, order_direction, EXPORT_LIMIT)
        _, items = self.datamodel.query(
            joined, order_column, order_direction, page=0, page_size=EXPORT_LIMIT
        )
        return items

    def _export_count(self) -> int:
        """How many rows the export would hold (the list's filters and scope)."""
        from flask_appbuilder.urltools import get_filter_args

        get_filter_args(self._filters)
        joined = self._filters.get_joined_filters(self._base_filters)
        return self.datamodel.query_count(self.datamodel.session.query(self.datamodel.obj), joined)

    @expose("/export/<fmt>")
    @has_access
    def export(self, fmt):
        """The list as a file; a big one (over EXPORT_SYNC_MAX_ROWS rows) is made by a
        background job with the same filters, and downloaded from the job's page."""
        if fmt not in ("csv", "xlsx") or not self.export_columns:
            abort(404)
        if self._export_count() > current_app.config["EXPORT_SYNC_MAX_ROWS"]:
            return queue_job("export", f"导出{self.list_title or ''}（{fmt}）", {
                "view": type(self).__name__, "fmt": fmt, "path": request.path,
                "query": request_query(), "back": url_for(f"{self.endpoint}.list"),
            })
        body, mime, name, _count = self.export_file(fmt)
        return downloads.download(body, mime, name)

    def export_file(self, fmt: str) -> tuple[bytes, str, str, int]:
        """(bytes, MIME type, file name, row count) of the list's export in the request's filters."""
        header = [self.label_columns.get(c, c) for c in self.export_columns]
        rows = self.export_rows(self._filtered_query())
        name = self.list_title or "export"
        if fmt == "csv":
            body, mime = write_csv(header, rows), CSV_MIME
        else:
            body, mime = write_xlsx(header, rows, name), XLSX_MIME
        return body, mime, f"{name}.{fmt}", len(rows)

    def export_rows(self, items) -> list[list]:
        """The export's cells, one list per row (a view may resolve names for all rows at once)."""
        return [[self._export_value(item, c) for c in self.export_columns] for item in items]

    def _export_value(self, item, column):
        value = item
        for part in column.split("."):
            value = getattr(value, part, None) if value is not None else None
        if callable(value):
            value = value()
        if column.endswith("_due") and isinstance(value, dt.datetime):
            return formats.deadline_text(value)
        return value

    @expose("/upload/", methods=["GET", "POST"])
    @has_access
    def upload(self):
        if self.import_service is None:
            abort(404)
        errors = []
        if request.method == "POST" and self.import_preview is not None:
            return self._upload_previewed()
        if request.method == "POST":  # the import itself runs as a background job (app/job_kinds.py)
            try:
                return queue_upload("import", f"导入{self.list_title}", {
                    "view": type(self).__name__, "back": url_for(f"{self.endpoint}.list"),
                })
            except DomainError as exc:
                errors = [(None, exc.message)]
        return self.render_template(
            "import.html", title=f"导入{self.list_title}", errors=errors, help=self.import_help,
            back=url_for(f"{self.endpoint}.list"),
        )

    def _upload_previewed(self):
        """An upload shown before it is applied: the file is checked at once (every bad row
        listed, nothing kept), what it would change is shown, and only 确认导入 queues the
        import, which refuses to write if the tree changed since the preview."""
        from app.core.errors import ImportRejected
        from app.jobs import services as jobs

        back = url_for(f"{self.endpoint}.list")
        confirmed = request.form.get("confirm", "")
        if confirmed:
            if not confirmed.isdigit() or not jobs.confirm(int(confirmed), g.user.id,
                                                           {"expect": request.form.get("digest", "")}):
                flash("该预览已确认过或已失效，请重新上传文件", "warning")
                return redirect(url_for(f"{self.endpoint}.upload"))
            return redirect(url_for("JobView.show", pk=int(confirmed)))
        file = request.files.get("file")
        try:
            if file is None or not file.filename:
                raise DomainError("请选择要导入的文件")
            data = file.read()
            jobs.check_upload(data, file.filename)
            plan = type(self).import_preview(data, file.filename, user=acting_user())
        except ImportRejected as exc:
            errors = exc.errors
        except DomainError as exc:
            errors = [(None, exc.message)]
        else:
            job = jobs.submit("import", f"导入{self.list_title}：{file.filename}", g.user,
                              {"view": type(self).__name__, "back": back}, data, file.filename, preview=True)
            return self.render_template("import_preview.html", title=f"导入{self.list_title}：核对预览", plan=plan,
                                        job=job, filename=file.filename, back=back,
                                        again=url_for(f"{self.endpoint}.upload"))
        return self.render_template("import.html", title=f"导入{self.list_title}", errors=errors,
                                    help=self.import_help, back=back)

    def scope_prefix(self):
        return current_scope_prefix()


def request_query() -> str:
    """The request's arguments as an ASCII query string (percent-encoded UTF-8), for a job
    that must see the same filters as the request that queued it."""
    from urllib.parse import urlencode

    return urlencode(list(request.args.items(multi=True)))


def queue_job(kind: str, title: str, params: dict, data: bytes | None = None, filename: str | None = None):
    """Queue a background job for the request's user; the answer opens its page. Refused (the
    user has JOB_MAX_PENDING_PER_USER jobs waiting): the reason is flashed on params["back"]."""
    from app.jobs import services as jobs

    try:
        job = jobs.submit(kind, title, g.user, params, data, filename,
                          max_pending=current_app.config["JOB_MAX_PENDING_PER_USER"])
    except DomainError as exc:
        flash(exc.message, "danger")
        return redirect(params.get("back") or url_for("JobView.list"))
    return redirect(url_for("JobView.show", pk=job.id))


def queue_upload(kind: str, title: str, params: dict):
    """Queue the request's uploaded file as an import job, once it passes the basic checks
    (DomainError otherwise): a file was chosen, a .csv or .xlsx, not empty."""
    from app.jobs import services as jobs

    file = request.files.get("file")
    if file is None or not file.filename:
        raise DomainError("请选择要导入的文件")
    data = file.read()
    jobs.check_upload(data, file.filename)
    return queue_job(kind, f"{title}：{file.filename}", params, data, file.filename)


def list_cells(row: dict, columns, formatters: dict, yes: str, no: str) -> Markup:
    """The <td> cells of one list row, as the list widget's cell loop wrote them: a column's
    formatter when it has one, 是/否 for booleans, nothing for None, the escaped value
    otherwise. In Python because Jinja spent about 30 µs a cell (200 cells a page)."""
    cells, yes, no = [], escape(yes), escape(no)
    for column in columns:
        value = row[column]
        formatter = formatters.get(column)
        if formatter is not None:
            text = escape(formatter(value))
        elif value is True:
            text = yes
        elif value is False:
            text = no
        elif value is None:
            text = ""
        else:
            text = escape(value)
        # A date or time is one unit: never broken at its hyphens over two lines.
        cells.append(f'<td class="text-nowrap">{text}</td>' if _DATE_CELL.match(text) else f"<td>{text}</td>")
    return Markup("".join(cells))


_DATE_CELL = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?$")


class PageFirstInterface(SQLAInterface):
    """A SQLAInterface that picks a page's keys, and counts the rows, before it loads them.

    FAB counts a list with one query and loads its page with another, the list's eager joins
    (many-to-one relations shown in the list) in the same query as its filters, ORDER BY and
    LIMIT. The filters of a scoped, lit task list then ran twice, and when a filter is
    selective in a way the planner cannot estimate (PostgreSQL expected 111 red tasks where
    there were 1,548) it joined every matching row before sorting and keeping 25. Here one
    query applies the filters, the order and the page to the primary key alone and counts
    the matching rows with a window (`SELECT id, count(*) OVER () … ORDER BY … LIMIT 25`);
    the rows of those keys are loaded next, with their joins (red task list: 13 → 4 ms of
    SQL, one query less). Lists that select to-many columns keep FAB's own queries."""

    def _page_first(self, page_size, select_columns) -> bool:
        return bool(page_size) and not (select_columns and self.exists_col_to_many(select_columns))

    def query(self, filters=None, order_column="", order_direction="", page=None, page_size=None,
              select_columns=None, outer_default_load=False):
        if not self._page_first(page_size, select_columns):
            return super().query(filters, order_column, order_direction, page, page_size, select_columns,
                                 outer_default_load)
        from sqlalchemy import func

        pk = self.get_pk()
        keys = self._apply_inner_all(self.session.query(pk, func.count().over()), filters, order_column,
                                     order_direction, page, page_size, aliases_mapping={}).all()
        if not keys:  # an empty list, or a page past its end: the count alone
            count = self.query_count(self.session.query(self.obj), filters, select_columns) if page else 0
            return count, []
        rows = self.apply_all(self.session.query(self.obj), None, order_column, order_direction, None, None,
                              select_columns, outer_default_load)
        return keys[0][1], rows.filter(pk.in_([key for key, _ in keys])).all()

    def apply_all(self, query, filters=None, order_column="", order_direction="", page=None, page_size=None,
                  select_columns=None, outer_default_load=False):
        """FAB's, except that a page is chosen by its keys first (as in `query`)."""
        if not self._page_first(page_size, select_columns):
            return super().apply_all(query, filters, order_column, order_direction, page, page_size,
                                     select_columns, outer_default_load)
        pk = self.get_pk()
        keys = self._apply_inner_all(self.session.query(pk), filters, order_column, order_direction, page,
                                     page_size, aliases_mapping={})
        rows = super().apply_all(query, None, order_column, order_direction, None, None, select_columns,
                                 outer_default_load)
        return rows.filter(pk.in_(keys.statement))


class EagerSQLAInterface:
    """Factory for a SQLAInterface whose list queries load the named relations in one go."""

    def __new__(cls, model, eager: tuple[str, ...] = (), options: tuple = (), page_first: bool = False):
        """eager: relation names loaded with selectinload; options: further loader options
        (e.g. a relation loaded without its own eager relations); page_first: count and pick
        a page's keys in one query (PageFirstInterface)."""
        from sqlalchemy.orm import selectinload

        class _Eager(PageFirstInterface if page_first else SQLAInterface):
            def apply_all(self, query, *args, **kwargs):
                query = super().apply_all(query, *args, **kwargs)
                if self.obj is not model:
                    return query
                loads = [selectinload(getattr(model, n)) for n in eager if hasattr(model, n)]
                return query.options(*loads, *options) if loads or options else query

        return _Eager(model)


# ---------------------------------------------------------------- search-as-you-type unit and cadre fields


