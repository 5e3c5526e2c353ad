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


# What a browser shows by itself, safely: PDF and raster images (never HTML, SVG or text,
# which could run script or be sniffed as such). Chosen by the file name's extension.
PREVIEW_TYPES = {
    ".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".gif": "image/gif", ".bmp": "image/bmp", ".webp": "image/webp",
}


def preview_type(filename: str) -> str | None:
    """The content type a file is previewed with in the browser, None if it is only downloaded."""
    name = (filename or "").lower()
    return next((mime for ext, mime in PREVIEW_TYPES.items() if name.endswith(ext)), None)


def inline(body: bytes, mime: str, filename: str):
    """A response the browser shows in place (still named `filename` if saved)."""
    response = make_response(body)
    response.headers["Content-Type"] = mime
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
