"""Admins are scoped like everyone else (issue 12, point 1).

A 系统管理员 bound to 罗山县 (XY03) manages only the users of its subtree: FAB's reset-password,
user and role screens answer 404 for another county's user and change nothing; it cannot give
the 系统管理员 role nor manage an account that holds it; groups are gone; the audit log shows it
only entries about its subtree and the logins of its own users.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AppUser, AuditLog, Cadre, OrgUnit
from app.org.users import create_user
from app.security import roles as R
from tests.conftest import login

PASSWORD = "Str0ng!Passw0rd"
NEW_PASSWORD = "N3w!Passw0rd-x"


@pytest.fixture(scope="module")
def accounts(app):
    """A county admin of XY03, a second XY03 admin, users inside XY03 and in XY04, a city admin."""
    with app.app_context():
        made = {
            "county_admin": create_user("sa_admin_ls", PASSWORD, R.ADMIN, "XY03"),
            "county_admin2": create_user("sa_admin2_ls", PASSWORD, R.ADMIN, "XY03T01"),
            "inside": create_user("sa_leader_ls", PASSWORD, R.LEADER, "XY03T01"),
            "outside": create_user("sa_leader_gs", PASSWORD, R.LEADER, "XY04"),
            "city_admin": create_user("sa_admin_city", PASSWORD, R.ADMIN, "XY"),
        }
        ids = {key: user.id for key, user in made.items()}
        ids["admin_role"] = app.appbuilder.sm.find_role(R.ADMIN).id
        ids["leader_role"] = app.appbuilder.sm.find_role(R.LEADER).id
        ids["unit_XY03T01"] = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "XY03T01"))
        ids["unit_XY04"] = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "XY04"))
    return ids


def _user(app, user_id) -> AppUser:
    with app.app_context():
        user = db.session.get(AppUser, user_id)
        db.session.expunge(user)
        return user


def _reset(client, pk, password=NEW_PASSWORD):
    return client.post(f"/resetpassword/form?pk={pk}", data={"password": password, "conf_password": password})


# ---------------------------------------------------------------- reset password

@pytest.mark.parametrize("target", ["outside", "city_admin"])
def test_county_admin_cannot_reset_a_password_outside_its_subtree(app, client, accounts, target):
    before = _user(app, accounts[target]).password
    login(client, "sa_admin_ls", PASSWORD)
    assert client.get(f"/resetpassword/form?pk={accounts[target]}").status_code == 404
    assert _reset(client, accounts[target]).status_code == 404
    assert _user(app, accounts[target]).password == before
    other = app.test_client()
    assert other.post("/login/", data={"username": _user(app, accounts[target]).username,
                                       "password": NEW_PASSWORD}).headers.get("Location", "").startswith("/login/")


def test_county_admin_cannot_reset_another_admins_password(app, client, accounts):
    before = _user(app, accounts["county_admin2"]).password
    login(client, "sa_admin_ls", PASSWORD)
    response = _reset(client, accounts["county_admin2"])
    assert response.status_code == 403
    assert _user(app, accounts["county_admin2"]).password == before


def test_reset_inside_the_subtree_forces_a_change_at_next_login(app, client, accounts):
    login(client, "sa_admin_ls", PASSWORD)
    assert client.get(f"/resetpassword/form?pk={accounts['inside']}").status_code == 200
    response = _reset(client, accounts["inside"])
    assert response.status_code == 302
    assert _user(app, accounts["inside"]).must_change_password
    other = app.test_client()
    login(other, "sa_leader_ls", NEW_PASSWORD)
    landing = other.get("/cadres/list/")
    assert landing.status_code == 302 and "/resetmypassword/form" in landing.headers["Location"]
    with app.app_context():  # give the account back to the other tests
        create_user("sa_leader_ls", PASSWORD, R.LEADER, "XY03T01")


# ---------------------------------------------------------------- users, roles, groups

def test_user_screens_answer_404_for_another_countys_user(app, client, accounts):
    login(client, "sa_admin_ls", PASSWORD)
    pk = accounts["outside"]
    for url in (f"/users/show/{pk}", f"/users/edit/{pk}", f"/users/delete/{pk}"):
        assert client.get(url).status_code == 404, url
    response = client.post(f"/users/edit/{pk}", data={
        "username": "sa_leader_gs", "first_name": "x", "last_name": "y", "email": "x@y.invalid",
        "org_unit": str(accounts["unit_XY04"]), "roles": [str(accounts["admin_role"])], "active": "y"})
    assert response.status_code == 404
    assert client.post(f"/users/action/resetpasswords/{pk}").status_code == 404
    assert [r.name for r in _user_roles(app, pk)] == [R.LEADER]


def _user_roles(app, user_id):
    with app.app_context():
        return list(db.session.get(AppUser, user_id).roles)


def test_user_list_and_role_pages_show_no_outside_user(client, accounts):
    login(client, "sa_admin_ls", PASSWORD)
    listing = client.get("/users/list/?psize_UserDBModelView=100&psize_AppUserView=100").get_data(as_text=True)
    assert "sa_leader_ls" in listing
    for outside in ("sa_leader_gs", "ld_guangshan", "sa_admin_city", ">admin<"):
        assert outside not in listing, outside
    role_page = client.get(f"/roles/show/{accounts['leader_role']}").get_data(as_text=True)
    assert "ld_guangshan" not in role_page and "sa_leader_gs" not in role_page


def test_county_admin_is_not_offered_and_cannot_grant_the_admin_role(app, client, accounts):
    login(client, "sa_admin_ls", PASSWORD)
    form = client.get("/users/add").get_data(as_text=True)
    assert R.LEADER in form and f'value="{accounts["admin_role"]}"' not in form
    response = client.post("/users/add", data={
        "username": "sa_escalated", "first_name": "提", "last_name": "权", "email": "e@x.invalid",
        "org_unit": str(accounts["unit_XY03T01"]), "roles": [str(accounts["admin_role"])], "active": "y",
        "password": PASSWORD, "conf_password": PASSWORD})
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(AppUser).where(AppUser.username == "sa_escalated")) is None
    # …nor onto an existing user of its own subtree
    client.post(f"/users/edit/{accounts['inside']}", data={
        "username": "sa_leader_ls", "first_name": "x", "last_name": "y", "email": "i@x.invalid",
        "org_unit": str(accounts["unit_XY03T01"]), "roles": [str(accounts["admin_role"])], "active": "y"})
    assert [r.name for r in _user_roles(app, accounts["inside"])] == [R.LEADER]


def test_county_admin_cannot_place_a_new_user_in_another_county(app, client, accounts):
    login(client, "sa_admin_ls", PASSWORD)
    response = client.post("/users/add", data={
        "username": "sa_planted", "first_name": "外", "last_name": "县", "email": "p@x.invalid",
        "org_unit": str(accounts["unit_XY04"]), "roles": [str(accounts["leader_role"])], "active": "y",
        "password": PASSWORD, "conf_password": PASSWORD})
    assert "所选项不存在或不在您的管辖范围内" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(AppUser).where(AppUser.username == "sa_planted")) is None


def test_city_admin_may_grant_the_admin_role(app, client, accounts):
    login(client, "sa_admin_city", PASSWORD)
    assert f'value="{accounts["admin_role"]}"' in client.get("/users/add").get_data(as_text=True)
    response = client.post("/users/add", data={
        "username": "sa_new_admin", "first_name": "新", "last_name": "管理员", "email": "a@x.invalid",
        "org_unit": str(accounts["unit_XY04"]), "roles": [str(accounts["admin_role"])], "active": "y",
        "password": PASSWORD, "conf_password": PASSWORD})
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(AppUser).where(AppUser.username == "sa_new_admin"))
        assert [r.name for r in user.roles] == [R.ADMIN] and user.must_change_password


def test_groups_are_gone_and_grant_nothing(app, client, accounts):
    login(client, "sa_admin_city", PASSWORD)
    for url in ("/groups/list/", "/groups/add", "/permissions/list/", "/viewmenus/list/", "/permissionviews/list/"):
        assert client.get(url).status_code == 404, url
    # A group left in the database from before cannot hand a role to anyone.
    from flask_appbuilder.security.sqla.models import assoc_group_role, assoc_user_group

    sm = app.appbuilder.sm
    with app.app_context():
        group = sm.group_model(name="sa_group", label="旧用户组")
        db.session.add(group)
        db.session.flush()
        db.session.execute(assoc_group_role.insert().values(group_id=group.id, role_id=accounts["admin_role"]))
        db.session.execute(assoc_user_group.insert().values(group_id=group.id, user_id=accounts["outside"]))
        db.session.commit()
    other = app.test_client()
    login(other, "sa_leader_gs", PASSWORD)
    assert other.get("/users/list/").status_code in (302, 403)


# ---------------------------------------------------------------- the audit log

def _touch_cadre(app, unit_prefix: str) -> int:
    """Change one cadre of a county (an audited update); return the audit entry's id."""
    with app.app_context():
        cadre = db.session.scalar(select(Cadre).join(OrgUnit).where(OrgUnit.code.startswith(unit_prefix))
                                  .order_by(Cadre.id))
        cadre.phone = "13911112222" if cadre.phone != "13911112222" else "13933334444"
        db.session.commit()
        return db.session.scalar(select(func.max(AuditLog.id)).where(AuditLog.table_name == "cadre",
                                                                     AuditLog.row_id == str(cadre.id)))


def test_audit_log_shows_a_county_admin_its_subtree_only(app, client, accounts):
    inside, outside = _touch_cadre(app, "XY03"), _touch_cadre(app, "XY04")
    login(app.test_client(), "sa_leader_gs", PASSWORD)  # a login of another county's user
    login(client, "sa_admin_ls", PASSWORD)
    assert client.get(f"/auditlog/show/{inside}").status_code == 200
    assert client.get(f"/auditlog/show/{outside}").status_code == 404
    export = client.get("/auditlog/export/csv").data.decode("utf-8-sig")
    assert "13911112222" in export or "13933334444" in export
    assert "sa_leader_gs" not in export  # another county's login
    listing = client.get("/auditlog/list/?_flt_0_table_name=ab_user").get_data(as_text=True)
    assert "sa_leader_gs" not in listing and "sa_admin_ls" in listing


def test_audit_log_shows_the_city_admin_everything(app, client, accounts):
    outside = _touch_cadre(app, "XY04")
    with app.app_context():
        city_wide = db.session.scalar(select(func.max(AuditLog.id)).where(AuditLog.org_unit_id.is_(None)))
    login(client, "sa_admin_city", PASSWORD)
    assert client.get(f"/auditlog/show/{outside}").status_code == 200
    if city_wide is not None:
        assert client.get(f"/auditlog/show/{city_wide}").status_code == 200


def test_each_audited_change_carries_its_unit(app, accounts):
    with app.app_context():
        entry = db.session.get(AuditLog, _touch_cadre(app, "XY04"))
        cadre = db.session.get(Cadre, int(entry.row_id))
        assert entry.org_unit_id == cadre.org_unit_id
