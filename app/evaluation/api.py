"""REST API of 干部考评 results: /api/v1/results/ (read-only, scoped by the cadre's unit)."""

from __future__ import annotations

from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.evaluation import trace as eval_trace
from app.evaluation.web import ResultRequestFilter, ResultVisibilityFilter
from app.models import EvaluationResult
from app.security.roles import API_METHODS
from app.security.scope import UnitScopeFilter
from app.web.api import ScopedRestApi


class ResultApi(ScopedRestApi):
    """Results of the cadres in scope; unpublished periods only with Result.read_unpublished.

    `?period=CODE&unit=CODE&category=…&grade=…` narrow the list like the results screen.
    """

    resource_name = "results"
    datamodel = SQLAInterface(EvaluationResult)
    class_permission_name = "Result"
    include_route_methods = {"get", "get_list", "info", "trace"}
    method_permission_name = {**API_METHODS, "trace": "read"}
    base_filters = [
        ["org_unit_id", UnitScopeFilter, lambda: None],  # the cadre's unit, kept on the result
        ["period_id", ResultVisibilityFilter, lambda: None],
        ["cadre_id", ResultRequestFilter, lambda: None],
    ]
    list_columns = ["id", "cadre.id", "cadre.code", "cadre.name", "cadre.post_category", "period.code",
                    "period.state", "sanping", "adjustment", "composite", "rank", "peer_count", "delta", "grade",
                    "veto", "undetermined", "flags"]
    show_columns = list_columns + ["group_scores", "indicator_scores", "composite_raw", "percentile", "computed_at"]
    search_columns = ["grade", "rank", "composite"]
    order_columns = ["composite", "rank", "id"]
    base_order = ("id", "asc")

    def check_write(self, item) -> None:  # read-only: no write route is exposed
        raise NotImplementedError

    @expose("/<int:pk>/trace", methods=["GET"])
    @protect()
    @safe
    def trace(self, pk):
        """The inputs a result was computed from, as of now, and the changes since
        ---
        get:
          description: >-
            溯源：本结果计算时读取的输入计数、当前的输入（评分表、测评票、指标得分、调整、督查计数）、
            二者是否一致，以及计算后涉及这些输入的审计记录
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          responses:
            200:
              description: The trace
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      result:
                        type: object
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
            500:
              $ref: '#/components/responses/500'
        """
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return self.response_404()
        return self.response(200, result=eval_trace.trace(item.id))


def register_eval_apis(appbuilder) -> None:
    appbuilder.add_api(ResultApi)
