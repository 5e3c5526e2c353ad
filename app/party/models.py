"""The party tables: organizations (党委/党总支/党支部, each tied to a unit) and members.

A member's `org_unit_id` is its branch's unit, copied onto the member (kept in step by the
services and by the listener below) so that scope and the structure figures are set-based
queries on one table: a unit subtree's members without a join through the branches.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, event, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

PARTY_ORG_KINDS = ("党委", "党总支", "党支部")
MEMBER_GENDERS = ("男", "女")
MEMBER_EDUCATIONS = ("研究生", "大学本科", "大学专科", "中专及以下")
MEMBER_STATUSES = ("正式党员", "预备党员")


class PartyOrg(db.Model):
    """A party organization: 党委, 党总支 or 党支部, under its parent, belonging to a unit."""

    __audited__ = True
    __tablename__ = "party_org"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8))
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("party_org.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    # The secretary (书记): the user account that receives instructions for the branch, and the
    # member who holds the post (either may be unset).
    secretary_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"), index=True)
    secretary_member_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("party_member.id", use_alter=True, name="fk_party_org_secretary_member"))
    sort_order: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_party_org_unit_kind", "org_unit_id", "kind"),)

    parent: Mapped[Optional[PartyOrg]] = relationship(remote_side=[id], lazy="joined", join_depth=1)
    org_unit = relationship("OrgUnit", lazy="joined", innerjoin=True)
    secretary = relationship("AppUser", foreign_keys=[secretary_id], lazy="joined")
    secretary_member: Mapped[Optional[PartyMember]] = relationship(
        foreign_keys=[secretary_member_id], lazy="joined", post_update=True)

    # Nullable relations as plain values for the API's lists (a dotted column joins inner).
    @property
    def parent_code(self) -> str | None:
        return self.parent.code if self.parent is not None else None

    @property
    def secretary_username(self) -> str | None:
        return self.secretary.username if self.secretary is not None else None

    @property
    def secretary_member_code(self) -> str | None:
        return self.secretary_member.code if self.secretary_member is not None else None

    def __repr__(self) -> str:
        return self.name


class PartyMember(db.Model):
    """A party member (党员) of a branch; optionally the cadre they are."""

    __audited__ = True
    __tablename__ = "party_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # 党员编号
    name: Mapped[str] = mapped_column(String(50), index=True)
    gender: Mapped[str] = mapped_column(String(4))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    ethnicity: Mapped[Optional[str]] = mapped_column(String(20))
    education: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[dt.date] = mapped_column(Date)  # 入党时间
    confirmed_at: Mapped[Optional[dt.date]] = mapped_column(Date)  # 转正时间
    status: Mapped[str] = mapped_column(String(8), default="正式党员")
    flowing: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  # 流动党员
    flowing_to: Mapped[Optional[str]] = mapped_column(String(200))  # 流向
    party_post: Mapped[Optional[str]] = mapped_column(String(50))  # 党内职务
    branch_id: Mapped[int] = mapped_column(ForeignKey("party_org.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))  # the branch's unit
    phone: Mapped[Optional[str]] = mapped_column(String(20))
    cadre_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cadre.id"), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # 结构分析: a unit's members and every figure's column from the index alone
        Index("ix_party_member_unit_stats", "org_unit_id", "joined_at", "birth_date", "confirmed_at",
              "gender", "education", "status", "flowing"),
    )

    branch: Mapped[PartyOrg] = relationship(foreign_keys=[branch_id], lazy="joined", innerjoin=True)
    org_unit = relationship("OrgUnit", lazy="joined", innerjoin=True)
    cadre = relationship("Cadre", lazy="joined")

    # The audit trail keeps these masked (PLATFORM.md §5): app/core/audit.py.
    __audit_masked__ = {"phone": "phone"}

    @property
    def phone_masked(self) -> str:
        """The phone as lists, exports and the API's lists show it (138****5678)."""
        from app.core.personal import mask_phone

        return mask_phone(self.phone)

    @property
    def cadre_code(self) -> str | None:
        """The linked cadre's 干部编号 (None: not a cadre)."""
        return self.cadre.code if self.cadre is not None else None

    def __repr__(self) -> str:
        return f"{self.name}（{self.code}）"


@event.listens_for(PartyMember, "before_insert")
@event.listens_for(PartyMember, "before_update")
def _member_unit_from_branch(_mapper, connection, target: PartyMember) -> None:
    """A member's unit is its branch's unit (however the member was saved): looked up when a
    new member comes without it or a member changes branch (the services set it themselves)."""
    from sqlalchemy import inspect

    state = inspect(target)
    wanted = target.org_unit_id is None if state.key is None else state.attrs.branch_id.history.has_changes()
    if wanted and target.branch_id is not None:
        unit = connection.execute(select(PartyOrg.org_unit_id).where(PartyOrg.id == target.branch_id)).scalar()
        if unit is not None:
            target.org_unit_id = unit


@event.listens_for(PartyOrg, "after_update")
def _members_follow_branch(_mapper, connection, target: PartyOrg) -> None:
    """A branch moved to another unit takes its members along (one indexed UPDATE)."""
    table = PartyMember.__table__
    connection.execute(
        update(table)
        .where(table.c.branch_id == target.id, table.c.org_unit_id != target.org_unit_id)
        .values(org_unit_id=target.org_unit_id)
    )


# ---------------------------------------------------------------- 结构分析 cells (app/party/structure.py)

STRUCTURE_CELLS = 15  # counted columns of a unit's figures as of a day (structure._figure_columns)


class PartyStructureDay(db.Model):
    """A day whose cells are kept: every unit's figures as of that day were counted once."""

    __tablename__ = "party_structure_day"

    as_of: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[dt.datetime] = mapped_column(db.DateTime)


class PartyStructureCell(db.Model):
    """One unit's own members counted as of a kept day (c0…c14: structure._figure_columns)."""

    __tablename__ = "party_structure_cell"

    as_of: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)


for _i in range(STRUCTURE_CELLS):
    PartyStructureCell.__table__.append_column(db.Column(f"c{_i}", Integer, nullable=False, server_default="0"))


class PartyStructureDirty(db.Model):
    """A unit whose members changed since its cells were counted (written by the database's
    triggers on party_member, so a form, an import, the API and a bulk UPDATE all count)."""

    __tablename__ = "party_structure_dirty"

    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
