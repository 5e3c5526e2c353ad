"""Reading import files and writing exports (.csv / .xlsx), hostile-input aware."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

from openpyxl import Workbook, load_workbook

from app.core.errors import ImportRejected
from app.core.formats import datetime_text

MAX_BYTES = 20 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_ROWS = 200_000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def read_table(data: bytes, filename: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (line number, row) pairs of an uploaded .csv or .xlsx; cells as stripped text."""
    if len(data) > MAX_BYTES:
        raise ImportRejected([(None, f"文件过大（超过 {MAX_BYTES // 1024 // 1024} MB），请拆分后再导入")])
    suffix = Path(filename or "").suffix.lower()
    if suffix == ".xlsx":
        rows = _xlsx_rows(data)
    elif suffix == ".csv":
        rows = _csv_rows(data)
    else:
        raise ImportRejected([(None, "只支持 .xlsx 或 .csv 文件")])
    rows = [r for r in rows if any(cell for cell in r[1])]
    if not rows:
        raise ImportRejected([(None, "文件为空：缺少表头")])
    (_, header), body = rows[0], rows[1:]
    header = [h.strip().lstrip("\ufeff") for h in header]
    if len(body) > MAX_ROWS:
        raise ImportRejected([(None, f"行数过多（超过 {MAX_ROWS} 行），请拆分后再导入")])
    table = []
    for line, cells in body:
        row = {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header) if h}
        extra = [c for c in cells[len(header):] if c]
        if extra:
            row["__extra__"] = "多出的列：" + "、".join(extra)
        table.append((line, row))
    return header, table


def _csv_rows(data: bytes) -> list[tuple[int, list[str]]]:
    if b"\x00" in data:  # a text file never holds NUL; PostgreSQL could not store it either
        raise ImportRejected([(None, "文件不是文本格式的 CSV（疑似二进制文件），请检查文件")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected([(None, "CSV 文件不是 UTF-8 编码（例如 GBK），请另存为“CSV UTF-8”格式后再导入")])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return [(reader.line_num, [c.strip() for c in row]) for row in reader]
    except csv.Error as exc:
        raise ImportRejected([(None, f"CSV 格式错误：{exc}")])


def _xlsx_rows(data: bytes) -> list[tuple[int, list[str]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if sum(info.file_size for info in zf.infolist()) > MAX_XLSX_UNCOMPRESSED:
                raise ImportRejected([(None, "Excel 文件解压后过大，已拒绝（疑似压缩炸弹）")])
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except ImportRejected:
        raise
    except Exception:
        raise ImportRejected([(None, "无法读取 Excel 文件：文件已损坏或不是 .xlsx 格式")])
    try:
        ws = wb.worksheets[0]
        out = []
        for idx, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if idx > MAX_ROWS + 1:
                raise ImportRejected([(None, f"行数过多（超过 {MAX_ROWS} 行），请拆分后再导入")])
            out.append((idx, [_cell_text(v) for v in row]))
        return out
    except ImportRejected:
        raise
    except Exception:  # the sheet is parsed lazily: a damaged part fails here, not at load_workbook
        raise ImportRejected([(None, "无法读取 Excel 文件：文件已损坏或不是 .xlsx 格式")])
    finally:
        wb.close()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def check_header(header: list[str], required: list[str], optional: list[str] = ()) -> None:
    """Refuse a file whose header lacks a required column or has an unknown one."""
    errors = []
    missing = [h for h in required if h not in header]
    if missing:
        errors.append((1, "缺少列：" + "、".join(missing)))
    unknown = [h for h in header if h and h not in required and h not in optional]
    if unknown:
        errors.append((1, "无法识别的列：" + "、".join(unknown)))
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    if dupes:
        errors.append((1, "重复的列：" + "、".join(dupes)))
    if errors:
        raise ImportRejected(errors)


def key_error(code: str, label: str, seen: dict, line: int, limit: int = 32) -> str | None:
    """The Chinese error of an import row's key column (`label`: 干部编号, 党员编号 …): empty,
    longer than `limit`, or repeating an earlier row's; a new key is recorded in `seen` (key →
    line). None when the key is fine."""
    if not code:
        return f"{label}不能为空"
    if len(code) > limit:
        return f"{label}过长（最多 {limit} 个字符）"
    if code in seen:
        return f"{label} {code} 与第 {seen[code]} 行重复"
    seen[code] = line
    return None


def parse_date(text: str) -> dt.date:
    """A date written as 2021-03-04, 2021/3/4 or 20210304; ValueError otherwise."""
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y-%m-%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def safe_text(value):
    """Neutralise text that a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _cell_out(value):
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float)) or value is None:
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return datetime_text(value)  # 2026-12-05 05:11; a date without 00:00
    return safe_text(str(value))


def write_csv(header: list[str], rows) -> bytes:
    """UTF-8 CSV with BOM (opens right in Excel); text cells made formula-safe."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in map(_cell_out, row)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def write_xlsx(header: list[str], rows, title: str = "导出", extra_sheets=()) -> bytes:
    """An .xlsx whose numbers are numbers and whose text cannot run as a formula; extra_sheets:
    further (title, header, rows) worksheets after the first (e.g. a template's notes)."""
    wb = Workbook(write_only=True)
    for sheet_title, sheet_header, sheet_rows in ((title, header, rows), *extra_sheets):
        ws = wb.create_sheet(sheet_title[:31])
        ws.append(sheet_header)
        for row in sheet_rows:
            ws.append(list(map(_cell_out, row)))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
