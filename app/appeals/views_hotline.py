"""12345 工单导入: the dispatchers' upload of a hotline file, run as a background job (the job's
page shows the progress, then the counts or every bad row), and a blank template to fill in.

`register_link(appbuilder)` registers this screen and the appeals REST API (app/appeals/api.py);
app/appeals/menu.py calls it.
"""

from __future__ import annotations

from flask import request, url_for
from flask_appbuilder import BaseView, expose, has_access

from app.core.errors import DomainError
from app.core.tabular import write_xlsx
from app.web.downloads import XLSX_MIME
from app.web.downloads import download as attachment
from app.web.modelview import queue_upload

CATEGORY = "诉求办理"
HELP = ("列：工单编号、受理时间（如 2026-12-05 08:30）、诉求人、联系电话、诉求类别、诉求内容、发生地编码（网格、村社区或乡镇街道的单位编码）、"
        "紧急程度（紧急/一般/复杂，留空取诉求类别的默认值）。已导入过的工单编号会被跳过并计数；目录中没有的诉求类别会自动加入目录，"
        "标记为“待完善”。导入的诉求在本单位“待分派”。")


class HotlineUploadView(BaseView):
    """12345 工单导入 (热线调度员)."""

    route_base = "/appeals/hotline"
    class_permission_name = "AppealHotline"  # its menu shows to the roles that may upload
    method_permission_name = {"upload": "import", "template": "import"}
    default_view = "upload"

    @expose("/upload/", methods=["GET", "POST"])
    @has_access
    def upload(self):
        errors = []
        if request.method == "POST":  # the import itself runs as a background job (app/jobs/kinds.py)
            try:
                return queue_upload("appeals_hotline", "12345工单导入", {"back": url_for("HotlineUploadView.upload")})
            except DomainError as exc:
                errors = [(None, exc.message)]
        return self.render_template("import.html", title="12345工单导入", errors=errors, help=HELP,
                                    back=url_for("JobView.list"), template_url=url_for("HotlineUploadView.template"))

    @expose("/template/")
    @has_access
    def template(self):
        """A blank .xlsx with the import's header and one example row."""
        from app.appeals.hotline import HEADER

        example = ["12345-20261205-0001", "2026-12-05 08:30", "张三", "13800000000", "道路破损", "某路段路面塌陷，影响通行",
                   "单位编码", "一般"]
        return attachment(write_xlsx(HEADER, [example], title="12345工单"), XLSX_MIME, "12345工单导入模板.xlsx")


def register_link(appbuilder) -> None:
    """The 12345 link's screen (in the 诉求办理 menu) and the appeals REST API."""
    from app.appeals.api import register_apis

    appbuilder.add_view(HotlineUploadView, "12345工单导入", icon="fa-phone", category=CATEGORY, label="12345工单导入",
                        category_label=CATEGORY, category_icon="fa-comments")
    register_apis(appbuilder)
