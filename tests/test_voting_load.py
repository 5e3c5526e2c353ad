"""Online 民主测评 under load (issue 17, point 6): voters submit their ballots through a real
gunicorn (2 workers) on SQLite or PostgreSQL, many at once, some codes twice at the same
instant; no vote is lost and none is counted twice.

Each voter is a client of its own (cookie jar, CSRF token): GET /vote, POST its code, POST the
filled-in ballot. The choices are known in advance, so the stored tallies must equal the
tally of the ballots that were answered 投票成功, and that must be every voter; the pairs that
submitted the same code at once must have one success and one 已经投过票. Then `flask voting
close` records the tallies, and the group's ballots must equal them. gunicorn's access log
(on, as `make run` has it) must hold no code: codes only travel in POST bodies.

On demand, the run of docs/RELIABILITY.md (2,000 voters within ten minutes):
    VOTING_LOAD_VOTERS=2000 pytest -q -s tests/test_voting_load.py                 # SQLite
    VOTING_LOAD_VOTERS=2000 TEST_DATABASE_URL=postgresql://… pytest -q -s tests/test_voting_load.py
The suite runs it with 200 voters. Traffic goes to 127.0.0.1 only; the run stops by itself.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import ROOT, pg_url
from tests.reliability_support import (
    Browser,
    Gunicorn,
    cli_env,
    clone_database,
    golden_template,
    rows,
    scalar,
)

VOTERS = int(os.environ.get("VOTING_LOAD_VOTERS", "200"))
CLIENTS = int(os.environ.get("VOTING_LOAD_CLIENTS", "16"))
PAIRS = max(4, VOTERS // 100)  # codes submitted twice at the same instant
PERIOD, GROUP, UNIT = "2021-Y", "群众评价", "C0"
LIMIT_SECONDS = 600
ARTIFACTS = ROOT / "test-artifacts"
CHOICES = ("优秀", "称职", "基本称职", "不称职", "不了解")
KEYS = dict(zip(CHOICES, ("excellent", "competent", "basic", "incompetent", "unknown")))
RADIO = re.compile(r'type="radio" name="([^"]+)" value="优秀"')


def flask(url: str, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "run", *args], cwd=ROOT, env=cli_env(url),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"flask {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def ballot_of(voter: int, cadres: list[str], cap: int) -> dict[str, str]:
    """Voter n's choices: varied, within the 优秀 cap, every cadre answered."""
    excellent = voter % (cap + 1)
    return {code: ("优秀" if i < excellent else CHOICES[1 + (voter + i) % 4]) for i, code in enumerate(cadres)}


class Voter:
    def __init__(self, base: str):
        self.browser = Browser(base, timeout=120)

    def open(self, code: str) -> tuple[int, str, str]:
        token = self.browser.csrf("/vote")
        status, html = self.browser.request("POST", "/vote", urllib.parse.urlencode(
            {"code": code, "csrf_token": token}).encode(), {"Content-Type": "application/x-www-form-urlencoded"})
        return status, html, token

    def submit(self, code: str, token: str, choices: dict) -> tuple[int, str]:
        body = urllib.parse.urlencode({"code": code, "csrf_token": token, **choices}).encode()
        return self.browser.request("POST", "/vote/submit", body, {"Content-Type": "application/x-www-form-urlencoded"})


def test_voters_submit_through_gunicorn_and_every_vote_counts_once(request, tmp_path_factory, tmp_path):
    template = golden_template(request.config, tmp_path_factory.getbasetemp())
    with clone_database(template, tmp_path) as url:
        codes_file = tmp_path / "codes.txt"
        session_id = int(flask(url, "voting", "open", "--period", PERIOD, "--group", GROUP, "--unit", UNIT,
                               "--codes", str(VOTERS + PAIRS), str(codes_file)).strip().splitlines()[-1])
        codes = codes_file.read_text(encoding="utf-8").split()
        assert len(codes) == VOTERS + PAIRS
        singles, pairs = codes[:VOTERS], codes[VOTERS:]
        access_log = tmp_path / "access.log"
        with Gunicorn(url, tmp_path / "gunicorn.log", extra_args=("--access-logfile", str(access_log))) as server:
            first = Voter(server.base)
            status, html, _ = first.open(singles[0])
            assert status == 200, html[:500]
            cadres = RADIO.findall(html)
            cap = int(re.search(r'data-cap="(\d+)"', html).group(1))
            assert cadres and cap >= 1

            def vote(n: int) -> tuple[int, int, bool]:
                voter = Voter(server.base)
                status, _html, token = voter.open(singles[n])
                if status != 200:
                    return n, status, False
                status, html = voter.submit(singles[n], token, ballot_of(n, cadres, cap))
                return n, status, "投票成功" in html

            def twice(k: int) -> list[tuple[int, bool, bool]]:
                """Two clients open the same code, then submit it at the same instant."""
                pair = [Voter(server.base), Voter(server.base)]
                tokens = [v.open(pairs[k])[2] for v in pair]
                gate = threading.Barrier(2)
                out = []

                def go(i):
                    gate.wait(30)
                    status, html = pair[i].submit(pairs[k], tokens[i], ballot_of(VOTERS + k, cadres, cap))
                    out.append((status, "投票成功" in html, "该测评码已经投过票" in html))

                threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(120)
                return out

            started = time.monotonic()
            with ThreadPoolExecutor(CLIENTS) as pool:
                doubles = pool.map(twice, range(PAIRS))
                results = list(pool.map(vote, range(VOTERS)))
                doubles = list(doubles)
            elapsed = time.monotonic() - started
            gunicorn_log = (tmp_path / "gunicorn.log").read_text(errors="replace")
        failed = [r for r in results if not (r[1] == 200 and r[2])]
        assert not failed, failed[:10]
        for out in doubles:  # one success and one refusal, in either order
            assert sorted(out) == [(200, True, False), (409, False, True)], out
        assert elapsed < LIMIT_SECONDS
        assert "Traceback" not in gunicorn_log and "database is locked" not in gunicorn_log, gunicorn_log[-3000:]
        logged = access_log.read_text(errors="replace")
        assert logged.count("POST /vote/submit") == VOTERS + 2 * PAIRS
        assert not [c for c in codes if c in logged or f"{c[:4]}-{c[4:8]}-{c[8:]}" in logged]

        # the stored tallies are the tally of what was cast: every voter once, every pair once
        want = {code: dict.fromkeys(KEYS.values(), 0) for code in cadres}
        for n in range(VOTERS + PAIRS):
            for code, label in ballot_of(n, cadres, cap).items():
                want[code][KEYS[label]] += 1
        columns = ", ".join(f"l.{k}" for k in KEYS.values())
        stored = {r[0]: dict(zip(KEYS.values(), r[1:])) for r in rows(url, f"""
            SELECT c.code, {columns} FROM voting_line l JOIN cadre c ON c.id = l.cadre_id
            WHERE l.session_id = {session_id}""")}
        assert stored == want
        assert scalar(url, f"SELECT count(*) FROM voting_code WHERE session_id = {session_id} AND state = 'used'") \
            == VOTERS + PAIRS

        out = flask(url, "voting", "close", "--session", str(session_id))
        assert f"选票 {VOTERS + PAIRS} 张" in out
        recorded = {r[0]: dict(zip(KEYS.values(), r[1:])) for r in rows(url, f"""
            SELECT c.code, {columns.replace('l.', 'b.')} FROM ballot b JOIN cadre c ON c.id = b.cadre_id
            JOIN evaluation_period p ON p.id = b.period_id JOIN rater_group g ON g.id = b.group_id
            WHERE p.code = '{PERIOD}' AND g.name = '{GROUP}'""")}
        assert recorded == want
    figures = {"database": "postgresql" if pg_url() else "sqlite", "voters": VOTERS, "same_code_pairs": PAIRS,
               "clients": CLIENTS, "gunicorn_workers": 2, "cadres_on_ballot": len(cadres), "seconds": round(elapsed, 1),
               "ballots_per_second": round((VOTERS + PAIRS) / elapsed, 1), "requests": 3 * VOTERS + 6 * PAIRS,
               "votes_lost": 0, "votes_double_counted": 0}
    print(f"\n[reliability] voting-load: {json.dumps(figures, ensure_ascii=False)}")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"reliability-voting-load-{figures['database']}-{VOTERS}.json").write_text(
        json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")

