"""Real-browser check of a background job's page (/jobs/<id>): an upload through the real form
opens it, its progress bar follows the worker (job.js polling under the CSP), and at the end
it shows every bad row; 我的后台任务 lists it."""

from __future__ import annotations

import threading
from urllib.parse import urlparse

from tests.jobs_support import run_jobs
from tests.test_browser import (  # noqa: F401  (fixtures are used by name)
    browser,
    live_server,
    login,
    open_page,
    shot,
)

HEADER = "干部编号,姓名,性别,出生日期,单位编码,职务,职级,岗位类别"


def test_an_upload_opens_its_job_page_which_follows_the_job_to_its_bad_rows(  # noqa: F811  (fixtures)
        app, live_server, open_page, tmp_path):  # noqa: F811
    rows = [f"JBR{i:05d},浏览器,男,1980-01-02,XY03T01,副镇长,副科,乡镇党政副职" for i in range(3000)]
    rows[10] = "JBR99990,越权,男,1980-01-02,XY04T01,副镇长,副科,乡镇党政副职"
    rows[20] = "JBR99991,坏日期,男,1980-13-01,XY03T01,副镇长,副科,乡镇党政副职"
    path = tmp_path / "干部.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    w = open_page()
    page = w.page
    login(page, live_server, "kpy_luoshan")
    page.goto(f"{live_server}/cadres/upload/")
    page.set_input_files("input[name=file]", str(path))
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert urlparse(page.url).path.startswith("/jobs/"), page.url
    assert page.locator("#job-state").inner_text() == "排队中"
    shot(page, "job_queued.png")

    worker = threading.Thread(target=run_jobs, args=(app,))
    worker.start()
    page.locator("#job-state", has_text="失败").wait_for(timeout=60_000)  # polled, then reloaded
    worker.join(timeout=60)
    page.locator("table.job-errors").wait_for()
    errors = page.locator("table.job-errors tbody tr").all_inner_texts()
    assert len(errors) == 2, errors
    assert "12" in errors[0] and "XY04T01" in errors[0] and "22" in errors[1] and "不是有效日期" in errors[1]
    assert "导入被拒绝，未写入任何数据。共 2 处错误" in page.locator(".alert-danger").inner_text()
    shot(page, "job_failed_rows.png")

    page.click("text=我的后台任务 >> nth=-1")
    assert urlparse(page.url).path == "/jobs/list/"
    assert page.locator("table.job-list tbody tr").first.locator(".job-state").inner_text() == "失败"
