"""The pure rules of online 民主测评 (app/voting/rules.py), with hand-computed cases."""

from __future__ import annotations

import random

from app.voting import rules

CADRES = [("G1", "甲"), ("G2", "乙"), ("G3", "丙"), ("G4", "丁"), ("G5", "戊")]


def test_codes_are_long_random_and_unambiguous():
    assert rules.CODE_LENGTH >= 10
    assert rules.code_bits() >= 50  # 12 · log2(31) ≈ 59.45
    assert not set("01ILO") & set(rules.ALPHABET)
    codes = rules.new_codes(2000)
    assert len(set(codes)) == 2000
    assert all(len(c) == 12 and set(c) <= set(rules.ALPHABET) for c in codes)
    # every symbol turns up (a generator stuck on part of the alphabet would not)
    assert set("".join(codes)) == set(rules.ALPHABET)


def test_seeded_codes_repeat_and_os_codes_do_not():
    assert rules.new_codes(5, random.Random(1)) == rules.new_codes(5, random.Random(1))
    assert rules.new_codes(5) != rules.new_codes(5)


def test_normalize_and_display():
    assert rules.normalize("abcd-efgh-jkmn") == "ABCDEFGHJKMN"
    assert rules.normalize(" ABCD EFGH　JKMN ") == "ABCDEFGHJKMN"
    assert rules.display("ABCDEFGHJKMN") == "ABCD-EFGH-JKMN"
    assert rules.normalize("ABCD-EFGH-JKM") is None  # too short
    assert rules.normalize("ABCD-EFGH-JKM0") is None  # 0 is not in the alphabet
    assert rules.normalize("") is None and rules.normalize(None) is None


def test_code_hash_is_keyed():
    a = rules.code_hash("ABCDEFGHJKMN", b"k1")
    assert len(a) == 64 and a == rules.code_hash("ABCDEFGHJKMN", b"k1")
    assert a != rules.code_hash("ABCDEFGHJKMN", b"k2")
    assert "ABCDEFGHJKMN" not in a


def test_excellent_cap_is_the_floor_of_quota_times_cadres():
    assert rules.excellent_cap(0.2, 5) == 1
    assert rules.excellent_cap(0.2, 9) == 1  # 1.8
    assert rules.excellent_cap(0.2, 10) == 2
    assert rules.excellent_cap(0.29, 100) == 29  # 28.999… in binary floating point
    assert rules.excellent_cap(0.3, 3) == 0  # 0.9
    assert rules.excellent_cap(0.2, 0) == 0


def test_a_complete_ballot_within_the_cap():
    form = {"G1": "优秀", "G2": "称职", "G3": "基本称职", "G4": "不称职", "G5": "不了解", "csrf_token": "x"}
    chosen, errors = rules.check_ballot(form, CADRES, 1)
    assert errors == []
    assert chosen == {"G1": "excellent", "G2": "competent", "G3": "basic", "G4": "incompetent", "G5": "unknown"}


def test_stored_keys_are_accepted_too():
    chosen, errors = rules.check_ballot({c: "competent" for c, _ in CADRES}, CADRES, 1)
    assert not errors and set(chosen.values()) == {"competent"}


def test_every_cadre_needs_a_choice():
    chosen, errors = rules.check_ballot({"G1": "称职", "G2": "称职"}, CADRES, 1)
    assert errors == ["请为每位干部选择一项评价，尚未选择：丙、丁、戊"]


def test_too_many_excellent_is_refused():
    form = {"G1": "优秀", "G2": "优秀", "G3": "称职", "G4": "称职", "G5": "称职"}
    _chosen, errors = rules.check_ballot(form, CADRES, 1)
    assert errors == ["“优秀”最多可评 1 人，您评了 2 人，请减少后再提交"]


def test_a_choice_outside_the_five_is_refused():
    form = {c: "称职" for c, _ in CADRES} | {"G3": "很好"}
    _chosen, errors = rules.check_ballot(form, CADRES, 1)
    assert errors == ["评价选项无效：丙"]


def test_tally():
    ballots = [{"G1": "excellent", "G2": "competent"}, {"G1": "competent", "G2": "competent"}]
    assert rules.tally(ballots) == {
        "G1": {"excellent": 1, "competent": 1, "basic": 0, "incompetent": 0, "unknown": 0},
        "G2": {"excellent": 0, "competent": 2, "basic": 0, "incompetent": 0, "unknown": 0},
    }
