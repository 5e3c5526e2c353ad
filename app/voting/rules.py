"""The pure rules of online 民主测评: codes, the 优秀 cap and checking a filled-in ballot.

No Flask, no database: plain values in, plain values out (tests/test_voting_rules.py).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from decimal import Decimal

# 31 symbols that cannot be mistaken for one another when read off paper or typed on a phone:
# no 0/O, no 1/I/L. 12 symbols carry 12 · log2(31) ≈ 59.4 bits of randomness (≥ 50).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12
GROUP = 4  # shown as XXXX-XXXX-XXXX
MAX_CODES = 5000  # codes issued at once

# (stored key, the choice as the ballot shows and sends it), in the ballot's order.
CHOICES = (("excellent", "优秀"), ("competent", "称职"), ("basic", "基本称职"),
           ("incompetent", "不称职"), ("unknown", "不了解"))
CHOICE_KEYS = tuple(key for key, _ in CHOICES)
LABELS = dict(CHOICES)
_BY_VALUE = {**{label: key for key, label in CHOICES}, **{key: key for key, _ in CHOICES}}


def code_bits(length: int = CODE_LENGTH, alphabet: str = ALPHABET) -> float:
    return length * math.log2(len(alphabet))


def new_code(rng=None) -> str:
    """A fresh random code (`rng`: a random.Random for reproducible demo codes; else the OS's)."""
    pick = rng.choice if rng is not None else secrets.choice
    return "".join(pick(ALPHABET) for _ in range(CODE_LENGTH))


def new_codes(count: int, rng=None) -> list[str]:
    """`count` distinct fresh codes."""
    codes: dict[str, None] = {}
    while len(codes) < count:
        codes.setdefault(new_code(rng), None)
    return list(codes)


def normalize(raw: str | None) -> str | None:
    """The code as stored from what a voter typed (case, spaces and dashes do not matter);
    None when it cannot be a code at all."""
    text = "".join(ch for ch in (raw or "").upper() if ch not in " -\t\r\n　－—")
    if len(text) != CODE_LENGTH or any(ch not in ALPHABET for ch in text):
        return None
    return text


def display(code: str) -> str:
    """XXXX-XXXX-XXXX, as printed on the sheet."""
    return "-".join(code[i:i + GROUP] for i in range(0, len(code), GROUP))


def code_hash(code: str, key: bytes) -> str:
    """The keyed hash a code is kept as (HMAC-SHA256): the table alone does not let anyone
    try the 2^59 codes offline."""
    return hmac.new(key, code.encode("ascii"), hashlib.sha256).hexdigest()


def excellent_cap(quota: float, cadres: int) -> int:
    """At most floor(quota · cadres on the ballot) 优秀 per ballot (decimal arithmetic: 0.29 · 100
    is 29, not 28.999…)."""
    if cadres <= 0 or quota <= 0:
        return 0
    return int((Decimal(str(quota)) * cadres).to_integral_value(rounding="ROUND_FLOOR"))


def check_ballot(form: dict, cadres: list[tuple[str, str]], cap: int) -> tuple[dict[str, str], list[str]]:
    """Check a filled-in ballot: `form` maps a cadre's code to the choice sent (优秀 … 不了解, or
    the stored key); `cadres` is the ballot, (code, name) in order. Returns (cadre code -> stored
    key, errors in Chinese); a ballot with errors counts nothing."""
    chosen: dict[str, str] = {}
    missing, bad = [], []
    for code, name in cadres:
        value = (form.get(code) or "").strip()
        if not value:
            missing.append(name)
        elif value not in _BY_VALUE:
            bad.append(name)
        else:
            chosen[code] = _BY_VALUE[value]
    errors = []
    if missing:
        shown = "、".join(missing[:10]) + (f" 等 {len(missing)} 人" if len(missing) > 10 else "")
        errors.append(f"请为每位干部选择一项评价，尚未选择：{shown}")
    if bad:
        errors.append(f"评价选项无效：{'、'.join(bad[:10])}")
    excellent = sum(1 for key in chosen.values() if key == "excellent")
    if excellent > cap:
        errors.append(f"“优秀”最多可评 {cap} 人，您评了 {excellent} 人，请减少后再提交")
    return chosen, errors


def tally(ballots: list[dict[str, str]]) -> dict[str, dict[str, int]]:
    """Per-cadre counts of a list of checked ballots (cadre code -> stored key): the reference
    the tests compare the stored tallies with."""
    out: dict[str, dict[str, int]] = {}
    for ballot in ballots:
        for code, key in ballot.items():
            out.setdefault(code, dict.fromkeys(CHOICE_KEYS, 0))[key] += 1
    return out
