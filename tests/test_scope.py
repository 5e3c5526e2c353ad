"""Role x endpoint x in/out-of-scope: who may see and change which rows."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Cadre, CareerRecord, OrgUnit
from tests.conftest import PASSWORD, api_token, login


@pytest.fixture()
def rows(app):
    """A cadre, unit and career record inside 罗山县 (XY03) and outside it (光山县, XY04)."""
    with app.app_context():
        def first_cadre(prefix):
            return db.session.scalar(
                select(Cadre).join(OrgUnit).where(OrgUnit.code.startswith(prefix)).order_by(Cadre.id)
            )
        inside, outside = first_cadre("XY03T"), first_cadre("XY04T")
        unit_in = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY03T02"))
        unit_out = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY04T02"))
        rec_in = db.session.scalar(select(CareerRecord).where(CareerRecord.cadre_id == inside.id))
        rec_out = db.session.scalar(select(CareerRecord).where(CareerRecord.cadre_id == outside.id))
        return {
            "in": inside.id, "out": outside.id, "in_code": inside.code, "out_code": outside.code,
            "unit_in": unit_in.id, "unit_out": unit_out.id, "rec_in": rec_in.id, "rec_out": rec_out.id,
        }


def cadre_exists(app, pk) -> bool:
    with app.app_context():
        return db.session.get(Cadre, pk) is not None


def cadre_unit(app, pk) -> int:
    with app.app_context():
        return db.session.get(Cadre, pk).org_unit_id


READERS = ["ld_luoshan", "dcy_luoshan", "kpy_luoshan"]


@pytest.mark.parametrize("user", READERS)
@pytest.mark.parametrize("path", ["/cadres/show/{pk}", "/careerrecords/show/{rec}", "/orgunits/show/{unit}"])
def test_show_in_scope_200_out_of_scope_404(client, rows, user, path):
    login(client, user)
    inside = path.format(pk=rows["in"], rec=rows["rec_in"], unit=rows["unit_in"])
    outside = path.format(pk=rows["out"], rec=rows["rec_out"], unit=rows["unit_out"])
    assert client.get(inside).status_code == 200
    assert client.get(outside).status_code == 404


def test_missing_row_is_404_like_out_of_scope(client, rows):
    login(client, "kpy_luoshan")
    assert client.get("/cadres/show/99999999").status_code == 404
    assert client.get(f"/cadres/show/{rows['out']}").status_code == 404


@pytest.mark.parametrize("user", READERS + ["ld_guangshan"])
def test_list_shows_only_own_subtree(client, rows, user):
    login(client, user)
    own, other = ("XY04", "XY03") if user == "ld_guangshan" else ("XY03", "XY04")
    body = client.get("/cadres/list/?psize_CadreView=100").get_data(as_text=True)
    listing = client.get("/api/v1/cadres/?q=(page_size:200)", headers=api_token(client, user)).get_json()
    units = {item["org_unit"]["code"] for item in listing["result"]}
    assert units and all(code.startswith(own) for code in units)
    assert listing["count"] == _count_in(client.application, own)
    in_code, out_code = (rows["out_code"], rows["in_code"]) if user == "ld_guangshan" else (rows["in_code"], rows["out_code"])
    assert in_code in body and out_code not in body


def _count_in(app, prefix):
    from sqlalchemy import func
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(Cadre).join(OrgUnit).where(OrgUnit.code.startswith(prefix))
        )


def test_city_admin_sees_every_county(client, rows):
    login(client, "admin")
    assert client.get(f"/cadres/show/{rows['in']}").status_code == 200
    assert client.get(f"/cadres/show/{rows['out']}").status_code == 200


def test_unit_filter_narrows_inside_scope_only(client, rows):
    login(client, "kpy_luoshan")
    body = client.get("/cadres/list/?unit=XY04&psize_CadreView=100").get_data(as_text=True)
    assert rows["out_code"] not in body and rows["in_code"] not in body


@pytest.mark.parametrize("user", ["kpy_luoshan", "admin"])
def test_unit_choice_is_the_scope_narrowed_to_the_chosen_subtree(client, rows, user):
    """`?unit=` and the scope are one filter (UnitScopeChoiceFilter): a unit inside the scope
    lists exactly its subtree, on the screen and in the API; one outside it, or an unknown
    code, lists nothing; an admin (no scope) gets the chosen subtree too."""
    login(client, user)
    headers = api_token(client, user)
    listing = client.get("/api/v1/cadres/?q=(page_size:200)&unit=XY03T02", headers=headers).get_json()
    units = {item["org_unit"]["code"] for item in listing["result"]}
    assert units and all(code.startswith("XY03T02") for code in units)
    assert listing["count"] == _count_in(client.application, "XY03T02")
    body = client.get("/cadres/list/?unit=XY03T02&psize_CadreView=100").get_data(as_text=True)
    assert rows["out_code"] not in body
    for code in ("NOSUCH",) + (("XY04",) if user != "admin" else ()):
        listing = client.get(f"/api/v1/cadres/?q=(page_size:200)&unit={code}", headers=headers).get_json()
        assert listing["count"] == 0 and listing["result"] == []
    if user == "admin":
        listing = client.get("/api/v1/cadres/?q=(page_size:200)&unit=XY04", headers=headers).get_json()
        assert listing["count"] == _count_in(client.application, "XY04")


def test_staff_cannot_edit_or_delete_out_of_scope(client, app, rows):
    login(client, "kpy_luoshan")
    assert client.get(f"/cadres/edit/{rows['out']}").status_code == 404
    assert client.post(f"/cadres/edit/{rows['out']}", data={"name": "篡改"}).status_code == 404
    assert client.post(f"/cadres/delete/{rows['out']}").status_code == 404
    assert cadre_exists(app, rows["out"])


@pytest.mark.parametrize("path", ["/cadres/action_post", "/careerrecords/action_post"])
def test_list_action_cannot_reach_out_of_scope_rows(client, app, rows, path):
    login(client, "kpy_luoshan")
    pk = rows["out"] if path.startswith("/cadres") else rows["rec_out"]
    response = client.post(path, data={"action": "muldelete", "rowid": [str(pk)]})
    assert response.status_code == 404
    assert cadre_exists(app, rows["out"])
    with app.app_context():
        assert db.session.get(CareerRecord, rows["rec_out"]) is not None


def test_single_row_action_route_is_scoped(client, app, rows):
    login(client, "kpy_luoshan")
    assert client.post(f"/cadres/action/muldelete/{rows['out']}").status_code == 404
    assert cadre_exists(app, rows["out"])


@pytest.mark.parametrize("user", ["ld_luoshan", "dcy_luoshan"])
def test_read_only_roles_change_nothing(client, app, rows, user):
    login(client, user)
    before = cadre_unit(app, rows["in"])
    for response in (
        client.post(f"/cadres/edit/{rows['in']}", data={"name": "改名"}),
        client.post(f"/cadres/delete/{rows['in']}"),
        client.post("/cadres/action_post", data={"action": "muldelete", "rowid": [str(rows["in"])]}),
    ):
        assert response.status_code in (302, 403)
    assert cadre_exists(app, rows["in"]) and cadre_unit(app, rows["in"]) == before
    headers = api_token(client, user)
    assert client.put(f"/api/v1/cadres/{rows['in']}", json={"name": "改名"}, headers=headers).status_code == 403
    assert client.delete(f"/api/v1/cadres/{rows['in']}", headers=headers).status_code == 403


def test_liaison_cannot_reach_the_register(client, rows):
    login(client, "llr_luoshan_t01")
    assert client.get("/cadres/list/").status_code in (302, 403)
    assert client.get(f"/cadres/show/{rows['in']}").status_code in (302, 403)
    headers = api_token(client, "llr_luoshan_t01")
    assert client.get("/api/v1/cadres/", headers=headers).status_code == 403


def test_export_holds_the_scope(client, rows):
    login(client, "kpy_luoshan")
    body = client.get("/cadres/export/csv").get_data().decode("utf-8-sig")
    assert rows["in_code"] in body and rows["out_code"] not in body


# --- REST API: reads and writes ----------------------------------------------------

def test_api_get_out_of_scope_is_404(client, rows):
    headers = api_token(client, "kpy_luoshan")
    assert client.get(f"/api/v1/cadres/{rows['in']}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/cadres/{rows['out']}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/orgunits/{rows['unit_out']}", headers=headers).status_code == 404


def test_api_cadre_items_carry_id_code_name_and_unit_code(client, rows):
    headers = api_token(client, "admin")
    item = client.get(f"/api/v1/cadres/{rows['in']}", headers=headers).get_json()["result"]
    assert item["code"] == rows["in_code"] and item["name"] and item["org_unit"]["code"].startswith("XY03")
    listed = client.get("/api/v1/cadres/", headers=headers).get_json()
    first = listed["result"][0]
    assert {"id", "code", "name"} <= set(first) and "code" in first["org_unit"]


def test_api_post_into_out_of_scope_unit_is_refused(client, app, rows):
    headers = api_token(client, "kpy_luoshan")
    payload = {"code": "T-API-1", "name": "越权新增", "gender": "男", "org_unit": rows["unit_out"],
               "post_category": "乡镇党政副职"}
    response = client.post("/api/v1/cadres/", json=payload, headers=headers)
    assert response.status_code == 400
    assert "管辖范围" in response.get_json()["message"]
    with app.app_context():
        assert db.session.scalar(select(Cadre).where(Cadre.code == "T-API-1")) is None
    payload["org_unit"] = rows["unit_in"]
    payload["code"] = "T-API-2"
    created = client.post("/api/v1/cadres/", json=payload, headers=headers)
    assert created.status_code == 201
    assert client.delete(f"/api/v1/cadres/{created.get_json()['id']}", headers=headers).status_code == 200


def test_api_put_cannot_move_a_cadre_out_of_scope(client, app, rows):
    headers = api_token(client, "kpy_luoshan")
    response = client.put(f"/api/v1/cadres/{rows['in']}", json={"org_unit": rows["unit_out"]}, headers=headers)
    assert response.status_code == 400
    assert cadre_unit(app, rows["in"]) != rows["unit_out"]
    assert client.put(f"/api/v1/cadres/{rows['out']}", json={"name": "x"}, headers=headers).status_code == 404
    assert client.delete(f"/api/v1/cadres/{rows['out']}", headers=headers).status_code == 404
    assert cadre_exists(app, rows["out"])


def test_form_cannot_move_a_cadre_out_of_scope(client, app, rows):
    login(client, "kpy_luoshan")
    client.post(f"/cadres/edit/{rows['in']}", data={"org_unit": str(rows["unit_out"]), "name": "x"})
    assert cadre_unit(app, rows["in"]) != rows["unit_out"]


def test_lookup_returns_only_units_in_scope(client):
    login(client, "kpy_luoshan")
    data = client.get("/lookup/units?q=").get_json()["results"]
    with client.application.app_context():  # by path: other tests add units with codes of their own
        root = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY03"))
        paths = dict(db.session.execute(select(OrgUnit.id, OrgUnit.path)).all())
    assert data and all(paths[r["id"]].startswith(root.path) for r in data)
    assert client.get("/lookup/units?q=光山").get_json()["results"] == []


def test_fab_file_download_route_is_closed(client):
    login(client, "admin")
    assert client.get("/cadres/download/anything.txt").status_code == 404


def test_bad_paging_argument_is_a_400_not_a_500(client):
    login(client, "kpy_luoshan")
    assert client.get("/cadres/list/?page_CadreView=abc").status_code == 400


def test_user_screens_are_scoped_for_a_county_admin(client, app):
    from app.org.users import create_user

    with app.app_context():
        create_user("admin_luoshan", "Str0ng!Passw0rd", "系统管理员", "XY03")  # resets the demo password
        other = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY04"))
        from app.models import AppUser
        outsider = db.session.scalar(select(AppUser).where(AppUser.org_unit_id == other.id))
    try:
        login(client, "admin_luoshan", "Str0ng!Passw0rd")
        body = client.get("/users/list/").get_data(as_text=True)
        assert "ld_luoshan" in body and "ld_guangshan" not in body
        assert client.get(f"/users/show/{outsider.id}").status_code == 404
        assert client.get("/users/userinfo/").status_code == 200
    finally:
        with app.app_context():  # the demo password again, for the tests that log in after this one
            create_user("admin_luoshan", PASSWORD, "系统管理员", "XY03")


def test_city_scope_is_the_whole_tree_only_while_the_city_is_the_only_root(app):
    """covers_whole_tree: a city user's filter becomes "has a unit" (the same rows, as an index
    range) only while the city is the only root; a second root brings back the subtree test."""
    from app.security.scope import apply_cadre_scope, covers_whole_tree

    with app.app_context():
        city = db.session.scalar(select(OrgUnit).where(OrgUnit.parent_id.is_(None)))
        county = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY03"))
        everyone = set(db.session.scalars(select(Cadre.id)))
        with app.test_request_context():
            assert covers_whole_tree(city.path) and not covers_whole_tree(county.path)
            assert set(db.session.scalars(apply_cadre_scope(select(Cadre.id), Cadre.id, prefix=city.path))) == everyone
        other = OrgUnit(code="ZZROOT", name="另一城市", kind="市")
        db.session.add(other)
        db.session.flush()
        other.path = f"/{other.id}/"
        stray = Cadre(code="ZZ0001", name="外市干部", org_unit_id=other.id, status="在职")
        db.session.add(stray)
        db.session.flush()
        try:
            with app.test_request_context():
                from flask import g

                g.pop("whole_tree", None)  # the same app context as above: forget its answer
                assert not covers_whole_tree(city.path)
                seen = set(db.session.scalars(apply_cadre_scope(select(Cadre.id), Cadre.id, prefix=city.path)))
                assert seen == everyone and stray.id not in seen
        finally:
            db.session.rollback()


def test_a_subtree_is_its_paths_prefix_and_nothing_next_to_it(app, ctx):
    """scope.path_under (on SQLite a range of the path index as well as the LIKE): a unit's
    subtree holds its descendants, never a unit whose id only begins with the same digits
    (/1/2/ against /1/20/), nor the parent or a sibling."""
    from app.security.scope import subtree_ids

    paths = dict(db.session.execute(select(OrgUnit.path, OrgUnit.id)).all())
    assert paths
    for path in list(paths)[:60]:
        expected = {i for p, i in paths.items() if p.startswith(path)}
        assert set(db.session.scalars(subtree_ids(path)).all()) == expected
    city = min(paths, key=len)
    twins = [(p, q) for p in paths for q in paths if q != p and q.startswith(p[:-1]) and not q.startswith(p)]
    assert twins  # the demo has ids like 2 and 20 under one parent
    p, q = twins[0]
    assert paths[q] not in set(db.session.scalars(subtree_ids(p)).all())
    assert set(db.session.scalars(subtree_ids(city)).all()) == set(paths.values())  # the one root
