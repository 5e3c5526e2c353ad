"""Typed domain errors; every message is Chinese and shown to the user as is."""

from __future__ import annotations


class DomainError(Exception):
    """A refused operation; nothing was changed."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class ImportRejected(DomainError):
    """A whole import refused, with every bad row and its reason."""

    status = 422

    def __init__(self, errors: list[tuple[int | None, str]]):
        self.errors = errors
        lines = [f"第 {row} 行：{msg}" if row else msg for row, msg in errors]
        super().__init__("导入被拒绝，未写入任何数据。\n" + "\n".join(lines))
