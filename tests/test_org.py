"""The org tree: moving a unit through the form or the API keeps every descendant's path right."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import OrgUnit
from app.org.units import create_unit
from tests.conftest import api_token, login


def _unit(code):
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def _tree(app, prefix):
    with app.app_context():
        root = create_unit(f"{prefix}T", "移动测试镇", "township", _unit("XY05"))
        village = create_unit(f"{prefix}V", "移动测试村", "village", root)
        return root.id, village.id


def test_moving_a_unit_in_the_form_moves_its_subtree(client, app):
    town_id, village_id = _tree(app, "MVF")
    with app.app_context():
        target = _unit("XY06")
        target_id, target_path = target.id, target.path
    login(client, "admin")
    client.post(f"/orgunits/edit/{town_id}", data={"code": "MVFT", "name": "移动测试镇", "kind": "township",
                                                  "parent": str(target_id), "sort_order": "0", "active": "y"})
    with app.app_context():
        assert db.session.get(OrgUnit, village_id).path == f"{target_path}{town_id}/{village_id}/"


def test_a_unit_cannot_move_under_its_own_descendant(client, app):
    town_id, village_id = _tree(app, "MVC")
    with app.app_context():
        before = db.session.get(OrgUnit, town_id).path
    login(client, "admin")
    response = client.post(f"/orgunits/edit/{town_id}", follow_redirects=True,
                           data={"code": "MVCT", "name": "移动测试镇", "kind": "township",
                                 "parent": str(village_id), "sort_order": "0", "active": "y"})
    assert "不能把单位移动到它自己或它的下级单位之下" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(OrgUnit, town_id).path == before


def test_moving_through_the_api_moves_the_subtree(client, app):
    town_id, village_id = _tree(app, "MVA")
    with app.app_context():
        target = _unit("XY07")
        target_id, target_path = target.id, target.path
    headers = api_token(client, "admin")
    response = client.put(f"/api/v1/orgunits/{town_id}", json={"parent": target_id}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(OrgUnit, village_id).path == f"{target_path}{town_id}/{village_id}/"


def test_county_admin_cannot_move_a_unit_out_of_its_county(client, app):
    town_id, _ = _tree(app, "MVS")
    from app.org.users import create_user

    with app.app_context():
        create_user("admin_xinxian", "Str0ng!Passw0rd", "系统管理员", "XY05")
        outside = _unit("XY06").id
        before = db.session.get(OrgUnit, town_id).parent_id
    headers = api_token(client, "admin_xinxian", "Str0ng!Passw0rd")
    response = client.put(f"/api/v1/orgunits/{town_id}", json={"parent": outside}, headers=headers)
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(OrgUnit, town_id).parent_id == before
