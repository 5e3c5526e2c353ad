"""The party register's REST API (/api/v1/partymembers/, /api/v1/partyorgs/): the screens' scope
and checks; phones masked in the member list, in full only on one member's record."""

from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.party import members as member_service
from app.party import orgs as org_service
from app.party.models import PartyMember, PartyOrg
from app.security.scope import UnitScopeChoiceFilter
from app.web.api import ScopedRestApi
from app.web.context import acting_user


class PartyMemberApi(ScopedRestApi):
    resource_name = "partymembers"
    datamodel = SQLAInterface(PartyMember)
    class_permission_name = "PartyMember"
    base_filters = [["org_unit_id", UnitScopeChoiceFilter, lambda: None]]
    list_columns = ["id", "code", "name", "gender", "birth_date", "ethnicity", "education", "joined_at",
                    "confirmed_at", "status", "flowing", "flowing_to", "party_post", "branch.id", "branch.code",
                    "branch.name", "org_unit.id", "org_unit.code", "org_unit.name", "phone_masked", "cadre_code",
                    "version"]
    show_columns = [c for c in list_columns if c != "phone_masked"] + ["phone"]
    add_columns = ["code", "name", "gender", "birth_date", "ethnicity", "education", "joined_at", "confirmed_at",
                   "status", "flowing", "flowing_to", "party_post", "branch", "phone", "cadre"]
    edit_columns = add_columns
    search_columns = ["code", "name", "gender", "education", "status", "flowing", "party_post"]
    order_columns = ["code", "name", "birth_date", "joined_at"]

    def check_write(self, item) -> None:
        member_service.check_member(item, user=acting_user())


class PartyOrgApi(ScopedRestApi):
    resource_name = "partyorgs"
    datamodel = SQLAInterface(PartyOrg)
    class_permission_name = "PartyOrg"
    base_filters = [["org_unit_id", UnitScopeChoiceFilter, lambda: None]]
    # nullable relations by their key (a dotted column would join them inner: rows without one vanish)
    list_columns = ["id", "code", "name", "kind", "parent_code", "org_unit.id", "org_unit.code", "org_unit.name",
                    "secretary_username", "secretary_member_code", "sort_order", "version"]
    show_columns = list_columns
    add_columns = ["code", "name", "kind", "parent", "org_unit", "secretary", "secretary_member", "sort_order"]
    edit_columns = add_columns
    search_columns = ["code", "name", "kind"]
    order_columns = ["code", "name", "sort_order"]

    def check_write(self, item) -> None:
        org_service.place_org(item, user=acting_user())


def register_apis(appbuilder) -> None:
    for api in (PartyMemberApi, PartyOrgApi):
        appbuilder.add_api(api)
