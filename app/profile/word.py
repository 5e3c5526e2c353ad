"""The 干部考察材料 Word document of a profile (python-docx): plain profile values in, bytes out.

Laid out after GB/T 9704-2012 (党政机关公文格式): A4 paper; margins top 37 mm, bottom 35 mm,
left 28 mm, right 26 mm; 22 lines a page (fixed line pitch 28.95 pt); title in 小标宋 2号
centred, body in 仿宋_GB2312 3号 with a two-character first-line indent, headings in 黑体 3号;
page numbers "— 1 —" in 宋体 4号 at the foot, right on odd pages and left on even pages, one
character in from the edge. The radar and trend charts are pictures with Chinese labels, drawn by
matplotlib (app/profile/chart_pictures.py) at their printed size.

Fonts are named, never embedded or fetched: a machine without 方正小标宋简体 or 仿宋_GB2312 uses
the alternative the font table names (宋体, 仿宋, 楷体), as Word does with w:altName.
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt
from lxml import etree

from app.profile.chart_pictures import RADAR_SIZE_MM, TREND_SIZE_MM, radar_png, trend_png

TITLE_FONT = "方正小标宋简体"  # 小标宋
BODY_FONT = "仿宋_GB2312"  # 仿宋
HEADING_FONT = "黑体"
SUBTITLE_FONT = "楷体_GB2312"
PAGE_NUMBER_FONT = "宋体"
# the font Word takes where the named one is not installed (fontTable w:altName)
ALT_FONTS = {TITLE_FONT: "宋体", BODY_FONT: "仿宋", SUBTITLE_FONT: "楷体", HEADING_FONT: "SimHei", PAGE_NUMBER_FONT: "SimSun"}

TITLE_SIZE = 22  # 2号
BODY_SIZE = HEADING_SIZE = 16  # 3号
PAGE_NUMBER_SIZE = 14  # 4号
TABLE_SIZE = 12  # 小四, so that an eight-column table fits the 156 mm type area
CAPTION_SIZE = 14
LINE_PITCH = Pt(28.95)  # 22 lines in the 225 mm type area
PAGE = {"width": Mm(210), "height": Mm(297), "top": Mm(37), "bottom": Mm(35), "left": Mm(28), "right": Mm(26)}
TEXT_WIDTH_MM = 210 - 28 - 26


def _dash(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _signed(value) -> str:
    if value is None:
        return "—"
    return f"{value:+.2f}" if value else "0.00"


NUMERALS = "一二三四五六七八九十"


def _font(run, name: str, size: float, bold: bool = False) -> None:
    """Name the font for Latin and East Asian text alike (w:ascii, w:hAnsi, w:eastAsia)."""
    run.font.name = name
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)
    run.font.size = Pt(size)
    run.bold = bold


def _single(p) -> None:
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    p.paragraph_format.first_line_indent = Pt(0)


def _para(doc, text: str, font: str = BODY_FONT, size: float = BODY_SIZE, bold: bool = False,
          center: bool = False, indent: bool = True):
    """A body paragraph: 仿宋 3号, two characters indented, justified (or centred)."""
    p = doc.add_paragraph()
    _font(p.add_run(text), font, size, bold)
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.first_line_indent = Pt(0)
    else:
        p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        p.paragraph_format.first_line_indent = Pt(2 * size) if indent else Pt(0)
    return p


class _Headings:
    """Section headings numbered 一、二、… in the order they are written (some are optional)."""

    def __init__(self, doc):
        self.doc, self.n = doc, 0

    def __call__(self, text: str) -> None:
        self.n += 1
        p = _para(self.doc, f"{NUMERALS[self.n - 1]}、{text}", HEADING_FONT, HEADING_SIZE)
        p.paragraph_format.keep_with_next = True


def _table(doc, header: list[str], rows: list[list]) -> None:
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, header):
        cell.text = ""
        _single(cell.paragraphs[0])
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(cell.paragraphs[0].add_run(text), HEADING_FONT, TABLE_SIZE)
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = ""
            _single(cell.paragraphs[0])
            _font(cell.paragraphs[0].add_run(_dash(value)), BODY_FONT, TABLE_SIZE)


def _picture(doc, png: bytes, width_mm: float, caption: str) -> None:
    """A centred picture (single line spacing: a fixed pitch would crop it) and its caption."""
    doc.add_picture(io.BytesIO(png), width=Mm(width_mm))
    p = doc.paragraphs[-1]
    _single(p)
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.keep_with_next = True
    cap = _para(doc, caption, BODY_FONT, CAPTION_SIZE, center=True)
    _single(cap)
    cap.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _page_setup(doc) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE["width"], PAGE["height"]
    section.top_margin, section.bottom_margin = PAGE["top"], PAGE["bottom"]
    section.left_margin, section.right_margin = PAGE["left"], PAGE["right"]
    # the number's line sits 7 mm under the type area: 35 - 7 - one 4号 line ≈ 23 mm from the edge
    section.footer_distance = Mm(23)
    section.header_distance = Mm(15)
    style = doc.styles["Normal"]
    style.font.name = BODY_FONT
    style.font.size = Pt(BODY_SIZE)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    fmt = style.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE_PITCH
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.widow_control = True
    doc.settings.odd_and_even_pages_header_footer = True
    _page_number(section.footer.paragraphs[0], WD_ALIGN_PARAGRAPH.RIGHT)  # odd pages
    _page_number(section.even_page_footer.paragraphs[0], WD_ALIGN_PARAGRAPH.LEFT)
    _font_table(doc)


def _page_number(p, alignment) -> None:
    """— PAGE — in 宋体 4号, one character in from the outer edge."""
    p.alignment = alignment
    _single(p)
    if alignment == WD_ALIGN_PARAGRAPH.RIGHT:
        p.paragraph_format.right_indent = Pt(PAGE_NUMBER_SIZE)
    else:
        p.paragraph_format.left_indent = Pt(PAGE_NUMBER_SIZE)
    _font(p.add_run("— "), PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        run = p.add_run()
        _font(run, PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)
        if kind:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            run._r.append(fld)
        elif text == " PAGE ":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            run.text = text
    _font(p.add_run(" —"), PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)


def _font_table(doc) -> None:
    """Declare the fonts with the alternative Word uses where one is missing (w:altName)."""
    part = next((p for p in doc.part.package.iter_parts() if p.partname == "/word/fontTable.xml"), None)
    if part is None:  # pragma: no cover - python-docx's default template has one
        return
    root = parse_xml(part.blob)
    known = {f.get(qn("w:name")) for f in root.findall(qn("w:font"))}
    for name, alt in ALT_FONTS.items():
        if name in known:
            continue
        root.append(parse_xml(
            f'<w:font {nsdecls("w")} w:name="{name}"><w:altName w:val="{alt}"/><w:charset w:val="86"/>'
            f'<w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font>'))

    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def render_docx(profile: dict, sentences: list[str]) -> bytes:
    """Return the .docx bytes of a cadre's 考察材料."""
    doc = Document()
    _page_setup(doc)
    c = profile["cadre"]
    heading = _Headings(doc)
    title = _para(doc, f"{c['name']}同志考察材料", TITLE_FONT, TITLE_SIZE, center=True)
    title.paragraph_format.space_after = LINE_PITCH
    title.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    title.paragraph_format.line_spacing = Pt(35)
    _para(doc, f"（干部编号 {c['code']}，材料生成于 {profile['as_of']}）", SUBTITLE_FONT, BODY_SIZE, center=True)
    _basic(doc, heading, c)
    _evaluation(doc, heading, profile, sentences)
    _supervision(doc, heading, profile)
    _record(doc, heading, profile)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _basic(doc, heading, c: dict) -> None:
    heading("基本情况")
    _table(doc, ["项目", "内容", "项目", "内容"], [
        ["姓名", c["name"], "性别", c["gender"]],
        ["民族", c["ethnicity"], "出生日期", c["birth_date"]],
        ["籍贯", c["native_place"], "入党时间", c["party_join_date"]],
        ["学历", c["education"], "状态", c["status"]],
        ["单位", c["unit"]["name"], "职务", c["position"]],
        ["职级", c["rank"], "岗位类别", c["post_category"]],
    ])


def _evaluation(doc, heading, profile: dict, sentences: list[str]) -> None:
    latest = profile["latest"]
    heading("考评结果")
    if latest is None:
        _para(doc, "暂无可查看的考评结果。")
    else:
        _table(doc, ["考评期", "综合得分", "三评得分", "调整分", "排名", "同类人数", "较上期", "等次"], [[
            latest["period"]["name"], latest["composite"], latest["sanping"], _signed(latest["adjustment"]),
            latest["rank"], latest["peer_count"], _signed(latest["delta"]), latest["grade"],
        ]])
    heading("综合分析")
    for text in sentences:
        _para(doc, text)
    if profile["dimensions"]:
        heading("各维度得分（与同类干部平均比较）")
        _table(doc, ["维度", "本人得分", "同类平均", "差值"],
               [[d["name"], d["score"], d["peer_avg"], _signed(d["diff"])] for d in profile["dimensions"]])
        _picture(doc, radar_png(profile["dimensions"]), RADAR_SIZE_MM[0], "图1 各维度得分与同类干部平均比较")
    if profile["history"]:
        heading("历次考评")
        _table(doc, ["考评期", "综合得分", "排名/人数", "较上期", "等次"], [
            [h["period"]["name"], h["composite"], f"{_dash(h['rank'])}/{h['peer_count']}", _signed(h["delta"]),
             h["grade"]]
            for h in profile["history"]
        ])
        what = "综合得分及各评价组得分" if profile["groups"] else "综合得分"
        _picture(doc, trend_png(profile["history"], profile["groups"]), min(TREND_SIZE_MM[0], TEXT_WIDTH_MM),
                 f"图{2 if profile['dimensions'] else 1} 历次考评走势（{what}）")


def _supervision(doc, heading, profile: dict) -> None:
    s, f = profile["supervision"], profile["findings"]
    heading("督查情况")
    _para(doc, f"作为责任人承办督查事项 {s['total']} 项：办理中 {s['open']} 项，已办结 {s['completed']} 项，"
               f"已超期（红灯）{s['red']} 项，超期已完成 {s['overdue_done']} 项。")
    _para(doc, f"涉及本人的督查发现问题 {f['total']} 个：一般 {f['一般']} 个，较重 {f['较重']} 个，严重 {f['严重']} 个，"
               f"整改超期 {f['rectification_overdue']} 个。")


def _record(doc, heading, profile: dict) -> None:
    heading("任职经历")
    _table(doc, ["起始", "终止", "单位", "职务"],
           [[r["start_date"], r["end_date"] or "至今", r["unit_name"], r["position"]] for r in profile["career"]])
    if profile["rewards"]:
        heading("奖惩情况")
        _table(doc, ["类别", "日期", "事项", "决定机关"],
               [[r["kind"], r["date"], r["title"], r["issuer"]] for r in profile["rewards"]])
    latest, conclusion = profile["latest"], profile["conclusion"]
    heading("组织考评结论" + (f"（{latest['period']['name']}）" if latest else ""))
    _para(doc, conclusion["text"] if conclusion and conclusion["text"] else "（尚未撰写）")
