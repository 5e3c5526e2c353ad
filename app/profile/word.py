"""The 干部考察材料 Word document of a profile (python-docx): plain profile values in, bytes out."""

from __future__ import annotations

import io

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

FONT = "SimSun"  # 宋体; Word falls back to any installed CJK font


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


def _cjk(run, size: float | None = None, bold: bool = False) -> None:
    run.font.name = FONT
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    if size:
        run.font.size = Pt(size)
    run.bold = bold


def _para(doc, text: str, size: float = 11, bold: bool = False, center: bool = False):
    p = doc.add_paragraph()
    _cjk(p.add_run(text), size, bold)
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    return p


class _Headings:
    """Section headings numbered 一、二、… in the order they are written (some are optional)."""

    def __init__(self, doc):
        self.doc, self.n = doc, 0

    def __call__(self, text: str) -> None:
        self.n += 1
        _para(self.doc, f"{NUMERALS[self.n - 1]}、{text}", 14, bold=True)


def _table(doc, header: list[str], rows: list[list]) -> None:
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header):
        cell.text = ""
        _cjk(cell.paragraphs[0].add_run(text), 10, bold=True)
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = ""
            _cjk(cell.paragraphs[0].add_run(_dash(value)), 10)


def render_docx(profile: dict, sentences: list[str]) -> bytes:
    """Return the .docx bytes of a cadre's 考察材料."""
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = FONT
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    c = profile["cadre"]
    heading = _Headings(doc)
    _para(doc, f"{c['name']}同志考察材料", 18, bold=True, center=True)
    _para(doc, f"（干部编号 {c['code']}，材料生成于 {profile['as_of']}）", 10, center=True)
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
    if profile["history"]:
        heading("历次考评")
        _table(doc, ["考评期", "综合得分", "排名/人数", "较上期", "等次"], [
            [h["period"]["name"], h["composite"], f"{_dash(h['rank'])}/{h['peer_count']}", _signed(h["delta"]),
             h["grade"]]
            for h in profile["history"]
        ])


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
