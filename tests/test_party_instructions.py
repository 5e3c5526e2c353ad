"""工作指令 (issue 16, PLATFORM.md §4): recipient resolution for every filter against a Python
count, party-member filters going to branch secretaries with their member lists, the preview
equal to the sent recipients, recipients kept as resolved, receipts and replies, rates per
unit with drill-down, scope (own copy only; another county 404), 催办, 转督办, drafts and
refused transitions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.core.errors import Conflict, DomainError, Forbidden, NotFound
from app.extensions import db
from app.models import (
    AppUser,
    Attachment,
    AuditLog,
    Cadre,
    Instruction,
    InstructionCopy,
    InstructionReminder,
    OrgUnit,
    PartyMember,
    SupervisionTask,
)
from app.org.users import create_user
from app.party import instruction_targets as T
from app.party import instructions as I
from app.security import roles as R
from tests.conftest import login
from tests.party_instr_data import PASSWORD, build, unit, user


@pytest.fixture(scope="module")
def data(app):
    with app.app_context():
        return build()


def U(key, data):
    return db.session.get(AppUser, data["users"][key])


def draft(data, sender="sender", units=("XY03",), **filters) -> Instruction:
    return I.create_draft(I.Draft(title="测试指令", content="请按要求落实。", unit_codes=list(units), **filters),
                          user=U(sender, data))


def sent(data, sender="sender", units=("XY03",), reply_required=False, **filters) -> Instruction:
    d = I.Draft(title="测试指令", content="请按要求落实。", unit_codes=list(units), reply_required=reply_required,
                reply_due=dt.date.today() + dt.timedelta(days=7) if reply_required else None, **filters)
    instruction = I.create_draft(d, user=U(sender, data))
    return I.send(instruction.id, user=U(sender, data))


def recipients(instruction) -> set[int]:
    return set(db.session.scalars(select(InstructionCopy.user_id).where(InstructionCopy.instruction_id == instruction.id)))


def python_users(units, sender_id, roles=(), categories=()) -> set[int]:
    """The expected recipients of user filters, by walking every account in Python."""
    paths = [unit(c).path for c in units]
    out = set()
    for u in db.session.scalars(select(AppUser)):
        if not u.active or u.id == sender_id or u.org_unit is None:
            continue
        if not any(u.org_unit.path.startswith(p) for p in paths):
            continue
        if roles and not {r.name for r in u.roles} & set(roles):
            continue
        if categories:
            cadre = db.session.get(Cadre, u.cadre_id) if u.cadre_id else None
            if cadre is None or cadre.post_category not in categories:
                continue
        out.add(u.id)
    return out


def python_members(units, as_of, status=(), flowing=None, bands=()) -> dict[int, list[str]]:
    """secretary id -> the codes of the matching members of their branches (Python walk)."""
    paths = [unit(c).path for c in units]
    out: dict[int, list[str]] = {}
    for m in db.session.scalars(select(PartyMember)):
        if not any(m.org_unit.path.startswith(p) for p in paths):
            continue
        if status and m.status not in status:
            continue
        if flowing is not None and m.flowing != flowing:
            continue
        if bands and T.age_band(T.age_on(m.birth_date, as_of)) not in bands:
            continue
        if m.branch.secretary_id is not None:
            out.setdefault(m.branch.secretary_id, []).append(m.code)
    return out


# ---------------------------------------------------------------- pure rules

def test_age_bands_as_birth_ranges_agree_with_full_years():
    for as_of in (dt.date(2026, 12, 5), dt.date(2024, 2, 29), dt.date(2025, 3, 1), dt.date(2025, 1, 1)):
        day = T.years_before(as_of, 70)
        while day <= T.years_before(as_of, 20):
            age = T.age_on(day, as_of)
            for band in T.AGE_BANDS:
                after, on_or_before = T.birth_bounds(band, as_of)
                inside = (after is None or day > after) and (on_or_before is None or day <= on_or_before)
                assert inside == (T.age_band(age) == band), (as_of, day, band)
            day += dt.timedelta(days=1)


def test_band_edges():
    assert [T.age_band(a) for a in (30, 31, 40, 41, 50, 51, 60, 61)] == [
        "≤30", "31–40", "31–40", "41–50", "41–50", "51–60", "51–60", "≥61"]


def test_filters_are_checked_in_chinese():
    _, errors = T.parse_filters(["不存在的角色"], ["没有的类别"], ["党员"], "也许", ["12–20"],
                                known_roles=R.ALL_ROLES, known_categories=("县区党政正职",))
    assert len(errors) == 5 and all(any("\u4e00" <= ch <= "\u9fff" for ch in e) for e in errors)


def test_branches_grouped_by_secretary():
    copies, orphans = T.secretary_copies([("甲支部", 10, 7, 3), ("乙支部", 11, None, 2), ("丙支部", 12, 7, 1),
                                          ("丁支部", 13, 8, 0), ("戊支部", 14, 9, 4)])
    assert {uid: (c.unit_id, c.branches, c.members) for uid, c in copies.items()} == {
        7: (10, ["甲支部", "丙支部"], 4), 9: (14, ["戊支部"], 4)}
    assert orphans == ["乙支部"]


def test_rollup_per_child_unit():
    counts = [("/1/3/", "unread", 2), ("/1/3/40/", "read", 3), ("/1/3/40/77/", "replied", 1), ("/1/3/41/", "unread", 4),
              ("/1/4/", "read", 9)]
    assert T.rollup("/1/3/", counts) == {None: {"total": 2, "read": 0, "replied": 0},
                                         40: {"total": 4, "read": 4, "replied": 1},
                                         41: {"total": 4, "read": 0, "replied": 0}}


# ---------------------------------------------------------------- resolution

def test_no_filter_reaches_every_active_user_of_the_subtrees_but_the_sender(app, ctx, data):
    instruction = sent(data, units=("XY03T01", "XY03T02"))
    expected = python_users(("XY03T01", "XY03T02"), data["users"]["sender"])
    assert recipients(instruction) == expected and len(expected) >= 5
    assert instruction.recipient_count == len(expected)


def test_roles_filter(app, ctx, data):
    instruction = sent(data, roles=[R.LIAISON])
    expected = python_users(("XY03",), data["users"]["sender"], roles=(R.LIAISON,))
    assert recipients(instruction) == expected
    assert data["users"]["r_town"] in expected and data["users"]["r_leader"] not in expected
    assert data["users"]["r_out"] not in expected  # another county


def test_post_category_filter(app, ctx, data):
    category = db.session.get(Cadre, U("r_village", data).cadre_id).post_category
    instruction = sent(data, post_categories=[category])
    expected = python_users(("XY03",), data["users"]["sender"], categories=(category,))
    assert recipients(instruction) == expected and data["users"]["r_village"] in expected
    assert data["users"]["sec1"] not in expected  # no linked cadre: no post category


def test_roles_and_post_categories_narrow_together(app, ctx, data):
    category = db.session.get(Cadre, U("r_leader", data).cadre_id).post_category
    instruction = sent(data, roles=[R.LEADER], post_categories=[category])
    assert recipients(instruction) == python_users(("XY03",), data["users"]["sender"], (R.LEADER,), (category,))
    assert data["users"]["r_leader"] in recipients(instruction)


def test_a_unit_outside_the_senders_scope_is_refused_and_nothing_is_made(app, ctx, data):
    before = db.session.scalar(select(db.func.count()).select_from(Instruction))
    with pytest.raises(DomainError) as exc:
        draft(data, units=("XY03T01", "XY04"))
    assert "不在您的管辖范围内" in exc.value.message and "光山县" in exc.value.message
    assert db.session.scalar(select(db.func.count()).select_from(Instruction)) == before


def test_flowing_members_go_to_their_branches_secretaries_with_the_lists(app, ctx, data):
    today = dt.date.today()
    instruction = sent(data, member_flowing="是")
    expected = python_members(("XY03",), today, flowing=True)
    assert recipients(instruction) == set(expected) >= {data["users"]["sec1"], data["users"]["sec2"]}
    assert data["users"]["sec_out"] not in expected  # 光山县's branch is outside the target
    for copy in db.session.scalars(select(InstructionCopy).where(InstructionCopy.instruction_id == instruction.id)):
        listed = [m.member_code for m in I.copy_members(copy.id)]
        assert sorted(listed) == sorted(expected[copy.user_id])
        assert copy.reason == "branch"
    # the branch without a secretary is named in the preview, never silently dropped
    again = draft(data, member_flowing="是")
    assert "无书记党支部" in I.preview(again.id, user=U("sender", data)).orphans


@pytest.mark.parametrize("filters", [
    {"member_status": ["预备党员"]},
    {"member_age_bands": ["≤30"]},
    {"member_age_bands": ["31–40", "51–60"]},
    {"member_status": ["正式党员"], "member_flowing": "否"},
])
def test_member_filters_against_a_python_count(app, ctx, data, filters):
    today = dt.date.today()
    instruction = sent(data, **filters)
    expected = python_members(("XY03",), today, status=tuple(filters.get("member_status", ())),
                              flowing={"是": True, "否": False}.get(filters.get("member_flowing")),
                              bands=tuple(filters.get("member_age_bands", ())))
    assert recipients(instruction) == set(expected)
    for copy in db.session.scalars(select(InstructionCopy).where(InstructionCopy.instruction_id == instruction.id)):
        assert sorted(m.member_code for m in I.copy_members(copy.id)) == sorted(expected[copy.user_id])


def test_age_band_boundaries_of_the_day(app, ctx, data):
    """m3 is 30 today (≤30), m4 31 today (31–40), m7 turns 61 tomorrow (51–60)."""
    instruction = sent(data, member_age_bands=["≤30"])
    codes = {c.member_code for c in I.copy_members_of(instruction.id)}
    assert "INS-M3" in codes and "INS-M4" not in codes and "INS-M1" in codes
    codes = {c.member_code for c in I.copy_members_of(sent(data, member_age_bands=["51–60"]).id)}
    assert "INS-M7" in codes
    older = I.preview(draft(data, member_age_bands=["≥61"]).id, user=U("sender", data))
    assert "无书记党支部" in older.orphans  # m5 (61), whose branch has no secretary
    assert data["users"]["sec1"] not in older.users  # b1 holds no member of 61 or more


def test_member_and_user_filters_narrow_the_secretaries(app, ctx, data):
    none = draft(data, member_flowing="是", roles=[R.LEADER])
    assert I.preview(none.id, user=U("sender", data)).count == 0
    with pytest.raises(DomainError) as exc:
        I.send(none.id, user=U("sender", data))
    assert "没有找到任何接收人" in exc.value.message
    assert db.session.get(Instruction, none.id).state == "draft"


# ---------------------------------------------------------------- preview, send, kept

def test_preview_count_equals_the_sent_recipients(app, ctx, data):
    instruction = draft(data, roles=[R.LIAISON, R.LEADER])
    count = I.preview(instruction.id, user=U("sender", data)).count
    I.send(instruction.id, user=U("sender", data), expected_count=count)
    assert len(recipients(instruction)) == count == db.session.get(Instruction, instruction.id).recipient_count


def test_a_changed_count_since_the_preview_is_refused(app, ctx, data):
    instruction = draft(data, roles=[R.LIAISON])
    count = I.preview(instruction.id, user=U("sender", data)).count
    with pytest.raises(Conflict) as exc:
        I.send(instruction.id, user=U("sender", data), expected_count=count + 1)
    assert "接收人已变化" in exc.value.message
    assert db.session.get(Instruction, instruction.id).state == "draft" and not recipients(instruction)


def test_recipients_are_kept_as_resolved(app, ctx, data):
    instruction = sent(data, roles=[R.LEADER])
    before = recipients(instruction)
    assert data["users"]["r_leader"] in before
    create_user("ins_r_leader", PASSWORD, R.LIAISON, "XY03T02")  # the leader becomes a liaison
    create_user("ins_new_leader", PASSWORD, R.LEADER, "XY03T01")  # a new leader appears
    try:
        assert recipients(instruction) == before
        again = draft(data, roles=[R.LEADER])
        now = set(I.preview(again.id, user=U("sender", data)).users)
        assert data["users"]["r_leader"] not in now and user("ins_new_leader").id in now
    finally:
        create_user("ins_r_leader", PASSWORD, R.LEADER, "XY03T02")
        db.session.delete(user("ins_new_leader"))
        db.session.commit()


# ---------------------------------------------------------------- drafts and transitions

def test_drafts_are_editable_sent_instructions_are_not(app, ctx, data):
    instruction = draft(data)
    v = instruction.version
    I.update_draft(instruction.id, I.Draft(title="改过的标题", content="新内容", unit_codes=["XY03T01"]),
                   user=U("sender", data), expected_version=v)
    assert db.session.get(Instruction, instruction.id).title == "改过的标题"
    with pytest.raises(Conflict) as exc:  # a form opened before that save
        I.update_draft(instruction.id, I.Draft(title="旧表单", content="x", unit_codes=["XY03"]),
                       user=U("sender", data), expected_version=v)
    assert "已被他人修改" in exc.value.message
    I.send(instruction.id, user=U("sender", data))
    with pytest.raises(DomainError) as exc:
        I.update_draft(instruction.id, I.Draft(title="x", content="y", unit_codes=["XY03"]), user=U("sender", data))
    assert "已下发" in exc.value.message
    with pytest.raises(DomainError):
        I.send(instruction.id, user=U("sender", data))
    with pytest.raises(DomainError):
        I.delete_draft(instruction.id, user=U("sender", data))
    assert db.session.get(Instruction, instruction.id).title == "改过的标题"
    entries = db.session.scalars(select(AuditLog).where(AuditLog.table_name == "party_instruction",
                                                        AuditLog.row_id == str(instruction.id))).all()
    assert {e.action for e in entries} >= {"create", "update"}
    assert {e.org_unit_id for e in entries} == {unit("XY03").id}  # the sender's unit: the entries' scope
    from app.core import audit_labels

    assert audit_labels.table_label("party_instruction") == "工作指令"


def test_only_the_sender_edits_its_draft_and_recipient_roles_cannot_send(app, ctx, data):
    instruction = draft(data)
    with pytest.raises(NotFound):
        I.update_draft(instruction.id, I.Draft(title="x", content="y", unit_codes=["XY03"]), user=U("sup", data))
    with pytest.raises(Forbidden):
        draft(data, sender="r_town", units=("XY03T01",))


def test_required_fields_in_chinese(app, ctx, data):
    with pytest.raises(DomainError) as exc:
        I.create_draft(I.Draft(title="", content="", unit_codes=[], reply_required=True), user=U("sender", data))
    for words in ("标题", "内容", "反馈截止日期", "发送范围"):
        assert words in exc.value.message


# ---------------------------------------------------------------- receipts

def _copy(instruction, key, data) -> InstructionCopy:
    return db.session.scalar(select(InstructionCopy).where(InstructionCopy.instruction_id == instruction.id,
                                                           InstructionCopy.user_id == data["users"][key]))


def test_read_receipt_and_reply(app, ctx, data):
    instruction = sent(data, roles=[R.LIAISON], reply_required=True)
    copy = _copy(instruction, "r_town", data)
    assert copy.state == "unread" and copy.read_at is None
    with pytest.raises(DomainError) as exc:
        I.reply(copy.id, "已落实", user=U("r_town", data))
    assert "请先打开" in exc.value.message
    opened = I.open_copy(copy.id, user=U("r_town", data))
    assert opened.state == "read" and opened.read_at is not None
    first_read = opened.read_at
    assert I.open_copy(copy.id, user=U("r_town", data)).read_at == first_read  # recorded once
    with pytest.raises(DomainError):
        I.reply(copy.id, "  ", user=U("r_town", data))
    I.reply(copy.id, "已组织学习并落实。", user=U("r_town", data), attachments=[("落实情况.pdf", b"%PDF-1.4 x", "application/pdf")])
    copy = db.session.get(InstructionCopy, copy.id)
    assert copy.state == "replied" and copy.reply == "已组织学习并落实。" and copy.replied_at is not None
    files = db.session.scalars(select(Attachment).where(Attachment.owner_table == I.REPLY_FILES,
                                                        Attachment.owner_id == copy.id)).all()
    assert [f.filename for f in files] == ["落实情况.pdf"]
    with pytest.raises(DomainError) as exc:
        I.reply(copy.id, "再来一次", user=U("r_town", data))
    assert "不能重复反馈" in exc.value.message
    # the sender and whoever's copy it is read the reply's attachment; another recipient does not
    assert I.attachment_for(files[0].id, user=U("sender", data)).id == files[0].id
    with pytest.raises(NotFound):
        I.attachment_for(files[0].id, user=U("r_village", data))
    audited = db.session.scalars(select(AuditLog).where(AuditLog.table_name == "party_instruction_copy",
                                                        AuditLog.row_id == str(copy.id))).all()
    assert audited


def test_a_recipient_sees_only_its_own_copy(app, ctx, data):
    instruction = sent(data, roles=[R.LIAISON])
    mine, other = _copy(instruction, "r_town", data), _copy(instruction, "r_village", data)
    assert I.own_copy(mine.id, U("r_town", data)).id == mine.id
    with pytest.raises(NotFound):
        I.open_copy(other.id, user=U("r_town", data))
    assert db.session.get(InstructionCopy, other.id).state == "unread"
    with pytest.raises(NotFound):  # a recipient does not see the instruction's other copies
        I.get_instruction(instruction.id, user=U("r_town", data))
    assert [c.id for c in I.inbox(U("r_town", data)) if c.instruction_id == instruction.id] == [mine.id]


def test_senders_see_what_they_sent_or_what_their_subtree_received(app, ctx, data):
    city = sent(data, sender="city", units=("XY03T01", "XY04T01"), roles=[R.LIAISON])
    county = sent(data, units=("XY03T01",))
    # the county staff sees the city's instruction (its subtree received it), only its own copies
    seen = I.get_instruction(city.id, user=U("sender", data))
    ids = set(db.session.scalars(select(InstructionCopy.user_id).where(I.copy_scope(seen, U("sender", data)))))
    assert data["users"]["r_town"] in ids and data["users"]["r_out"] not in ids
    assert I.summarize(seen, U("sender", data))["total"] == len(ids) < city.recipient_count
    listed = I.summaries(I.list_instructions(U("sender", data)), U("sender", data))
    assert listed[city.id] == I.summarize(seen, U("sender", data))
    assert listed[county.id] == I.summarize(county, U("sender", data))
    # another county's staff sees neither the county's instruction nor (no copy there) its drafts
    with pytest.raises(NotFound):
        I.get_instruction(county.id, user=U("out_sender", data))
    assert county.id not in {i.id for i in I.list_instructions(U("out_sender", data))}
    assert city.id in {i.id for i in I.list_instructions(U("out_sender", data))}
    drafted = draft(data)
    with pytest.raises(NotFound):
        I.get_instruction(drafted.id, user=U("sup", data))  # someone else's draft


# ---------------------------------------------------------------- rates

def test_rates_per_unit_and_drill_down_against_a_python_count(app, ctx, data):
    instruction = sent(data, sender="city", units=("XY03", "XY04"))
    copies = list(db.session.scalars(select(InstructionCopy).where(InstructionCopy.instruction_id == instruction.id)))
    for i, copy in enumerate(copies):  # every third unread, every third read, every third replied
        if i % 3:
            I.open_copy(copy.id, user=db.session.get(AppUser, copy.user_id))
        if i % 3 == 2:
            I.reply(copy.id, "收到", user=db.session.get(AppUser, copy.user_id))
    city_user = U("city", data)

    def expected(root: OrgUnit):
        out = {}
        for c in db.session.scalars(select(InstructionCopy).where(InstructionCopy.instruction_id == instruction.id)):
            path = c.org_unit.path
            if not path.startswith(root.path):
                continue
            rest = path[len(root.path):].strip("/")
            key = int(rest.split("/")[0]) if rest else None
            row = out.setdefault(key, [0, 0, 0])
            row[0] += 1
            row[1] += c.state != "unread"
            row[2] += c.state == "replied"
        return out

    for code in ("XY", "XY03", "XY03T01", "XY04"):
        root = I.unit_for_rates(instruction, code, user=city_user)
        total, rows = I.rates(instruction, root, user=city_user)
        got = {(r.unit.id if r.unit else None): [r.total, r.read, r.replied] for r in rows}
        assert got == expected(root), code
        assert total.total == sum(v[0] for v in got.values())
        for r in rows:
            assert r.read_rate == T.rate(r.read, r.total) and r.reply_rate == T.rate(r.replied, r.total)
        # drill-down to the copies of each child equals the child's figure
        for r in rows:
            if r.unit is not None:
                assert len(I.copies_at(instruction, r.unit, user=city_user)) == r.total
    # the county sees its own subtree only, and another county's unit is a 404 for it
    root = I.unit_for_rates(instruction, None, user=U("sender", data))
    assert root.code == "XY03"
    with pytest.raises(NotFound):
        I.unit_for_rates(instruction, "XY04", user=U("sender", data))


# ---------------------------------------------------------------- 催办

def test_chasing_the_unread(app, ctx, data):
    instruction = sent(data, roles=[R.LIAISON])
    read = _copy(instruction, "r_town", data)
    I.open_copy(read.id, user=U("r_town", data))
    waiting = db.session.scalar(select(db.func.count()).select_from(InstructionCopy).where(
        InstructionCopy.instruction_id == instruction.id, InstructionCopy.state == "unread"))
    assert I.remind(instruction.id, user=U("sender", data), message="请尽快阅读") == waiting
    village = _copy(instruction, "r_village", data)
    assert village.reminders == 1
    assert [r.message for r in I.copy_reminders(village.id)] == ["请尽快阅读"]
    assert db.session.get(InstructionCopy, read.id).reminders == 0
    with pytest.raises(DomainError) as exc:
        I.remind(instruction.id, user=U("sender", data), copy_id=read.id)
    assert "无需催办" in exc.value.message
    # the recipient's to-do shows it, chased
    from app.party.views_instructions import todo_provider

    groups = {g.key: g for g in todo_provider(U("r_village", data), dt.datetime.now())}
    item = next(x for x in groups["instruction_unread"].items if x.url.endswith(f"/{village.id}"))
    assert "已催办 1 次" in item.note
    with pytest.raises(NotFound):  # another county cannot chase
        I.remind(instruction.id, user=U("out_sender", data))
    assert db.session.scalar(select(db.func.count()).select_from(InstructionReminder).where(
        InstructionReminder.copy_id == village.id)) == 1


# ---------------------------------------------------------------- 转督办

def test_turning_into_a_supervision_item(app, ctx, data):
    instruction = sent(data, sender="sup", units=("XY03T01", "XY03T02"), roles=[R.LIAISON])
    task = I.to_supervision(instruction.id, user=U("sup", data), lead_unit_code="XY03T02")
    task = db.session.get(SupervisionTask, task.id)
    assert task.lead_unit.code == "XY03T02" and task.state == "draft" and task.title == instruction.title
    assert task.source == f"工作指令#{instruction.id}"
    assert db.session.get(Instruction, instruction.id).task_id == task.id
    assert I.instruction_of_task(task.id).id == instruction.id
    c = app.test_client()  # the item's page links back to the instruction
    login(c, "ins_sup", PASSWORD)
    assert f'href="/party/instructions/{instruction.id}"' in c.get(f"/tasks/show/{task.id}").get_data(as_text=True)
    assert f'href="/tasks/show/{task.id}"' in c.get(f"/party/instructions/{instruction.id}").get_data(as_text=True)
    with pytest.raises(DomainError) as exc:
        I.to_supervision(instruction.id, user=U("sup", data))
    assert "已转为督办事项" in exc.value.message
    staff = sent(data, units=("XY03T01",))
    with pytest.raises(Forbidden) as exc:  # 组织部考评员 is no supervisor
        I.to_supervision(staff.id, user=U("sender", data))
    assert "督查员" in exc.value.message
    assert db.session.get(Instruction, staff.id).task_id is None


# ---------------------------------------------------------------- screens

def test_screens_scope_and_receipt_over_http(app, data):
    with app.app_context():
        d = I.Draft(title="测试指令", content="请按要求落实。", unit_codes=["XY03"], roles=[R.LIAISON],
                    reply_required=True, reply_due=dt.date.today())
        drafted = I.create_draft(d, user=U("sender", data), attachments=[("通知.pdf", b"%PDF-1.4", "application/pdf")])
        instruction = I.send(drafted.id, user=U("sender", data))
        att = db.session.scalar(select(Attachment.id).where(Attachment.owner_table == I.INSTRUCTION_FILES,
                                                            Attachment.owner_id == instruction.id))
        mine, other = _copy(instruction, "r_town", data).id, _copy(instruction, "r_village", data).id
        iid = instruction.id
    c = app.test_client()
    login(c, "ins_r_town", PASSWORD)
    assert c.get(f"/party/inbox/{other}").status_code == 404
    assert c.get(f"/party/instructions/{iid}").status_code == 403  # a liaison has no sender side at all
    todo = c.get("/todo/").get_data(as_text=True)
    assert "未读工作指令" in todo and f"/party/inbox/{mine}" in todo
    page = c.get(f"/party/inbox/{mine}")
    assert page.status_code == 200 and "测试指令" in page.get_data(as_text=True)
    assert f"/party/inbox/attachment/{att}" in page.get_data(as_text=True)
    assert c.get(f"/party/inbox/attachment/{att}").data == b"%PDF-1.4"
    reply = c.post(f"/party/inbox/{mine}/reply", data={"reply": "已落实"})
    assert reply.status_code == 302
    with app.app_context():
        assert db.session.get(InstructionCopy, mine).state == "replied"
    assert "已落实" in c.get(f"/party/inbox/{mine}").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(InstructionCopy, mine).state == "replied"
        assert db.session.get(InstructionCopy, other).state == "unread"
    out = app.test_client()
    login(out, "ins_out", PASSWORD)
    assert out.get(f"/party/instructions/{iid}").status_code == 404
    assert out.get(f"/party/instructions/{iid}/copies").status_code == 404
    assert out.post(f"/party/instructions/{iid}/remind", data={}).status_code == 404
    s = app.test_client()
    login(s, "ins_sender", PASSWORD)
    html = s.get(f"/party/instructions/{iid}").get_data(as_text=True)
    assert "阅读率" in html and "罗山县" in html
    assert s.get(f"/party/instructions/{iid}?unit=XY04").status_code == 404
    copies = s.get(f"/party/instructions/{iid}/copies?unit=XY03T01").get_data(as_text=True)
    assert "ins-copy-row" in copies and "已反馈" in copies


def test_a_stale_draft_form_is_a_chinese_409_over_http(app, data):
    with app.app_context():
        instruction = draft(data, units=("XY03T01",))
        iid, version = instruction.id, instruction.version
    s = app.test_client()
    login(s, "ins_sender", PASSWORD)
    form = {"title": "第一次保存", "content": "内容", "unit": "XY03T01", "expected_version": str(version)}
    assert s.post(f"/party/instructions/{iid}/edit", data=form).status_code == 302
    stale = s.post(f"/party/instructions/{iid}/edit", data={**form, "title": "过期的表单"})
    assert stale.status_code == 409 and "已被他人修改" in stale.get_data(as_text=True)
    preview = s.get(f"/party/instructions/{iid}/preview").get_json()
    assert preview["text"] == f"将发送给 {preview['count']} 人"
    sent_now = s.post(f"/party/instructions/{iid}/send", data={"expected_count": str(preview["count"])})
    assert sent_now.status_code == 302
    with app.app_context():
        kept = db.session.get(Instruction, iid)
        assert kept.title == "第一次保存" and kept.state == "sent" and kept.recipient_count == preview["count"]
    again = s.post(f"/party/instructions/{iid}/edit", data={**form, "title": "已下发后修改"}, follow_redirects=True)
    assert "已下发，不能再修改" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Instruction, iid).title == "第一次保存"


def test_a_reply_past_its_due_day_is_flagged(app, ctx, data):
    from app.party.views_instructions import todo_provider

    instruction = sent(data, roles=[R.LIAISON], reply_required=True)
    copy = _copy(instruction, "r_village", data)
    later = dt.datetime.combine(instruction.reply_due + dt.timedelta(days=1), dt.time(9))
    groups = {g.key: g for g in todo_provider(U("r_village", data), later)}
    item = next(x for x in groups["instruction_unread"].items if x.url.endswith(f"/{copy.id}"))
    assert "已逾期未反馈" in item.note and item.light == "red"
    groups = {g.key: g for g in todo_provider(U("r_village", data), dt.datetime.now())}
    item = next(x for x in groups["instruction_unread"].items if x.url.endswith(f"/{copy.id}"))
    assert "逾期" not in item.note and item.light is None


def test_two_sends_at_once_send_once(app, data):
    import threading

    with app.app_context():
        iid = draft(data, units=("XY03T01",)).id
    outcomes, gate = [], threading.Barrier(3)

    def go():
        with app.app_context():
            gate.wait()
            try:
                I.send(iid, user=U("sender", data))
                outcomes.append("ok")
            except DomainError as exc:
                outcomes.append(exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcomes.count("ok") == 1, outcomes
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in o) for o in outcomes if o != "ok")
    with app.app_context():
        instruction = db.session.get(Instruction, iid)
        assert instruction.state == "sent" and len(recipients(instruction)) == instruction.recipient_count > 0
