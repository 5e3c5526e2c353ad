"""Lists issue a fixed number of queries, whatever the page holds (no N+1)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from app.extensions import db
from tests.conftest import login


class QueryCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._hit)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._hit)

    def _hit(self, *args, **kwargs):
        self.count += 1


def count_queries(app, client, url) -> int:
    with app.app_context():
        engine = db.engine
    with QueryCounter(engine) as counter:
        assert client.get(url).status_code == 200
    return counter.count


@pytest.mark.parametrize("base", ["/cadres/list/", "/careerrecords/list/", "/rewardspenalties/list/",
                                  "/orgunits/list/", "/users/list/"])
def test_list_query_count_does_not_grow_with_page_size(app, client, base):
    login(client, "admin")
    view = {"/cadres/list/": "CadreView", "/careerrecords/list/": "CareerRecordView",
            "/rewardspenalties/list/": "RewardPenaltyView", "/orgunits/list/": "OrgUnitView",
            "/users/list/": "AppUserView"}[base]
    count_queries(app, client, base)  # warm caches
    small = count_queries(app, client, f"{base}?psize_{view}=5")
    large = count_queries(app, client, f"{base}?psize_{view}=100")
    assert large == small, (small, large)
    assert small <= 15


def test_cadre_list_page_is_small(app, client):
    login(client, "admin")
    html = client.get("/cadres/list/?psize_CadreView=100").get_data()
    assert len(html) < 400_000
    assert html.count(b"<option") < 50  # no select box listing a whole related table
