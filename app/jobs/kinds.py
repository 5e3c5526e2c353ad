"""What each kind of background job does: the same service calls as the web and the CLI.

Each runner is called by the worker (app/jobs_worker.py) inside a request context whose user
is the job's creator, with the job's parameters, its file (uploads) and a progress callback.
It returns a Done (the Chinese message, a result summary, the exported file); a refused job
raises the service's DomainError or ImportRejected, whose message and every bad row end up on
the job's page. Permissions are checked again here: the creator may have lost them since.
"""

from __future__ import annotations

from typing import NamedTuple

from flask import current_app

from app.core.errors import DomainError, Forbidden


class Done(NamedTuple):
    message: str
    result: dict | None = None
    output: tuple[str, str, bytes] | None = None  # (file name, MIME type, bytes) of an export


def run_kind(kind: str, user, params: dict, data: bytes | None, filename: str | None, progress) -> Done:
    """Run one job as `user` (already the request's user)."""
    if user is None or not user.active:
        raise Forbidden("提交该任务的账号已停用或已删除，任务未执行")
    runner = RUNNERS.get(kind)
    if runner is None:
        raise DomainError("未知的任务类型，任务未执行")
    return runner(params, data, filename, progress, user)


def _require(permission: str, resource: str) -> None:
    if not current_app.appbuilder.sm.has_access(permission, resource):
        raise Forbidden("您已没有执行该任务的权限，任务未执行")


def _view(name: str):
    """The registered view instance of class `name` (uploads and exports are theirs)."""
    view = next((v for v in current_app.appbuilder.baseviews if type(v).__name__ == name), None)
    if view is None:
        raise DomainError("任务所属的页面已不存在，任务未执行")
    return view


def _model_import(params, data, filename, progress, user) -> Done:
    """A list screen's upload (cadres, units): its import_service, as the upload called it."""
    view = _view(params["view"])
    _require("can_import", view.class_permission_name)
    expect = {"expect": params["expect"]} if params.get("expect") else {}  # a previewed import
    counts = type(view).import_service(data, filename, progress=progress, user=user, **expect)
    changed = "".join(f"，{label} {len(counts[key])} 个" for key, label in
                      (("renamed", "其中改名"), ("moved", "移动"), ("retyped", "改变类型")) if counts.get(key))
    return Done(f"导入成功：新增 {counts['created']} 条，更新 {counts['updated']} 条{changed}", counts)


def _eval_import(params, data, filename, progress, user) -> Done:
    """Score sheets/ballots, indicator scores or adjustments of a period (评分录入's uploads)."""
    from app.evaluation import entry as eval_entry
    from app.evaluation.views_entry import UPLOADS, describe_counts

    _require("can_import", "Score")
    _title, service, _help = UPLOADS[params["upload"]]
    counts = service(params["period"], data, filename, progress=progress, user=user)
    eval_entry.inputs_changed(params["period"], user=user)
    return Done(f"导入成功：{describe_counts(counts)}", counts)


def _compute(params, data, filename, progress, user) -> Done:
    """A period's results (考评周期 → 计算)."""
    from app.evaluation import results as eval_results

    _require("can_write", "Period")
    progress(0, 0, f"正在计算考评期“{params['period']}”的结果…")
    counts = eval_results.compute_period(params["period"], user=user)
    return Done(f"考评期“{params['period']}”已计算，共 {counts['results']} 名干部的结果", counts)


def _list_export(params, data, filename, progress, user) -> Done:
    """A list screen's export, with the filters of the request that asked for it."""
    view = _view(params["view"])
    _require("can_read", view.class_permission_name)
    progress(0, 0, "正在导出…")
    body, mime, name, count = view.export_file(params["fmt"])
    return Done(f"导出完成：共 {count} 行", {"rows": count}, (name, mime, body))


def _results_export(params, data, filename, progress, user) -> Done:
    """The results export of DESIGN.md section 7 (考评结果 → 导出)."""
    from app.evaluation.web import results_file

    _require("can_read", "Result")
    progress(0, 0, "正在导出考评结果…")
    body, mime, name, count = results_file(params["period"], params["fmt"], params.get("layout", "standard"))
    return Done(f"导出完成：共 {count} 行", {"rows": count}, (name, mime, body))


def _hotline_import(params, data, filename, progress, user) -> Done:
    """12345 工单导入 (a dispatcher's upload): the same service as the CLI and the API."""
    from app.appeals.hotline import import_hotline

    _require("can_import", "AppealHotline")
    counts = import_hotline(data, filename, progress=progress, user=user)
    added = f"；新增诉求类别（待完善）：{'、'.join(counts['categories_added'])}" if counts["categories_added"] else ""
    return Done(f"导入成功：新增 {counts['created']} 件，跳过已导入 {counts['skipped']} 件{added}", counts)


def _keep_structure_ahead() -> None:
    from app.party.structure import keep_ahead

    keep_ahead()


def _keep_appeal_figures() -> None:
    from app.appeals.cells import refresh

    refresh()


# Housekeeping the worker does when its queue is empty, at most once per JOB_IDLE_SECONDS.
IDLE_TASKS = (_keep_structure_ahead, _keep_appeal_figures)


RUNNERS = {
    "import": _model_import,
    "eval_import": _eval_import,
    "compute": _compute,
    "export": _list_export,
    "results_export": _results_export,
    "appeals_hotline": _hotline_import,
}
