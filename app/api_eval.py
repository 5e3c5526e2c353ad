"""REST API of 干部考评 results: /api/v1/results/ (read-only, scoped by the cadre's unit)."""

from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.api import ScopedRestApi
from app.models import EvaluationResult
from app.security.scope import CadreScopeFilter
from app.views_eval import ResultRequestFilter, ResultVisibilityFilter


class ResultApi(ScopedRestApi):
    """Results of the cadres in scope; unpublished periods only with Result.read_unpublished.

    `?period=CODE&unit=CODE&category=…&grade=…` narrow the list like the results screen.
    """

    resource_name = "results"
    datamodel = SQLAInterface(EvaluationResult)
    class_permission_name = "Result"
    include_route_methods = {"get", "get_list", "info"}
    base_filters = [
        ["cadre_id", CadreScopeFilter, lambda: None],
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


def register_eval_apis(appbuilder) -> None:
    appbuilder.add_api(ResultApi)
