"""The generated city's shape, shared by the generator's steps (generate.py, gen_*.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

SHEETS_PER_CADRE = 20  # per period, half per score group


@dataclass
class City:
    """What later steps need to know about the generated tree and register."""

    units: list[tuple] = field(default_factory=list)  # (id, code, name, kind, parent_id, path, sort)
    by_kind: dict[str, list[int]] = field(default_factory=dict)
    county_of: dict[int, int] = field(default_factory=dict)  # unit id -> its county's id
    cadres_of: dict[int, list[int]] = field(default_factory=dict)  # unit id -> cadre ids
    quality: list[float] = field(default_factory=list)  # cadre id -> underlying level (index 0 unused)
    unit_name: dict[int, str] = field(default_factory=dict)

    @property
    def cadre_count(self) -> int:
        return len(self.quality) - 1
