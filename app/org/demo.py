"""The demo city: Xinyang's ten counties/districts with generated townships, villages,
departments, cadres (no real person) and one demo account per role."""

from __future__ import annotations

import datetime as dt
import random

import click
from sqlalchemy import func, select

from app.extensions import db
from app.models import Cadre, CareerRecord, OrgUnit, RewardPenalty
from app.org.units import create_unit
from app.org.users import create_user
from app.security import roles as R
from app.security.passwords import DEMO_PASSWORD

CITY = ("XY", "信阳市")
COUNTIES = [
    ("XY01", "浉河区"), ("XY02", "平桥区"), ("XY03", "罗山县"), ("XY04", "光山县"), ("XY05", "新县"),
    ("XY06", "商城县"), ("XY07", "固始县"), ("XY08", "潢川县"), ("XY09", "淮滨县"), ("XY10", "息县"),
]
TOWN_WORDS = "东西南北中青龙凤山河桥湾岗店集铺寨庙林塘源岭岩营"
TOWN_SUFFIX = ("镇", "乡", "街道")
VILLAGE_WORDS = "柳杨桃李枣桑竹松石泉溪坪岗湾冲畈庄楼洼坡"
DEPARTMENTS = ("组织部", "发展和改革委员会", "农业农村局", "住房和城乡建设局")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜叶程魏苏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉力斌宇浩凯晨阳然欣悦"
EDUCATIONS = ("大学本科", "研究生", "大学专科", "大学本科", "大学本科")

ACCOUNTS = [
    ("admin", R.ADMIN, "XY", "系统管理员（市）"),
    ("admin_luoshan", R.ADMIN, "XY03", "系统管理员（罗山县）"),
    ("kpy_city", R.STAFF, "XY", "组织部考评员（市）"),
    ("kpy_luoshan", R.STAFF, "XY03", "组织部考评员（罗山县）"),
    ("dcy_city", R.SUPERVISOR, "XY", "督查员（市）"),
    ("dcy_luoshan", R.SUPERVISOR, "XY03", "督查员（罗山县）"),
    ("llr_city_d01", R.LIAISON, "XYD01", "承办联络员（市委组织部）"),
    ("llr_luoshan_t01", R.LIAISON, "XY03T01", "承办联络员（罗山县第一个乡镇）"),
    ("llr_luoshan_d01", R.LIAISON, "XY03D01", "承办联络员（罗山县组织部）"),
    ("ld_city", R.LEADER, "XY", "市领导"),
    ("ld_luoshan", R.LEADER, "XY03", "县区领导（罗山县）"),
    ("ld_guangshan", R.LEADER, "XY04", "县区领导（光山县）"),
]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _date(rng: random.Random, start_year: int, end_year: int) -> dt.date:
    return dt.date(rng.randint(start_year, end_year), rng.randint(1, 12), rng.randint(1, 28))


def seed_demo_org(first_login_change: bool = True) -> bool:
    """Create the demo city's units, cadres and accounts unless they are there already;
    returns whether it created them.

    The demo accounts share a published password, so each must choose its own at its first
    login (`first_login_change`); only the test suite turns that off.
    """
    if db.session.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.code == CITY[0])):
        return False
    rng = random.Random(2026)
    city = create_unit(CITY[0], CITY[1], "city", None)
    for i, name in enumerate(("市委组织部", "市委督查室"), start=1):
        create_unit(f"XYD{i:02d}", name, "department", city, i)
    cadres: list[Cadre] = []
    counter = iter(range(1, 100000))
    for order, (code, name) in enumerate(COUNTIES, start=1):
        county = create_unit(code, name, "county", city, order)
        _county_cadres(rng, county, cadres, counter)
        words = rng.sample(TOWN_WORDS, 10)
        for t in range(1, 6):
            town_name = words[2 * t - 2] + words[2 * t - 1] + rng.choice(TOWN_SUFFIX)
            town = create_unit(f"{code}T{t:02d}", town_name, "township", county, t)
            _town_cadres(rng, town, cadres, counter)
            vwords = rng.sample(VILLAGE_WORDS, 8)
            for v in range(1, 5):
                village = create_unit(
                    f"{code}T{t:02d}V{v:02d}", vwords[2 * v - 2] + vwords[2 * v - 1] + "村", "village", town, v
                )
                cadres.append(_cadre(rng, village, "村党支部书记", "村干部", "村党组织书记", counter))
        for d, dept in enumerate(DEPARTMENTS, start=1):
            unit = create_unit(f"{code}D{d:02d}", name + dept, "department", county, 10 + d)
            cadres.append(_cadre(rng, unit, "局长" if "局" in dept else "部长", "正科", "县直部门正职", counter))
            cadres.append(_cadre(rng, unit, "副局长" if "局" in dept else "副部长", "副科", "县直部门副职", counter))
    db.session.add_all(cadres)
    db.session.flush()
    _history(rng, cadres)
    db.session.commit()
    for username, role, unit_code, display in ACCOUNTS:
        create_user(username, DEMO_PASSWORD, role, unit_code, None, display,
                    must_change_password=first_login_change)
    return True


def _county_cadres(rng, county, cadres, counter):
    cadres.append(_cadre(rng, county, "县委书记", "正处", "县区党政正职", counter))
    cadres.append(_cadre(rng, county, "县长", "正处", "县区党政正职", counter))
    for _ in range(3):
        cadres.append(_cadre(rng, county, "副县长", "副处", "县区党政副职", counter))


def _town_cadres(rng, town, cadres, counter):
    head = "党工委书记" if town.name.endswith("街道") else "党委书记"
    cadres.append(_cadre(rng, town, head, "正科", "乡镇党政正职", counter))
    cadres.append(_cadre(rng, town, "乡镇长" if not town.name.endswith("街道") else "办事处主任", "正科",
                         "乡镇党政正职", counter))
    for _ in range(2):
        cadres.append(_cadre(rng, town, "副乡镇长", "副科", "乡镇党政副职", counter))


def _cadre(rng, unit, position, rank, category, counter) -> Cadre:
    birth = _date(rng, 1966, 1992)
    return Cadre(
        code=f"XY{next(counter):05d}",
        name=_name(rng),
        gender=rng.choice(("男", "男", "女")),
        ethnicity=rng.choice(("汉族",) * 9 + ("回族",)),
        birth_date=birth,
        native_place="河南" + rng.choice(("信阳", "驻马店", "南阳", "周口", "郑州")),
        party_join_date=_date(rng, birth.year + 20, min(birth.year + 30, 2020)),
        education=rng.choice(EDUCATIONS),
        org_unit_id=unit.id,
        position=position,
        rank=rank,
        post_category=category,
        position_start=_date(rng, 2016, 2023),
        status="在职",
        phone=f"139{rng.randint(10000000, 99999999)}",
    )


def _history(rng, cadres):
    for cadre in cadres:
        start = cadre.position_start
        prior = dt.date(start.year - rng.randint(3, 6), start.month, 1)
        db.session.add(CareerRecord(cadre_id=cadre.id, start_date=prior, end_date=start, unit_name="乡镇党政办",
                                    position=rng.choice(("主任", "副主任", "科员"))))
        db.session.add(CareerRecord(cadre_id=cadre.id, start_date=start, end_date=None,
                                    unit_name="现单位", position=cadre.position))
        if rng.random() < 0.25:
            db.session.add(RewardPenalty(cadre_id=cadre.id, kind="奖励", date=_date(rng, 2019, 2024),
                                         title=rng.choice(("年度考核优秀", "市级先进个人", "脱贫攻坚先进个人")),
                                         issuer="中共信阳市委"))
        elif rng.random() < 0.05:
            db.session.add(RewardPenalty(cadre_id=cadre.id, kind="惩戒", date=_date(rng, 2019, 2024),
                                         title="诫勉谈话", issuer="县纪委监委"))


def print_accounts() -> None:
    click.echo(f"演示账号（初始密码均为 {DEMO_PASSWORD}，首次登录须修改密码）：")
    for username, role, _unit_code, display in ACCOUNTS:
        click.echo(f"  {username:<18} {role:<8} {display}")
