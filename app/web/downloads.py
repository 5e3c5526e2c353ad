"""Every download the panel sends: one way to name the file (UTF-8, any script) and type it."""

from __future__ import annotations

from urllib.parse import quote

from flask import make_response

CSV_MIME = "text/csv; charset=utf-8"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
JSON_MIME = "application/json; charset=utf-8"


def download(body: bytes, mime: str, filename: str):
    """A response the browser saves as `filename`."""
    response = make_response(body)
    response.headers["Content-Type"] = mime
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response
