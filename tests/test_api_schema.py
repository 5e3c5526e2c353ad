"""API fuzzing: schemathesis generates requests from the app's own OpenAPI spec
(/api/v1/_openapi) and sends them in-process (WSGI) with an admin JWT; no answer may be a 5xx.

The fuzzer writes and deletes at random, so it runs on a database of its own (a copy of the
golden register), never on the session's shared demo database."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.conftest import api_token
from tests.reliability_support import clone_database, golden_template, in_process_app


@pytest.fixture(scope="module")
def fuzz_app(request, tmp_path_factory):
    template = golden_template(request.config, tmp_path_factory.getbasetemp())
    with clone_database(template, tmp_path_factory.mktemp("fuzz")) as url:
        application = in_process_app(url)
        yield application
        from app.extensions import db

        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def auth(fuzz_app) -> dict:
    return api_token(fuzz_app.test_client(), "admin")


@pytest.fixture(scope="module")
def api_schema(fuzz_app, auth):
    return schemathesis.openapi.from_wsgi("/api/v1/_openapi", fuzz_app, headers=auth)


def operations(api_schema):
    return [result.ok() for result in api_schema.get_all_operations()]


RANDOM = os.environ.get("FUZZ_RANDOM") == "1"  # the suite is repeatable; FUZZ_RANDOM=1 explores new cases
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 5}  # per operation: keeps the run under a minute


def fuzz(operation, mode, headers: dict, seen: dict):
    """A hypothesis test calling one operation with the cases schemathesis generates for it."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES[mode], deadline=None, database=None, derandomize=not RANDOM,
              suppress_health_check=list(HealthCheck))
    def call(case):
        response = case.call(headers=headers)
        seen.setdefault(operation.label, []).append(response.status_code)
        assert response.status_code < 500, (case.method, case.formatted_path, case.query, case.body,
                                            response.status_code, response.text[:300])
        case.validate_response(response, checks=(not_a_server_error,))

    return call


# schemathesis' own pytest plugin does not run under pytest 9 (it reads Function._nodeid), so the
# cases are drawn from its strategies with hypothesis directly: same generator, same checks.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_request_from_the_spec_gets_a_server_error(api_schema, auth, mode):
    seen: dict[str, list[int]] = {}
    for operation in operations(api_schema):
        has_input = bool(operation.body) or any(p.location.value == "query" for p in operation.iter_parameters())
        if mode is GenerationMode.NEGATIVE and not has_input:
            continue  # only a path key to spoil: the router answers 404 (tested below), nothing to fuzz
        # The login endpoints are called without the token (as a client would call them).
        headers = {} if "/security/" in operation.path else dict(auth)

        call = fuzz(operation, mode, headers, seen)
        try:
            call()
        except Unsatisfiable:  # e.g. no invalid value exists for a parameter-free GET
            continue
    assert len(seen) >= 10, seen
    print(mode.value, {label: sorted(set(codes)) for label, codes in seen.items()})


@pytest.mark.parametrize("path", ["/api/v1/cadres/99999999999999999999", "/api/v1/cadres/2147483648",
                                  "/api/v1/orgunits/99999999999999999999", "/api/v1/results/2147483648"])
def test_a_key_out_of_range_is_not_found(fuzz_app, auth, path):
    client = fuzz_app.test_client()
    assert client.get(path, headers=auth).status_code == 404
    if "results" not in path:
        assert client.delete(path, headers=auth).status_code == 404


@pytest.mark.parametrize("q", ["-1e+16", "(page:-1)", "(page_size:-5)", "(((", "!x"])
def test_a_malformed_query_argument_is_a_bad_request(fuzz_app, auth, q):
    response = fuzz_app.test_client().get("/api/v1/cadres/", query_string={"q": q}, headers=auth)
    assert response.status_code == 400


@pytest.mark.parametrize("path,field,value", [
    ("/api/v1/cadres/", "org_unit", {"x": 1}),  # was a 500: marshmallow-sqlalchemy built OrgUnit(x=1)
    ("/api/v1/orgunits/", "parent", {"x": 1}),
    ("/api/v1/cadres/", "org_unit", "abc"),  # was a 500 on PostgreSQL: text sent to an INTEGER key
    ("/api/v1/orgunits/", "parent", "abc"),
    ("/api/v1/cadres/", "org_unit", 2**63),  # was a 500: out of the INTEGER range
    ("/api/v1/cadres/", "org_unit", [1]),
    ("/api/v1/cadres/", "org_unit", True),
    ("/api/v1/cadres/", "org_unit", 1.5),
    ("/api/v1/cadres/", "org_unit", 987654),  # an unknown id: refused by the service check
    ("/api/v1/orgunits/", "parent", 987654),
])
def test_a_relation_field_that_names_no_unit_is_a_bad_request(fuzz_app, auth, path, field, value):
    body = {"code": "FZ1", "name": "模糊", field: value}
    body.update({"post_category": "乡镇党政副职"} if "cadres" in path else {"kind": "township"})
    response = fuzz_app.test_client().post(path, json=body, headers=auth)
    assert response.status_code in (400, 422)
    message = response.get_json()["message"]
    assert "整数" in message[field][0] if response.status_code == 422 else "单位" in message


@pytest.mark.parametrize("value", [{"x": 1}, "abc", 2**40])
def test_an_edit_with_a_relation_that_is_not_an_id_is_refused_in_chinese(fuzz_app, auth, value):
    client = fuzz_app.test_client()
    pk = client.get("/api/v1/cadres/", headers=auth).get_json()["ids"][0]
    response = client.put(f"/api/v1/cadres/{pk}", json={"org_unit": value}, headers=auth)
    assert response.status_code == 422
    assert "整数" in response.get_json()["message"]["org_unit"][0]


def test_login_without_provider_is_a_bad_request(fuzz_app):
    response = fuzz_app.test_client().post("/api/v1/security/login", json={"username": "x", "password": "y"})
    assert response.status_code == 400
    assert "provider" in response.get_json()["message"]
    assert "认证方式" in response.get_json()["message"]["provider"][0]


def test_the_spec_says_the_login_needs_a_provider(api_schema):
    body = api_schema.raw_schema["paths"]["/api/v1/security/login"]["post"]["requestBody"]
    assert "provider" in body["content"]["application/json"]["schema"]["required"]


def test_the_spec_lists_the_design_endpoints(api_schema):
    paths = set(api_schema.raw_schema["paths"])
    assert {"/api/v1/cadres/", "/api/v1/cadres/{pk}", "/api/v1/orgunits/", "/api/v1/results/"} <= paths


@pytest.mark.parametrize("username", ["\x00", "ad\x00min"])
def test_a_nul_character_in_an_api_body_is_a_bad_request(fuzz_app, username):
    response = fuzz_app.test_client().post("/api/v1/security/login",
                                           json={"username": username, "password": "x", "provider": "db"})
    assert response.status_code == 400
