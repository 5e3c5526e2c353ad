from sqlalchemy import select

from app.extensions import db
from app.models import AppUser
from tests.conftest import login


def test_admin_adds_a_user_through_the_form(client, app):
    login(client, "admin")
    html = client.get("/users/add").get_data(as_text=True)
    assert "__None" not in html and 'name="password"' in html
    with app.app_context():
        role_id = app.appbuilder.sm.find_role("县区领导").id
        unit_id = db.session.scalar(select(AppUser).where(AppUser.username == "ld_luoshan")).org_unit_id
    r = client.post("/users/add", data={"username": "newleader", "first_name": "新", "last_name": "领导",
        "email": "n@x.invalid", "org_unit": str(unit_id), "roles": [str(role_id)], "active": "y",
        "password": "Str0ng!Passw0rd", "conf_password": "Str0ng!Passw0rd"}, follow_redirects=True)
    body = r.get_data(as_text=True)
    assert "NoneType" not in body
    with app.app_context():
        user = db.session.scalar(select(AppUser).where(AppUser.username == "newleader"))
        assert user is not None and user.org_unit_id == unit_id
        # The admin chose the password: the new user must choose its own at the first login.
        assert user.must_change_password
    login(client, "newleader", "Str0ng!Passw0rd")
    first = client.get("/cadres/list/")
    assert first.status_code == 302 and "/resetmypassword/form" in first.headers["Location"]
    with app.app_context():
        user = db.session.scalar(select(AppUser).where(AppUser.username == "newleader"))
        user.must_change_password = False
        db.session.commit()
    assert client.get("/cadres/list/").status_code == 200

def test_admin_sees_the_security_menu(client):
    login(client, "admin")
    html = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "/users/list/" in html and "/roles/list/" in html

def test_user_add_without_role_is_a_chinese_error_not_500(client):
    login(client, "admin")
    r = client.post("/users/add", data={"username": "norole", "first_name": "a", "last_name": "b",
        "email": "nr@x.invalid", "password": "Str0ng!Passw0rd", "conf_password": "Str0ng!Passw0rd"})
    assert r.status_code == 200 and "请至少选择一个角色" in r.get_data(as_text=True)
