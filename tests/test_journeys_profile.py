"""Issue 14, points 14 and 15, checked without a browser.

15: the Word 考察材料 follows GB/T 9704-2012: A4 (210×297 mm), margins 37/35/28/26 mm, title
in 方正小标宋简体 2号 (22 pt) centred, body in 仿宋_GB2312 3号 (16 pt), headings in 黑体 3号, a
PAGE field in the footers ("— 1 —", 宋体 4号), and the radar and trend charts as pictures.
14: the dashboard's sub-unit figures and drill-down scope (the browser side is in
tests/test_browser_journeys_profile.py)."""

from __future__ import annotations

import io
import re
import struct
from pathlib import Path
from urllib.parse import urlencode

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from tests import profile_data
from tests.conftest import login

EMU_PER_MM = 36000


@pytest.fixture(scope="module")
def data(app):
    with app.app_context():
        return profile_data.build()


@pytest.fixture(scope="module")
def docx_bytes(app, data):
    client = app.test_client()
    login(client, "ld_luoshan")
    response = client.get(f"/cadre-profile/{data['ids']['A']}/docx")
    assert response.status_code == 200
    return response.data


@pytest.fixture(scope="module")
def doc(docx_bytes):
    return Document(io.BytesIO(docx_bytes))


def mm(length) -> float:
    return length / EMU_PER_MM


def east_asian(run) -> str | None:
    fonts = run._element.rPr.find(qn("w:rFonts")) if run._element.rPr is not None else None
    return fonts.get(qn("w:eastAsia")) if fonts is not None else None


def paragraph(doc, starts: str):
    found = [p for p in doc.paragraphs if p.text.startswith(starts)]
    assert found, f"no paragraph starting with {starts!r}"
    return found[0]


# ---------------------------------------------------------------- point 15: the Word document

def test_docx_is_a4_with_gbt9704_margins(doc):
    assert len(doc.sections) == 1
    s = doc.sections[0]
    assert (round(mm(s.page_width), 1), round(mm(s.page_height), 1)) == (210.0, 297.0)
    margins = (s.top_margin, s.bottom_margin, s.left_margin, s.right_margin)
    assert tuple(round(mm(m), 1) for m in margins) == (37.0, 35.0, 28.0, 26.0)


def test_docx_title_body_and_heading_fonts(doc):
    title = doc.paragraphs[0]
    assert title.text == "特写甲同志考察材料"
    assert title.alignment == WD_ALIGN_PARAGRAPH.CENTER
    for run in title.runs:
        assert run.font.name == "方正小标宋简体" and east_asian(run) == "方正小标宋简体"
        assert run.font.size == Pt(22)

    heading = paragraph(doc, "一、基本情况")
    for run in heading.runs:
        assert east_asian(run) == "黑体" and run.font.size == Pt(16)

    body = paragraph(doc, "作为责任人承办督查事项")
    for run in body.runs:
        assert east_asian(run) == "仿宋_GB2312" and run.font.size == Pt(16)
    assert body.paragraph_format.first_line_indent == Pt(32)  # two characters
    normal = doc.styles["Normal"]
    assert normal.font.size == Pt(16) and normal.font.name == "仿宋_GB2312"
    assert normal.element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "仿宋_GB2312"


def _footer_number(footer) -> tuple[str, list]:
    xml = footer._element.xml
    instr = "".join(re.findall(r"<w:instrText[^>]*>([^<]*)</w:instrText>", xml))
    return instr, [r for p in footer.paragraphs for r in p.runs]


def test_docx_page_numbers_in_the_footers(doc):
    s = doc.sections[0]
    assert doc.settings.odd_and_even_pages_header_footer
    for footer, side in ((s.footer, WD_ALIGN_PARAGRAPH.RIGHT), (s.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
        instr, runs = _footer_number(footer)
        assert instr.strip() == "PAGE"
        assert "fldChar" in footer._element.xml
        text = "".join(r.text for r in runs)
        assert text.startswith("— ") and text.endswith(" —"), text
        assert all(east_asian(r) == "宋体" and r.font.size == Pt(14) for r in runs)
        assert footer.paragraphs[0].alignment == side


def _png_size(blob: bytes) -> tuple[int, int]:
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", blob[16:24])


def test_docx_has_radar_and_trend_pictures(doc):
    shapes = doc.inline_shapes
    assert len(shapes) >= 2
    blobs = []
    for shape in shapes:
        rid = shape._inline.graphic.graphicData.pic.blipFill.blip.embed
        blobs.append(doc.part.related_parts[rid].blob)
    sizes = [_png_size(b) for b in blobs]
    assert all(w >= 600 and h >= 400 for w, h in sizes), sizes
    # each picture fits the 156 mm type area
    assert all(mm(shape.width) <= 156 for shape in shapes)
    captions = [p.text for p in doc.paragraphs if p.text.startswith("图")]
    assert captions == ["图1 各维度得分与同类干部平均比较", "图2 历次考评走势（综合得分及各评价组得分）"], captions


def _blobs(doc) -> list[bytes]:
    return [doc.part.related_parts[s._inline.graphic.graphicData.pic.blipFill.blip.embed].blob
            for s in doc.inline_shapes]


def test_docx_pictures_are_drawn_by_matplotlib_at_150_dpi(doc):
    """The pictures come from matplotlib (PNG tEXt 'Software'), not a home-made rasteriser, at
    150 dpi and at their printed size: a radar 110 mm wide, a trend 150 mm wide."""
    from PIL import Image

    pictures = [Image.open(io.BytesIO(b)) for b in _blobs(doc)]
    assert len(pictures) == 2
    for picture in pictures:
        assert "Matplotlib" in picture.info.get("Software", ""), picture.info
        assert [round(v) for v in picture.info["dpi"]] == [150, 150]
    assert [round(mm(s.width)) for s in doc.inline_shapes] == [110, 150]
    assert [round(p.size[0] / 150 * 25.4) for p in pictures] == [110, 150]


def test_chart_font_is_a_cjk_font_installed_here():
    """The charts ask matplotlib for a CJK font found on this machine (fonts-noto-cjk here), one
    that has the glyphs of the labels, and the radar's and trend's labels are set in it."""
    from matplotlib import font_manager

    from app.profile import chart_pictures

    found = chart_pictures.cjk_font()
    assert found is not None, "no CJK font found by matplotlib.font_manager"
    family, path = found
    assert "CJK" in family and "CJK" in path and Path(path).is_file(), found
    face = font_manager.get_font(font_manager.findfont(chart_pictures._font()))
    assert face.family_name == family
    assert all(face.get_char_index(ord(ch)) for ch in "德能勤绩廉本人得分同类平均综合组织评价年度"), family

    dims = [{"name": n, "score": 80.0 + k, "peer_avg": 82.0} for k, n in enumerate(profile_data.DIMS)]
    radar = chart_pictures.radar_figure(dims)
    labels = {t.get_text(): t for t in radar.axes[0].texts}
    assert set(profile_data.DIMS) <= set(labels), labels
    assert font_manager.findfont(labels["德"].get_fontproperties()) == font_manager.findfont(chart_pictures._font())
    assert [t.get_text() for t in radar.legends[0].get_texts()] == ["本人得分", "同类平均"]

    history = [{"period": {"name": f"{y}年度"}, "composite": 80.0 + y % 10, "group_scores": {"组织评价": 81.0}}
               for y in (2021, 2022, 2023)]
    trend = chart_pictures.trend_figure(history, ["组织评价"])
    ticks = trend.axes[0].get_xticklabels()
    assert [t.get_text() for t in ticks] == ["2021年度", "2022年度", "2023年度"]
    assert font_manager.get_font(font_manager.findfont(ticks[0].get_fontproperties())).family_name == family
    assert [t.get_text() for t in trend.legends[0].get_texts()] == ["综合得分", "组织评价"]


def test_charts_without_a_cjk_font_still_come_out(monkeypatch):
    """A machine without any CJK font still gets its pictures (the Chinese then shows as boxes)."""
    import warnings

    from app.profile import chart_pictures

    monkeypatch.setattr(chart_pictures, "cjk_font", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = chart_pictures.radar_png([{"name": "德", "score": 90.0, "peer_avg": 85.0}])
        trend = chart_pictures.trend_png([{"period": {"name": "2023年度"}, "composite": 90.0, "group_scores": {}}], [])
    assert _png_size(png)[0] >= 600 and _png_size(trend)[0] >= 600


def test_matplotlib_is_imported_lazily():
    """No module of the app imports matplotlib at its top level: app start-up does not load it."""
    import ast

    top_level = []
    for path in (Path(__file__).resolve().parent.parent / "app").rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            top_level += [f"{path}: {n}" for n in names if n.split(".")[0] == "matplotlib"]
    assert not top_level, top_level


def test_docx_pictures_are_different_charts_of_the_data(app, data):
    """The pictures are drawn from the cadre's own figures: another cadre gets other pictures."""
    client = app.test_client()
    login(client, "ld_luoshan")
    blobs = []
    for key in ("A", "C"):
        d = Document(io.BytesIO(client.get(f"/cadre-profile/{data['ids'][key]}/docx").data))
        blobs.append([d.part.related_parts[s._inline.graphic.graphicData.pic.blipFill.blip.embed].blob
                      for s in d.inline_shapes])
    assert blobs[0][0] != blobs[1][0] and blobs[0][1] != blobs[1][1]


def test_chart_pictures_without_history_or_dimensions(app, data):
    """A cadre without results gets a document without pictures (nothing to draw), not an error."""
    client = app.test_client()
    login(client, "ld_luoshan")
    response = client.get(f"/cadre-profile/{data['ids']['N']}/docx")
    assert response.status_code == 200
    d = Document(io.BytesIO(response.data))
    assert len(d.inline_shapes) == 0
    assert round(mm(d.sections[0].page_width), 1) == 210.0


# ---------------------------------------------------------------- point 14: the dashboard, without a browser

def test_dashboard_sub_units_and_scope(app, data):
    client = app.test_client()
    login(client, "ld_luoshan")
    period = data["periods"][2023]
    html = client.get("/dashboard/?" + urlencode({"period": period})).get_data(as_text=True)
    units = html.split('id="units"', 1)[1].split("</section>", 1)[0]
    link = "/dashboard/?" + urlencode({"unit": profile_data.UNIT, "period": period})
    assert link.replace("&", "&amp;") in units
    assert 'id="chart-grades"' in html and 'id="chart-lights"' in html and 'id="chart-trend"' in html
    assert "/static/vendor/echarts/echarts.min.js" in html
    assert client.get("/dashboard/?" + urlencode({"unit": "XY04", "period": period})).status_code == 404
    township = client.get(link).get_data(as_text=True)
    assert "特写甲" in township and 'class="breadcrumb dashboard-crumbs' in township


def test_profile_page_has_no_data_button_but_json_stays(app, data):
    client = app.test_client()
    login(client, "ld_luoshan")
    cadre = data["ids"]["A"]
    html = client.get(f"/cadre-profile/{cadre}").get_data(as_text=True)
    assert f"/cadre-profile/{cadre}/json" not in html and "fa-code" not in html
    assert client.get(f"/cadre-profile/{cadre}/json").get_json()["cadre"]["name"] == "特写甲"


def test_docx_font_table_names_fallbacks(docx_bytes):
    """Fonts are named, not embedded: where 方正小标宋简体 or 仿宋_GB2312 is missing Word takes the
    alternative of the font table (w:altName)."""
    import zipfile

    table = zipfile.ZipFile(io.BytesIO(docx_bytes)).read("word/fontTable.xml").decode()
    for name, alt in (("方正小标宋简体", "宋体"), ("仿宋_GB2312", "仿宋")):
        assert re.search(rf'w:name="{name}"><w:altName w:val="{alt}"/>', table), name
    assert not [n for n in zipfile.ZipFile(io.BytesIO(docx_bytes)).namelist() if n.startswith("word/fonts/")]
