"""我的后台任务: a user's own background jobs, their progress, result, error rows and files.

Every logged-in user may open these pages (roles.SELF_SERVICE), and sees only the jobs they
started: another user's job answers 404, like a job that does not exist.
"""

from __future__ import annotations

from flask import abort, g, jsonify, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app.core import clock
from app.core.tabular import write_csv
from app.jobs import services as jobs
from app.models import Job
from app.web.downloads import CSV_MIME
from app.web.downloads import download as attachment

PAGE = 50
ERRORS_PAGE = 1000  # error rows shown per page; all of them are in the CSV download


class JobView(BaseView):
    """/jobs/list/, /jobs/<id> (progress bar, then the result or every error row), its JSON
    status for the bar, the export's file and the error rows as CSV."""

    route_base = "/jobs"
    class_permission_name = "Job"
    method_permission_name = {"list": "read", "show": "read", "status": "read", "download": "read",
                              "errors": "read"}
    default_view = "list"

    def _mine(self, pk: int) -> Job:
        job = jobs.job_of(g.user.id, pk)
        if job is None:
            abort(404)
        return job

    @expose("/list/")
    @has_access
    def list(self):
        page = max(0, request.args.get("page", 0, type=int))
        total, rows = jobs.jobs_of(g.user.id, page, PAGE)
        return self.render_template("jobs/list.html", title="我的后台任务", jobs=rows, total=total, page=page,
                                    page_size=PAGE)

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        job = self._mine(pk)
        page = max(0, request.args.get("page", 0, type=int))
        errors = (job.errors or [])[page * ERRORS_PAGE:(page + 1) * ERRORS_PAGE] if job.error_count else []
        return self.render_template("jobs/show.html", title=job.title, job=job, errors=errors, page=page,
                                    page_size=ERRORS_PAGE, back=(job.params or {}).get("back"))

    @expose("/<int:pk>/status")
    @has_access
    def status(self, pk):
        job = self._mine(pk)
        started = job.started_at if job.state == "running" else None
        return jsonify(id=job.id, state=job.state, state_label=job.state_label, done=job.done, total=job.total,
                       percent=job.percent, writing=job.writing, bar_text=job.bar_text, bar_width=job.bar_width,
                       message=job.message or "", finished=job.finished, error_count=job.error_count,
                       seconds=int((clock.instant() - started).total_seconds()) if started else None)

    @expose("/<int:pk>/download")
    @has_access
    def download(self, pk):
        job = self._mine(pk)
        if job.state != "succeeded" or job.output_data is None:
            abort(404)
        return attachment(job.output_data, job.output_mime, job.output_name)

    @expose("/<int:pk>/errors.csv")
    @has_access
    def errors(self, pk):
        job = self._mine(pk)
        if not job.error_count:
            abort(404)
        rows = [[row if row else "", msg] for row, msg in job.errors]
        return attachment(write_csv(["行号", "错误原因"], rows), CSV_MIME, f"后台任务{job.id}_错误行.csv")
