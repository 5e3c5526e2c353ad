"""结构分析 (/party/structure): the page with its charts, its JSON twin and its .xlsx export."""

from __future__ import annotations

import datetime as dt
import json

from flask import Response, abort, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app.core.errors import NotFound
from app.core.tabular import parse_date, write_xlsx
from app.party import structure as S
from app.web import downloads
from app.web.context import acting_user, request_now
from app.web.downloads import XLSX_MIME


def _as_of() -> dt.date:
    raw = (request.args.get("as_of") or "").strip()
    if not raw:
        return request_now().date()
    try:
        day = parse_date(raw)
    except ValueError:
        abort(400, description=f"统计日期“{raw[:20]}”不是有效日期（应为 YYYY-MM-DD）")
    if day.year < 1900:
        abort(400, description="统计日期过早")
    return day


def _figures():
    try:
        unit = S.resolve_unit((request.args.get("unit") or "").strip(), acting_user())
    except NotFound:
        abort(404)
    as_of = _as_of()
    return unit, as_of, S.structure(unit, as_of)


class PartyStructureView(BaseView):
    """党员结构分析 of a unit's subtree as of a date; each child unit one click down."""

    route_base = "/party"
    class_permission_name = "PartyStructure"
    method_permission_name = {"structure": "read", "structure_json": "read", "structure_xlsx": "read"}
    default_view = "structure"

    @expose("/structure")
    @has_access
    def structure(self):
        unit, as_of, data = _figures()
        return self.render_template(
            "party/structure.html", title="党员结构分析", unit=unit, as_of=as_of, data=data, keys=S.KEYS,
            labels=S.LABELS, names=S.NAMES,
            chart_data={"keys": list(S.KEYS), "names": {k: list(v) for k, v in S.NAMES.items()}, **data},
            parent=unit.parent if unit.parent is not None and unit.parent_id is not None else None,
        )

    @expose("/structure.json")
    @has_access
    def structure_json(self):
        _unit, _as_of, data = _figures()
        # the bands in their natural order (jsonify would sort the keys: "≤30" after "51–60")
        return Response(json.dumps(data, ensure_ascii=False), mimetype="application/json")

    @expose("/structure.xlsx")
    @has_access
    def structure_xlsx(self):
        unit, as_of, data = _figures()
        header, rows = S.structure_rows(data, unit.name)
        body = write_xlsx(header, rows, "党员结构分析")
        return downloads.download(body, XLSX_MIME, f"党员结构分析_{unit.code}_{as_of.isoformat()}.xlsx")
