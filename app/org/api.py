"""The org domain's REST API (/api/v1/cadres/, /api/v1/orgunits/): same scope for reads and writes."""

from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.models import Cadre, OrgUnit
from app.org import cadres as cadre_service
from app.org import units as org_service
from app.security.scope import UnitPathScopeFilter, UnitScopeChoiceFilter
from app.web.api import ScopedRestApi
from app.web.context import acting_user


class CadreApi(ScopedRestApi):
    resource_name = "cadres"
    datamodel = SQLAInterface(Cadre)
    class_permission_name = "Cadre"
    base_filters = [["org_unit_id", UnitScopeChoiceFilter, lambda: None]]
    list_columns = ["id", "code", "name", "gender", "birth_date", "org_unit.id", "org_unit.code", "org_unit.name",
                    "position", "rank", "post_category", "status", "version"]
    show_columns = list_columns + ["ethnicity", "native_place", "party_join_date", "education", "position_start",
                                   "phone"]
    add_columns = ["code", "name", "gender", "birth_date", "org_unit", "position", "rank", "post_category",
                   "status", "ethnicity", "native_place", "party_join_date", "education", "position_start", "phone"]
    edit_columns = add_columns
    search_columns = ["code", "name", "post_category", "status", "gender"]
    order_columns = ["code", "name", "post_category"]

    def check_write(self, item) -> None:
        cadre_service.check_cadre(item, user=acting_user())


class OrgUnitApi(ScopedRestApi):
    resource_name = "orgunits"
    datamodel = SQLAInterface(OrgUnit)
    class_permission_name = "OrgUnit"
    base_filters = [["path", UnitPathScopeFilter, lambda: None]]
    list_columns = ["id", "code", "name", "kind", "parent.id", "parent.code", "path", "sort_order", "active"]
    show_columns = list_columns
    add_columns = ["code", "name", "kind", "parent", "sort_order", "active"]
    edit_columns = add_columns
    search_columns = ["code", "name", "kind"]
    order_columns = ["code", "name", "path"]

    def check_write(self, item) -> None:
        org_service.place_unit(item, user=acting_user())


def register_apis(appbuilder) -> None:
    for api in (CadreApi, OrgUnitApi):
        appbuilder.add_api(api)
