"""溯源: a result traced to its inputs (/results/<id>/trace), reached from the results list and
detail page; the same row scope and visibility as the results screen (services.eval_trace)."""

from __future__ import annotations

from flask import abort
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from markupsafe import Markup

from app.evaluation import trace as eval_trace


def trace_link(result_id) -> Markup:
    return Markup(f'<a class="btn btn-xs btn-default" href="/results/{int(result_id)}/trace" title="查看本结果的计算依据">'
                  '<i class="fa fa-search"></i> 溯源</a>')


class ResultTraceMixin:
    """Adds the trace page to the results ModelView (its base filters give the 404s)."""

    @expose("/<int:pk>/trace")
    @has_access
    def trace(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        return self.render_template("eval/result_trace.html", trace=eval_trace.trace(item.id),
                                    title="考评结果溯源")
