"""Throughput under gunicorn: start `gunicorn -w 2 run:app` on a free loopback port, log in
through the real form, drive pages from 8 client threads, read the workers' RSS."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn subprocess with the same database and a production config."""

    def __init__(self, secret_key: str, workers: int = 2):
        self.port = free_port()
        self.log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-gunicorn-{self.port}.log", "w")
        env = dict(os.environ, SECRET_KEY=secret_key, APP_CONFIG="config.ProductionConfig", PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "run:app"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn 已退出（代码 {self.proc.returncode}），日志：{self.log.name}")
            try:
                if get(self.port, "/login/", {})[0] == 200:
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn 未能在规定时间内启动")

    def worker_rss_mb(self) -> list[float]:
        """VmRSS of each worker (the master's children), in MB."""
        out = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            ppid = re.search(r"^PPid:\s+(\d+)", status, re.M)
            rss = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
            if ppid and rss and int(ppid.group(1)) == self.proc.pid:
                out.append(round(int(rss.group(1)) / 1024, 1))
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def _cookies(resp, jar: dict) -> None:
    for header in resp.msg.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]


def _cookie_header(jar: dict) -> dict:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}


def get(port: int, path: str, jar: dict) -> tuple[int, bytes, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=_cookie_header(jar))
        resp = conn.getresponse()
        body = resp.read()
        _cookies(resp, jar)
        return resp.status, body, resp.getheader("Location") or ""
    finally:
        conn.close()


def login(port: int, username: str, password: str) -> dict:
    """Log in through the real form (csrf token from GET /login/); returns the cookie jar."""
    jar: dict = {}
    status, body, _ = get(port, "/login/", jar)
    match = CSRF.search(body.decode("utf-8", "replace"))
    form = {"username": username, "password": password}
    if match:
        form["csrf_token"] = match.group(1) or match.group(2)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded", **_cookie_header(jar)}
        conn.request("POST", "/login/", body=urlencode(form), headers=headers)
        resp = conn.getresponse()
        resp.read()
        _cookies(resp, jar)
        location = resp.getheader("Location") or ""
    finally:
        conn.close()
    if resp.status != 302 or "/login" in location:
        raise RuntimeError(f"gunicorn 登录失败：{username}（{resp.status} {location}）")
    return jar


def load(port: int, path: str, jar: dict, threads: int = 8, seconds: float = 10.0, max_requests: int = 5000) -> dict:
    """Requests per second of `threads` clients on one page, bounded in time and count."""
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    state = {"issued": 0}
    deadline = time.monotonic() + seconds

    def client():
        while True:
            with lock:
                if state["issued"] >= max_requests or time.monotonic() >= deadline:
                    return
                state["issued"] += 1
            start = time.perf_counter()
            try:
                status = get(port, path, dict(jar))[0]
            except OSError:
                status = 0
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    pool = [threading.Thread(target=client) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - started
    ok = statuses.get(200, 0)
    latencies.sort()
    return {
        "path": path,
        "threads": threads,
        "requests": len(latencies),
        "ok": ok,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(wall, 2),
        "rps": round(ok / wall, 1) if wall else 0.0,
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
    }
