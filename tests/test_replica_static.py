"""The replica exported to files (what the bench serves with nginx) answers like the replica."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

from bench.static import (
    PAGE_FILE,
    StaticExportError,
    StaticSite,
    export_static,
    nginx_config,
)
from replica import Replica

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Replica, StaticSite, int]:
    port = _free_port()
    replica = Replica(pages=30, seed=3)
    replica.advance(60)  # some studies removed, some moved
    replica.base_url = f"http://127.0.0.1:{port}"
    site = export_static(replica, tmp_path_factory.mktemp("static") / "site")
    return replica, site, port


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_every_page_and_feed_is_a_file_dated_by_its_last_modified(
    exported: tuple[Replica, StaticSite, int],
) -> None:
    replica, site, _ = exported
    assert site.pages == len(replica.page_paths())
    for path in [*replica.page_paths()[:20], "/robots.txt", "/sitemap.xml"]:
        file = site.root / path.lstrip("/")
        file = file / PAGE_FILE if file.is_dir() else file
        _status, headers, body = replica.render(path)
        assert file.read_bytes() == body
        stamp = parsedate_to_datetime(headers["Last-Modified"]).timestamp()
        assert file.stat().st_mtime == stamp


def test_compressible_files_have_gzip_twins(exported: tuple[Replica, StaticSite, int]) -> None:
    replica, site, _ = exported
    page = site.root / replica.study_paths()[0].lstrip("/") / PAGE_FILE
    assert page.with_name(PAGE_FILE + ".gz").exists()
    gzipped_sitemaps = list(site.root.glob("sitemaps/*.xml.gz"))
    assert gzipped_sitemaps  # the replica's own .xml.gz sitemap, served as it is
    assert not list(site.root.glob("sitemaps/*.xml.gz.gz"))


def test_removed_and_moved_studies_go_into_the_config(
    exported: tuple[Replica, StaticSite, int], tmp_path: Path
) -> None:
    replica, site, port = exported
    assert site.gone.keys() == set(replica.removed_paths())
    assert site.moved
    text = nginx_config(site, port=port, runtime_dir=tmp_path)
    assert f"listen 127.0.0.1:{port};" in text
    for old, new in site.moved.items():
        assert f'"{old}" "{new}";' in text


def test_export_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "left-over").write_text("x")
    with pytest.raises(StaticExportError, match="not empty"):
        export_static(Replica(pages=2, seed=1), tmp_path)


@pytest.fixture(scope="module")
def nginx_url(
    exported: tuple[Replica, StaticSite, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if NGINX is None:
        pytest.skip("nginx is not installed")
    _, site, port = exported
    runtime = tmp_path_factory.mktemp("nginx")
    # Under root, nginx workers would drop to `nobody`, who cannot read pytest's 0700 tmp dirs.
    run_as = "root" if os.geteuid() == 0 else None
    conf = runtime / "nginx.conf"
    conf.write_text(nginx_config(site, port=port, runtime_dir=runtime, run_as=run_as))
    process = subprocess.Popen(
        [NGINX, "-c", str(conf), "-p", str(runtime), "-e", str(runtime / "error.log")],
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(base + "/robots.txt", timeout=1.0)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.slow
def test_nginx_answers_like_the_replica(
    exported: tuple[Replica, StaticSite, int], nginx_url: str
) -> None:
    replica, site, _ = exported
    with httpx.Client(base_url=nginx_url, timeout=5.0) as client:
        for path in [replica.study_paths()[0], "/robots.txt", "/sitemap.xml", "/"]:
            response = client.get(path)
            status, headers, body = replica.render(path)
            assert (response.status_code, response.content) == (status, body)
            assert response.headers["content-type"] == headers["Content-Type"]
            assert response.headers["last-modified"] == headers["Last-Modified"]
            again = client.get(path, headers={"If-None-Match": response.headers["etag"]})
            assert again.status_code == 304
        for old, new in site.moved.items():
            moved = client.get(old)
            assert (moved.status_code, moved.headers["location"]) == (301, new)
        for path, status in site.gone.items():
            assert client.get(path).status_code == status
        assert client.get("/research/never-there-zz9").status_code == 404
