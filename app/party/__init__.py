"""党员 and 精准指挥 (PLATFORM.md §4): party organizations, members, structure analysis."""
