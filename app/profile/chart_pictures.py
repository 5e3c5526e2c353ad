"""The 特写's radar and trend charts as PNG pictures for the Word 考察材料, drawn by matplotlib.

Plain values in, PNG bytes out. The pictures carry their own Chinese labels (dimension names on
the radar's axes, period names under the trend, a legend), so they need a CJK font: the first
installed of PREFERRED_FONTS (Debian's fonts-noto-cjk, WenQuanYi, Windows' SimHei/FangSong), else
any installed font whose name has "CJK". Fonts are looked up on this machine through
matplotlib.font_manager and never fetched; a machine without one still gets its charts (the
Chinese then shows as boxes), so the document never fails for want of a font.

matplotlib is imported inside the functions, so that app start-up does not pay for it. Figures are
made with the object API (Figure + the Agg canvas), never pyplot: no GUI backend, no global figure
state shared between requests. Sizes are the printed sizes (millimetres at DPI), so a 10.5 pt label
prints at 10.5 pt when word.py inserts the picture at its width.
"""

from __future__ import annotations

import functools
import io
import math
import os
import tempfile
import warnings

DPI = 150
RADAR_SIZE_MM = (110, 96)
TREND_SIZE_MM = (150, 88)
LABEL_PT = 10.5  # 五号
SMALL_PT = 8

RED = "#c23531"
PEER = "#6e6e6e"
GRID = "#d2d2d2"
AXIS = "#787878"
TEXT = "#3c3c3c"
# the rater groups' dashed lines in the trend, as on the web page (app/static/js/profile_charts.js)
GROUP_COLORS = ("#2f4554", "#61a0a8", "#d48265", "#91c7ae", "#749f83", "#ca8622")

PREFERRED_FONTS = (
    "Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", "Source Han Sans CN", "Source Han Serif SC",
    "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "FangSong", "SimSun",
)
LATIN_FALLBACK = "DejaVu Sans"  # matplotlib's own font, always there
# a white ground under the value labels, so that grid and dashed lines do not cross the figures
_HALO = {"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}


def _writable(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK)


def _config_dir() -> None:
    """Point MPLCONFIGDIR at a private temp directory when matplotlib's default config or cache
    directory is not writable (a service user without a home): its font cache is then built once
    per machine, not once per process, and matplotlib does not warn on every start."""
    if os.environ.get("MPLCONFIGDIR"):
        return
    home = os.path.expanduser("~")
    config = os.path.join(os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "matplotlib")
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "matplotlib")
    if _writable(config) and _writable(cache):
        return
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    path = os.path.join(tempfile.gettempdir(), f"matplotlib-{uid}")
    if _writable(path):
        os.environ["MPLCONFIGDIR"] = path


@functools.lru_cache(maxsize=1)
def cjk_font() -> tuple[str, str] | None:
    """(family name, font file) of the CJK font the charts use, or None when the machine has none."""
    _config_dir()
    from matplotlib import font_manager

    entries: dict[str, list] = {}
    for entry in font_manager.fontManager.ttflist:
        entries.setdefault(entry.name, []).append(entry)
    names = [n for n in PREFERRED_FONTS if n in entries]
    # any other CJK font: Simplified Chinese faces first, monospaced ones last
    names += sorted((n for n in entries if "CJK" in n.upper() and n not in names),
                    key=lambda n: (" MONO " in n.upper(), not n.upper().endswith((" SC", " CN")), n))
    if not names:
        return None
    regular = min(entries[names[0]], key=lambda e: (abs(_weight(e.weight) - 400), e.style != "normal"))
    return names[0], regular.fname


def _weight(weight) -> int:
    if isinstance(weight, int):
        return weight
    return {"light": 300, "normal": 400, "regular": 400, "medium": 500, "bold": 700}.get(str(weight), 400)


def _font(size: float = LABEL_PT, bold: bool = False):
    from matplotlib.font_manager import FontProperties

    found = cjk_font()
    family = [found[0], LATIN_FALLBACK] if found else [LATIN_FALLBACK]
    return FontProperties(family=family, size=size, weight="bold" if bold else "normal")


def _figure(size_mm: tuple[float, float]):
    _config_dir()
    from matplotlib.figure import Figure

    return Figure(figsize=(size_mm[0] / 25.4, size_mm[1] / 25.4), dpi=DPI, facecolor="white")


def _png(fig) -> bytes:
    """The figure as PNG (Agg); without a CJK font the missing glyphs' warnings are not news."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        if cjk_font() is None:
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def _floor(values) -> int:
    """The lower bound of the scale: ten below the lowest value, in tens (as on the web page)."""
    present = [v for v in values if v is not None]
    return max(0, int(math.floor((min(present) - 10) / 10) * 10)) if present else 0


def _wrap(text: str, width: int) -> str:
    """Break a label longer than `width` characters into lines of (nearly) equal length."""
    if len(text) <= width:
        return text or " "
    lines = math.ceil(len(text) / width)
    step = math.ceil(len(text) / lines)
    return "\n".join(text[i:i + step] for i in range(0, len(text), step))


def _rings(low: int) -> list[int]:
    """The radar's rings: every ten points from the floor up (every twenty on a long scale)."""
    step = 10 if 100 - low <= 50 else 20
    return list(range(100, low, -step))[::-1]


def radar_figure(dimensions: list[dict]):
    """The dimensions' scores (red, filled, labelled) against the peer average (grey, dashed).

    `dimensions`: [{name, score, peer_avg}]; axis k (from the top, clockwise) is dimension k."""
    fig = _figure(RADAR_SIZE_MM)
    n = max(3, len(dimensions))
    low = _floor([d["score"] for d in dimensions] + [d.get("peer_avg") for d in dimensions])
    span = (100 - low) or 1

    def at(k: int, value) -> tuple[float, float]:
        frac = 0.0 if value is None else max(0.0, min(1.0, (value - low) / span))
        angle = math.pi / 2 - 2 * math.pi * k / n  # from the top, clockwise
        return frac * math.cos(angle), frac * math.sin(angle)

    ax = fig.add_axes((0.04, 0.10, 0.92, 0.88))
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_xlim(-1.36, 1.36)
    ax.set_ylim(-1.20, 1.20)
    small = _font(SMALL_PT)
    for level in _rings(low):  # polygon rings, as on the web page
        ring_points = [at(k, level) for k in range(n)]
        ax.fill([x for x, _ in ring_points], [y for _, y in ring_points], fill=False, edgecolor=GRID, linewidth=0.8)
        ax.text(-0.03, at(0, level)[1], f"{level}", ha="right", va="center", color=AXIS, fontproperties=small)
    label = _font(LABEL_PT)
    for k in range(n):
        x, y = at(k, 100)
        ax.plot([0, x], [0, y], color=GRID, linewidth=0.8)
        if k < len(dimensions):
            ha = "center" if abs(x) < 0.01 else ("left" if x > 0 else "right")
            va = "center" if abs(y) > 0.01 and abs(x) > 0.01 else ("bottom" if y > 0 else "top")
            ax.text(x * 1.08, y * 1.08, _wrap(dimensions[k]["name"], 6), ha=ha, va=va, color=TEXT,
                    fontproperties=label, linespacing=1.1)
    handles: list = []
    peers = [d.get("peer_avg") for d in dimensions]
    if any(v is not None for v in peers):
        pts = [at(k, v) for k, v in enumerate(peers)]
        handles += ax.fill([x for x, _ in pts], [y for _, y in pts], fill=False, edgecolor=PEER,
                           linestyle=(0, (4, 3)), linewidth=1.3, label="同类平均")
    pts = [at(k, d["score"]) for k, d in enumerate(dimensions)]
    ax.fill([x for x, _ in pts], [y for _, y in pts], facecolor=RED, alpha=0.2, edgecolor="none")
    handles[:0] = ax.fill([x for x, _ in pts], [y for _, y in pts], fill=False, edgecolor=RED, linewidth=2,
                          label="本人得分")
    ax.plot([x for x, _ in pts], [y for _, y in pts], "o", color=RED, markersize=4)
    for k, (x, y) in enumerate(pts):
        score = dimensions[k]["score"]
        if score is None:
            continue
        norm = math.hypot(x, y) or 1
        dx, dy = (x / norm, y / norm) if norm > 0.05 else (0.0, 1.0)
        if abs(dx) < 0.01:  # on the vertical axis: beside the point, clear of the scale's numbers
            offset, ha, va = (6, 6 if dy > 0 else -6), "left", "center"
        else:  # outside the point, away from the centre
            offset, ha, va = (8 * dx, 8 * dy), ("left" if dx > 0 else "right"), "center"
        ax.annotate(f"{score:.2f}", (x, y), xytext=offset, textcoords="offset points", ha=ha, va=va,
                    color=RED, fontproperties=small, bbox=_HALO)
    fig.legend(handles=handles, loc="lower center", ncols=2, frameon=False, prop=_font(LABEL_PT),
               bbox_to_anchor=(0.5, 0.0))
    return fig


def radar_png(dimensions: list[dict]) -> bytes:
    return _png(radar_figure(dimensions))


def trend_figure(history: list[dict], groups: list[str]):
    """Every period's composite (red, thick, labelled) and rater-group scores (thin, dashed), oldest
    first, period names under the axis. `history`: [{period: {name}, composite, group_scores}]."""
    fig = _figure(TREND_SIZE_MM)
    label, small = _font(LABEL_PT), _font(SMALL_PT)
    n = len(history)
    values = [h["composite"] for h in history] + [h["group_scores"].get(g) for h in history for g in groups]
    low = _floor(values)
    ax = fig.add_axes((0.09, 0.30 if n > 6 else 0.26, 0.89, 0.66 if n > 6 else 0.70))
    xs = list(range(n))
    handles: list = []
    for j, g in enumerate(groups):
        pts = [(i, h["group_scores"][g]) for i, h in enumerate(history) if h["group_scores"].get(g) is not None]
        handles += ax.plot([i for i, _ in pts], [v for _, v in pts], linestyle=(0, (4, 3)), linewidth=1.2, marker="o",
                markersize=2.5, color=GROUP_COLORS[j % len(GROUP_COLORS)], label=g)
    pts = [(i, h["composite"]) for i, h in enumerate(history) if h["composite"] is not None]
    handles[:0] = ax.plot([i for i, _ in pts], [v for _, v in pts], linewidth=2.2, marker="o", markersize=4.5, color=RED,
            label="综合得分", zorder=3)
    for i, v in pts:
        ax.annotate(f"{v:.2f}", (i, v), xytext=(0, 7), textcoords="offset points", ha="center", va="bottom",
                    color=RED, fontproperties=small, bbox=_HALO, zorder=4)
    ax.set_ylim(low, 102)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_yticks(range(low, 101, 10))
    ax.set_xticks(xs)
    names = [h["period"].get("name") or str(i + 1) for i, h in enumerate(history)]
    if n > 6:  # many periods: slanted, one line each
        ax.set_xticklabels(names, fontproperties=small, rotation=30, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticklabels([_wrap(name, 24 // max(n, 3)) for name in names], fontproperties=label)
    for tick in ax.get_yticklabels():
        tick.set_fontproperties(small)
    ax.set_ylabel("分", fontproperties=label, rotation=0, labelpad=10, color=TEXT)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(AXIS)
    ax.tick_params(colors=TEXT, length=3)
    fig.legend(handles=handles, loc="lower center", ncols=min(4, len(handles)), frameon=False, prop=label)
    return fig


def trend_png(history: list[dict], groups: list[str]) -> bytes:
    return _png(trend_figure(history, groups))
