"""Progress of long service calls (imports), told to an optional callback.

A callback is `progress(done, total, message)`; the CLI passes none and nothing changes for
it. The background worker (app/jobs_worker.py) passes one that shows on the job's page.
"""

from __future__ import annotations

STEP = 1000
CHECKING = "正在校验第 {done} / {total} 行…"
WRITING = "校验通过，正在写入 {total} 行…（写入完成前不会保存任何数据）"


def checking(rows: list, progress=None):
    """Yield `rows`, telling `progress` every STEP rows how many have been checked."""
    if progress is None:
        yield from rows
        return
    total = len(rows)
    progress(0, total, CHECKING.format(done=0, total=total))
    for done, row in enumerate(rows, 1):
        yield row
        if done % STEP == 0:
            progress(done, total, CHECKING.format(done=done, total=total))


def writing(rows: list, progress=None) -> None:
    """Tell `progress` that every row passed and the write begins."""
    if progress is not None:
        progress(len(rows), len(rows), WRITING.format(total=len(rows)))
