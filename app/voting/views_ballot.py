"""The public ballot at /vote: no login, phone-first pages, a code opens the ballot.

Only POSTs carry a code (never a URL, so never an access-log line); pages are not cached;
the only cookie is the one holding the forms' CSRF token. Wrong codes are counted per
address in the database (app/security/throttle.py) and refused beyond VOTE_RATE_LIMIT.
"""

from __future__ import annotations

import time

import limits
from flask import current_app, make_response, render_template, request
from flask_appbuilder import BaseView, expose
from flask_wtf.csrf import CSRFError

from app.core.clock import now
from app.core.errors import DomainError
from app.security import throttle
from app.voting import ballot as B
from app.voting import rules

STATUS = {"unknown": 404, "used": 409, "void": 410, "expired": 410, "closed": 410, "not_open": 409}


def _page(template: str, status: int = 200, **context):
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _limit() -> limits.RateLimitItem:
    return limits.parse(current_app.config.get("VOTE_RATE_LIMIT", "20 per 300 second"))


def _throttled():
    """A Chinese 429 when this address has entered too many wrong codes in the window."""
    item = _limit()
    window = item.get_expiry()
    if throttle.peek(_key(), window) < item.amount:
        return None
    retry = window - int(time.time()) % window
    message = f"错误的测评码输入次数过多，请 {max(1, retry // 60)} 分钟后再试"
    response = _page("voting/vote_code.html", 429, error=message, code="")
    response.headers["Retry-After"] = str(retry)
    return response


def _key() -> str:
    return f"vote:{request.remote_addr}"


def _refused(exc: B.VoteRefused, code: str = ""):
    if B.is_unknown(exc):
        throttle.hit(_key(), _limit().get_expiry())
    return _page("voting/vote_code.html", STATUS.get(exc.reason, 403), error=exc.message,
                 code=code if B.is_unknown(exc) else "")


class VoteView(BaseView):
    """测评投票: enter a code, fill in the ballot, submit once."""

    route_base = "/vote"
    default_view = "index"

    def create_blueprint(self, appbuilder, endpoint=None, static_folder=None):
        blueprint = super().create_blueprint(appbuilder, endpoint, static_folder)

        @blueprint.errorhandler(CSRFError)
        def _expired(_exc):  # the CSRF cookie is gone (a new browser, a long pause): start again
            return _page("voting/vote_code.html", 400, error="页面已过期，请重新输入测评码", code="")

        return blueprint

    @expose("", methods=["GET", "POST"])
    def index(self):
        if request.method == "GET":
            return _page("voting/vote_code.html", code="")
        limited = _throttled()
        if limited is not None:
            return limited
        raw = (request.form.get("code") or "")[:64]
        try:
            ballot = B.open_ballot(raw, now())
        except B.VoteRefused as exc:
            return _refused(exc, raw)
        return _page("voting/vote_ballot.html", b=ballot, code=rules.normalize(raw), choices=rules.CHOICES,
                     chosen={}, errors=[])

    @expose("/submit", methods=["POST"])
    def submit(self):
        limited = _throttled()
        if limited is not None:
            return limited
        raw = (request.form.get("code") or "")[:64]
        form = request.form.to_dict()
        try:
            rated = B.cast(raw, form, now())
        except B.VoteRefused as exc:
            return _refused(exc)
        except B.BallotInvalid as exc:
            try:
                ballot = B.open_ballot(raw, now())
            except B.VoteRefused as refused:
                return _refused(refused)
            return _page("voting/vote_ballot.html", 400, b=ballot, code=rules.normalize(raw), choices=rules.CHOICES,
                         chosen=form, errors=exc.errors)
        except DomainError as exc:
            return _page("voting/vote_code.html", exc.status, error=exc.message, code="")
        return _page("voting/vote_done.html", rated=rated)
