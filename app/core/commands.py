"""The one way a data-changing use case runs: as its acting user, in one transaction.

    with command(user, conflict="该事项已被他人处理，请刷新后重试"):
        claim(task, "state", ("assigned",), ...)   # app/core/claims.py: one winner
        ...                                         # checks, changes, audit rows

Everything the block did is committed together, or nothing is (any exception rolls it all
back, a refusal included). The audit names `user` (None: the system). A clash the database
catches at the write, a version moved or a unique key taken by someone who committed first,
becomes Conflict(`conflict`) (or Conflict(`duplicate`) for a unique key when given): a
Chinese 409, never a 500.
"""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.core import audit
from app.core.errors import Conflict
from app.extensions import db

STALE = "该记录已被他人修改，您的操作未保存。请刷新后重试。"


@contextmanager
def command(user, conflict: str = STALE, duplicate: str | None = None):
    token = audit.acting_as(user)
    try:
        yield
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(conflict)
    except IntegrityError:
        db.session.rollback()
        raise Conflict(duplicate or conflict)
    except BaseException:
        db.session.rollback()
        raise
    finally:
        audit.stop_acting(token)
