"""The 特写's radar and trend charts as PNG pictures for the Word 考察材料, drawn in pure Python.

Neither matplotlib nor Pillow is installed (requirements.txt), so this module rasterises the
two charts itself (lines, polygons, dots, a 5×7 bitmap font for numbers) and encodes PNG with
zlib. The bitmap font has digits and a few signs only: Chinese names (dimensions, rater groups,
periods) cannot be drawn without a CJK font rasteriser, so the pictures carry numbers (axis
numbers 1…n, scores, years) and the document's caption under each picture names them.
Plain values in, PNG bytes out.
"""

from __future__ import annotations

import math
import struct
import zlib

WHITE = (255, 255, 255)
GRID = (210, 210, 210)
AXIS = (120, 120, 120)
TEXT = (60, 60, 60)
RED = (194, 53, 49)
PEER = (110, 110, 110)
# the rater groups' lines in the trend (names and colours in the caption)
GROUP_COLORS = ((47, 69, 84), (97, 160, 168), (212, 130, 101), (145, 199, 174), (116, 159, 131))
GROUP_COLOR_NAMES = ("深蓝", "青绿", "橙色", "浅绿", "墨绿")

# 5×7 glyphs, one string of five bits per row
_FONT = {
    "0": ("01110", "10001", "10011", "10101", "11001", "10001", "01110"),
    "1": ("00100", "01100", "00100", "00100", "00100", "00100", "01110"),
    "2": ("01110", "10001", "00001", "00010", "00100", "01000", "11111"),
    "3": ("11111", "00010", "00100", "00010", "00001", "10001", "01110"),
    "4": ("00010", "00110", "01010", "10010", "11111", "00010", "00010"),
    "5": ("11111", "10000", "11110", "00001", "00001", "10001", "01110"),
    "6": ("00110", "01000", "10000", "11110", "10001", "10001", "01110"),
    "7": ("11111", "00001", "00010", "00100", "01000", "01000", "01000"),
    "8": ("01110", "10001", "10001", "01110", "10001", "10001", "01110"),
    "9": ("01110", "10001", "10001", "01111", "00001", "00010", "01100"),
    ".": ("00000", "00000", "00000", "00000", "00000", "01100", "01100"),
    "-": ("00000", "00000", "00000", "11111", "00000", "00000", "00000"),
    "+": ("00000", "00100", "00100", "11111", "00100", "00100", "00000"),
    "/": ("00001", "00010", "00010", "00100", "01000", "01000", "10000"),
    ":": ("00000", "01100", "01100", "00000", "01100", "01100", "00000"),
    "Q": ("01110", "10001", "10001", "10001", "10101", "10010", "01101"),
    " ": ("00000",) * 7,
}


class Canvas:
    """An RGB raster with the few drawing operations the two charts need."""

    def __init__(self, width: int, height: int, background=WHITE):
        self.w, self.h = width, height
        self.px = bytearray(bytes(background) * (width * height))

    def dot(self, x: int, y: int, color) -> None:
        if 0 <= x < self.w and 0 <= y < self.h:
            i = 3 * (y * self.w + x)
            self.px[i:i + 3] = bytes(color)

    def span(self, y: int, x0: int, x1: int, color) -> None:
        """Paint row y from x0 to x1 inclusive."""
        if not 0 <= y < self.h:
            return
        x0, x1 = max(0, x0), min(self.w - 1, x1)
        if x1 >= x0:
            i = 3 * (y * self.w)
            self.px[i + 3 * x0:i + 3 * (x1 + 1)] = bytes(color) * (x1 - x0 + 1)

    def disc(self, cx: float, cy: float, r: float, color) -> None:
        for dy in range(-int(r), int(r) + 1):
            half = int(math.sqrt(max(0.0, r * r - dy * dy)))
            self.span(int(round(cy)) + dy, int(round(cx)) - half, int(round(cx)) + half, color)

    def line(self, p: tuple, q: tuple, color, width: int = 1, dash: int = 0) -> None:
        """A line of `width` pixels; `dash` > 0 draws dashes of that length with equal gaps."""
        (x0, y0), (x1, y1) = p, q
        steps = max(1, int(max(abs(x1 - x0), abs(y1 - y0))))
        r = (width - 1) / 2
        for k in range(steps + 1):
            if dash and (k // dash) % 2:
                continue
            x, y = x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps
            if r < 0.5:
                self.dot(int(round(x)), int(round(y)), color)
            else:
                self.disc(x, y, r, color)

    def polyline(self, points: list, color, width: int = 1, dash: int = 0, closed: bool = False) -> None:
        pairs = list(zip(points, points[1:] + points[:1] if closed else points[1:]))
        for p, q in pairs:
            self.line(p, q, color, width, dash)

    def polygon(self, points: list, color) -> None:
        """Fill a simple polygon (even-odd scanlines)."""
        ys = [y for _, y in points]
        for y in range(max(0, int(min(ys))), min(self.h - 1, int(max(ys))) + 1):
            yc = y + 0.5
            xs = []
            for (xa, ya), (xb, yb) in zip(points, points[1:] + points[:1]):
                if (ya <= yc < yb) or (yb <= yc < ya):
                    xs.append(xa + (yc - ya) * (xb - xa) / (yb - ya))
            xs.sort()
            for a, b in zip(xs[::2], xs[1::2]):
                self.span(y, int(math.ceil(a - 0.5)), int(math.floor(b - 0.5)), color)

    def rect(self, x0: int, y0: int, x1: int, y1: int, color) -> None:
        for y in range(y0, y1 + 1):
            self.span(y, x0, x1, color)

    def text(self, x: float, y: float, s: str, color=TEXT, scale: int = 3, anchor: str = "middle") -> None:
        """Draw `s` (digits and . - + / : Q) with its vertical centre at y; anchor start/middle/end."""
        s = "".join(ch for ch in s if ch in _FONT)
        width = (6 * len(s) - 1) * scale
        left = x - {"start": 0, "middle": width / 2, "end": width}[anchor]
        top = int(round(y - 3.5 * scale))
        for n, ch in enumerate(s):
            for row, bits in enumerate(_FONT[ch]):
                for col, bit in enumerate(bits):
                    if bit == "1":
                        gx = int(round(left)) + (6 * n + col) * scale
                        self.rect(gx, top + row * scale, gx + scale - 1, top + (row + 1) * scale - 1, color)

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(self.px[3 * y * self.w:3 * (y + 1) * self.w]) for y in range(self.h))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

        header = struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def _blend(color, alpha: float, base=WHITE) -> tuple:
    return tuple(int(round(b + (c - b) * alpha)) for c, b in zip(color, base))


def _floor(values) -> int:
    """The lower bound of the scale: ten below the lowest value, in tens (as on the web page)."""
    present = [v for v in values if v is not None]
    return max(0, int(math.floor((min(present) - 10) / 10) * 10)) if present else 0


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.2f}"


def radar_png(dimensions: list[dict], size: int = 900) -> bytes:
    """The dimensions' scores (red, filled) against the peer average (grey, dashed).

    `dimensions`: [{name, score, peer_avg}]; axis k (from the top, clockwise) is dimension k."""
    c = Canvas(size, size)
    n = max(3, len(dimensions))
    cx, cy, radius = size / 2, size / 2 + 10, size * 0.36
    low = _floor([d["score"] for d in dimensions] + [d.get("peer_avg") for d in dimensions])

    def at(k: int, value) -> tuple:
        frac = 0.0 if value is None else max(0.0, min(1.0, (value - low) / (100 - low or 1)))
        angle = -math.pi / 2 + 2 * math.pi * k / n
        return cx + radius * frac * math.cos(angle), cy + radius * frac * math.sin(angle)

    c.polygon([at(k, dim["score"]) for k, dim in enumerate(dimensions)], _blend(RED, 0.22))
    for ring in range(1, 5):
        level = low + (100 - low) * ring / 4
        c.polyline([at(k, level) for k in range(n)], GRID, width=2, closed=True)
        c.text(cx - 10, at(0, level)[1], f"{level:g}", AXIS, scale=2, anchor="end")
    for k in range(n):
        c.line((cx, cy), at(k, 100), GRID, width=2)
        x, y = at(k, 100)
        c.text(cx + (x - cx) * 1.13, cy + (y - cy) * 1.13, str(k + 1), TEXT, scale=5)
    peers = [dim.get("peer_avg") for dim in dimensions]
    if any(v is not None for v in peers):
        c.polyline([at(k, v) for k, v in enumerate(peers)], PEER, width=3, dash=12, closed=True)
    points = [at(k, dim["score"]) for k, dim in enumerate(dimensions)]
    c.polyline(points, RED, width=5, closed=True)
    for k, (x, y) in enumerate(points):
        c.disc(x, y, 7, RED)
        dx, dy = x - cx, y - cy
        norm = math.hypot(dx, dy) or 1
        if abs(dx) < 1:  # on the vertical axis: beside the point, clear of the scale's numbers
            c.text(x + 16, y - 18 if dy < 0 else y + 18, _fmt(dimensions[k]["score"]), RED, scale=3, anchor="start")
        else:  # outside the point, away from the centre
            c.text(x + (16 if dx > 0 else -16), y + 26 * dy / norm, _fmt(dimensions[k]["score"]), RED, scale=3,
                   anchor="start" if dx > 0 else "end")
    return c.png()


def _period_label(end_date: str | None, index: int) -> str:
    return (end_date or "")[:7] or str(index + 1)


def trend_png(history: list[dict], groups: list[str], width: int = 1400, height: int = 760) -> bytes:
    """Every period's composite (red, thick, labelled) and rater-group scores (thin, dashed),
    oldest first. `history`: [{period: {end_date}, composite, group_scores: {name: score}}]."""
    c = Canvas(width, height)
    left, right, top, bottom = 120, width - 60, 50, height - 110
    values = [h["composite"] for h in history] + [h["group_scores"].get(g) for h in history for g in groups]
    low = _floor(values)
    n = len(history)

    def y_of(v: float) -> float:
        return bottom - (bottom - top) * (v - low) / (100 - low or 1)

    def x_of(i: int) -> float:
        return left + (right - left) * ((i + 0.5) / n if n else 0.5)

    for tick in range(low, 101, 10):
        y = y_of(tick)
        c.line((left, y), (right, y), GRID, width=2)
        c.text(left - 14, y, str(tick), AXIS, scale=3, anchor="end")
    c.line((left, top), (left, bottom), AXIS, width=2)
    c.line((left, bottom), (right, bottom), AXIS, width=2)
    for i, h in enumerate(history):
        c.line((x_of(i), bottom), (x_of(i), bottom + 10), AXIS, width=2)
        c.text(x_of(i), bottom + 40, _period_label(h["period"].get("end_date"), i), TEXT, scale=4)
    for j, g in enumerate(groups):
        color = GROUP_COLORS[j % len(GROUP_COLORS)]
        points = [(x_of(i), y_of(h["group_scores"][g])) for i, h in enumerate(history)
                  if h["group_scores"].get(g) is not None]
        c.polyline(points, color, width=3, dash=14)
        for x, y in points:
            c.disc(x, y, 5, color)
    points = [(x_of(i), y_of(h["composite"]), h["composite"]) for i, h in enumerate(history) if h["composite"] is not None]
    c.polyline([(x, y) for x, y, _ in points], RED, width=6)
    for x, y, v in points:
        c.disc(x, y, 9, RED)
        c.text(x, y - 34, _fmt(v), RED, scale=4)
    return c.png()
