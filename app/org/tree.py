"""The unit tree as people read it: nested, in sort order, with counts per unit, within the
user's subtree. Two queries (the units, the cadre counts per unit) whatever the tree's size."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from app.core.errors import NotFound
from app.extensions import db
from app.models import UNIT_KINDS, Cadre, OrgUnit
from app.security.scope import NO_ACCESS, prefix_of, unit_in_scope

MAX_NODES = 1500  # a bigger subtree is shown a few levels deep; deeper units open on their own page
IN_SERVICE = "在职"
# The 王 lines first (county, township, village), then each level's departments.
KIND_ORDER = {"city": 0, "county": 1, "township": 2, "village": 3, "grid": 4, "department": 5}


@dataclass
class TreeNode:
    id: int
    code: str
    name: str
    kind: str
    active: bool
    sort_order: int
    cadres: int = 0  # in service, of this unit itself
    cadres_total: int = 0  # in service, of this unit and all below it
    units_below: int = 0  # every unit below it
    depth: int = 0
    children: list[TreeNode] = field(default_factory=list)
    more: bool = False  # has children not shown here (open the unit as the root to see them)

    @property
    def kind_label(self) -> str:
        return UNIT_KINDS.get(self.kind, self.kind)


def unit_tree(root_code: str | None = None, *, user, max_nodes: int = MAX_NODES) -> tuple[list[TreeNode], int]:
    """(top nodes, unit count) of the user's subtree, or of the unit `root_code` inside it
    (NotFound outside it, like a missing unit)."""
    prefix = prefix_of(user)
    if prefix == NO_ACCESS:
        return [], 0
    if root_code:
        root = db.session.scalar(select(OrgUnit).where(OrgUnit.code == root_code))
        if not unit_in_scope(root, prefix):
            raise NotFound("单位不存在或不在您的管辖范围内")
        prefix = root.path
    units = select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.active, OrgUnit.sort_order,
                   OrgUnit.parent_id)
    if prefix is not None:
        units = units.where(OrgUnit.path.startswith(prefix, autoescape=True))
    rows = db.session.execute(units).all()
    nodes = {r.id: TreeNode(r.id, r.code, r.name, r.kind, bool(r.active), r.sort_order or 0) for r in rows}
    counts = select(Cadre.org_unit_id, func.count()).where(Cadre.status == IN_SERVICE)
    if prefix is not None:
        counts = counts.join(OrgUnit, OrgUnit.id == Cadre.org_unit_id).where(
            OrgUnit.path.startswith(prefix, autoescape=True))
    for unit_id, count in db.session.execute(counts.group_by(Cadre.org_unit_id)):
        if unit_id in nodes:
            nodes[unit_id].cadres = count
    roots = []
    for r in rows:
        parent = nodes.get(r.parent_id)
        (parent.children if parent is not None else roots).append(nodes[r.id])
    _order(roots, 0)
    _cut(roots, max_nodes)
    return roots, len(nodes)


def _order(nodes: list[TreeNode], depth: int) -> None:
    """Sort each level, set depths and add up the counts from the leaves."""
    nodes.sort(key=lambda n: (KIND_ORDER.get(n.kind, len(KIND_ORDER)), n.sort_order, n.code))
    for node in nodes:
        node.depth = depth
        _order(node.children, depth + 1)
        node.cadres_total = node.cadres + sum(c.cadres_total for c in node.children)
        node.units_below = len(node.children) + sum(c.units_below for c in node.children)


def _cut(roots: list[TreeNode], max_nodes: int) -> None:
    """Keep whole levels while the tree fits in max_nodes; the last kept level's units say
    that more lies below them."""
    level, shown = roots, 0
    while level:
        shown += len(level)
        below = [c for n in level for c in n.children]
        if shown + len(below) > max_nodes:
            for node in level:
                node.more, node.children = bool(node.children), []
            return
        level = below
