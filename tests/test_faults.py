"""The replica's fault mode and layout switch, and crawls that must survive them.

Small worlds (20-40 pages), short client timeouts and high fault rates keep these fast.
"""

from __future__ import annotations

import httpx

from scraper.parse import parse_study
from scraper.replica import Replica, ReplicaServer

LOST_FIELDS = ("published", "venue", "tldr", "summary")
KEPT_FIELDS = ("title", "authors", "image_url", "discussion_url", "source_url", "sections")


# --- broken layout (the drift test's switch) ------------------------------------------------
def test_break_layout_loses_header_fields_on_every_study_page_and_changes_bytes() -> None:
    replica = Replica(pages=40, seed=7)
    paths = replica.study_paths()
    before = {path: replica.render(path) for path in paths}
    replica.break_layout(True)
    assert replica.layout_broken
    for path in paths:
        status, headers, body = replica.render(path)
        assert status == 200
        assert headers["ETag"] != before[path][1]["ETag"]
        assert headers["Last-Modified"] != before[path][1]["Last-Modified"]
        record, truth = parse_study(body, replica.base_url + path), replica.truth(path)
        assert truth is not None
        assert all(getattr(record, name) is None for name in LOST_FIELDS), path
        assert all(getattr(record, n) == getattr(truth, n) for n in KEPT_FIELDS), path
    replica.break_layout(False)
    assert [replica.render(path)[2] for path in paths] == [before[p][2] for p in paths]


def test_break_layout_answers_200_to_conditional_get_and_over_http() -> None:
    replica = Replica(pages=20, seed=3)
    path = replica.study_paths()[0]
    with ReplicaServer(replica) as server, httpx.Client(base_url=server.base_url) as client:
        first = client.get(path)
        validators = {
            "If-None-Match": first.headers["ETag"],
            "If-Modified-Since": first.headers["Last-Modified"],
        }
        assert client.get(path, headers=validators).status_code == 304
        assert client.post("/_replica/layout?broken=1").json() == {"broken": True}
        broken = client.get(path, headers=validators)
        assert broken.status_code == 200
        assert parse_study(broken.content, server.base_url + path).tldr is None
        assert client.post("/_replica/layout?broken=0").json() == {"broken": False}
        assert client.get(path).content == first.content
