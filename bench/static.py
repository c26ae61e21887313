"""A replica frozen into files, and an nginx configuration that serves them like the replica does.

    site = export_static(replica, directory)          pages, robots.txt, sitemaps (+ .gz twins)
    text = nginx_config(site, port=8080, runtime_dir=run)

Benchmarks need a server fast enough not to be what they measure; a static file server is that.
The export keeps what a crawler relies on:

- every HTML page at `<path>/index.html` (pages can be both a page and the parent of others:
  `/learn/x` and `/learn/x/post-y`), robots.txt and the sitemap files at their own paths;
- each file's mtime set to the page's Last-Modified, so nginx's `Last-Modified` and its ETag
  (mtime and size) stay put until the page changes and a conditional GET answers 304;
- a gzipped twin of each compressible file (`gzip_static`): the replica gzips too, and nginx then
  serves compressed bytes without spending a core on compressing them per request;
- removed studies (404 or 410) and moved slugs (301 to the new path) as nginx `map`s.

The pages carry absolute links, so export a replica whose `base_url` is the address nginx will
listen on (`replica.base_url = f"http://127.0.0.1:{port}"` first).

    StaticExportError (ReplicaError)   the directory is not empty, or a page did not render
"""

from __future__ import annotations

import gzip
import os
import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

from replica import Replica, ReplicaError

PAGE_FILE = "index.html"  # a page's body under its own directory
GZIP_LEVEL = 5  # the replica's own level: the same bytes on the wire either way
GZIP_MIN_BYTES = 512  # as the replica: smaller bodies are not worth compressing
_FEED_ROOTS = ("/robots.txt", "/sitemap.xml")
_LOC = re.compile(rb"<loc>([^<]+)</loc>")


class StaticExportError(ReplicaError):
    """The replica could not be exported (target not empty, a page answered unexpectedly)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StaticSite:
    """What an export wrote: where, for which base URL, and the statuses nginx must answer."""

    root: Path
    base_url: str
    pages: int  # HTML pages written
    feeds: int  # robots.txt and sitemap files written
    bytes: int  # uncompressed bytes written
    gone: dict[str, int]  # removed study path -> 404 or 410
    moved: dict[str, str]  # old study path -> absolute URL it redirects to


def export_static(replica: Replica, directory: Path) -> StaticSite:
    """Write every page, robots.txt and sitemap of `replica` as it is now under `directory`."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise StaticExportError(f"export directory is not empty: {root}")
    written = 0
    pages = replica.page_paths()
    for path in pages:
        written += _export(replica, path, root / path.lstrip("/") / PAGE_FILE)
    feeds = _feed_paths(replica)
    for path in feeds:
        written += _export(replica, path, root / path.lstrip("/"))
    gone = {path: replica.render(path)[0] for path in replica.removed_paths()}
    moved = {old: replica.base_url + new for old, new in replica.redirects().items()}
    return StaticSite(
        root=root,
        base_url=replica.base_url,
        pages=len(pages),
        feeds=len(feeds),
        bytes=written,
        gone=gone,
        moved=moved,
    )


def _feed_paths(replica: Replica) -> list[str]:
    """robots.txt, the sitemap index and every child sitemap it lists (read from the index)."""
    _status, _headers, index = replica.render("/sitemap.xml")
    children = [loc.decode().removeprefix(replica.base_url) for loc in _LOC.findall(index)]
    return [*_FEED_ROOTS, *children]


def _export(replica: Replica, path: str, target: Path) -> int:
    """One file (plus its gzip twin when worth it), dated by the response's Last-Modified."""
    status, headers, body = replica.render(path)
    if status != 200:
        raise StaticExportError(f"{path} answered {status}, not 200")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)
    files = [target]
    if _compressible(headers.get("Content-Type", "")) and len(body) >= GZIP_MIN_BYTES:
        twin = target.with_name(target.name + ".gz")
        twin.write_bytes(gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0))
        files.append(twin)
    modified = headers.get("Last-Modified")
    if modified:
        stamp = parsedate_to_datetime(modified).timestamp()
        for file in files:
            os.utime(file, (stamp, stamp))
    return len(body)


def _compressible(content_type: str) -> bool:
    return content_type.startswith(("text/", "application/xml"))


# --- nginx ------------------------------------------------------------------------------------


def nginx_config(
    site: StaticSite, *, port: int, runtime_dir: Path, workers: int = 1, run_as: str | None = None
) -> str:
    """A self-contained nginx.conf (run with `nginx -c FILE -p RUNTIME_DIR`) serving `site` on
    127.0.0.1:`port`, in the foreground, logging errors only.

    One worker by default: on a small machine the crawler under test needs the other cores.
    `run_as` sets nginx's `user` (only meaningful when started as root).
    """
    runtime = Path(runtime_dir)
    user = f"user {run_as};\n" if run_as else ""
    return _NGINX_TEMPLATE.format(
        user=user,
        workers=workers,
        runtime=runtime,
        port=port,
        root=site.root,
        page_file=PAGE_FILE,
        gone=_map_lines(site.gone),
        moved=_map_lines(site.moved),
    )


def _map_lines(entries: dict[str, int] | dict[str, str]) -> str:
    return "".join(
        f"        {_quoted(key)} {_quoted(str(value))};\n" for key, value in entries.items()
    )


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Why each setting: `if_modified_since before` answers 304 to any date not older than the file
# (RFC 9110), as the replica does; `gzip_static` serves the exported .gz twins; `etag` is nginx's
# mtime-size tag; keep-alive is unlimited because a crawler reuses a few connections for everything.
_NGINX_TEMPLATE = """\
{user}worker_processes {workers};
daemon off;
pid {runtime}/nginx.pid;
error_log {runtime}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log off;
    client_body_temp_path {runtime}/client_body;
    proxy_temp_path {runtime}/proxy;
    fastcgi_temp_path {runtime}/fastcgi;
    uwsgi_temp_path {runtime}/uwsgi;
    scgi_temp_path {runtime}/scgi;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 65s;
    types {{
        text/html html;
        text/plain txt;
        application/xml xml;
        application/gzip gz;
    }}
    default_type text/html;
    charset utf-8;
    etag on;
    if_modified_since before;
    gzip off;
    gzip_static on;
    gzip_vary on;
    server_tokens off;
    map_hash_bucket_size 512;  # keys are long study paths
    map_hash_max_size 1048576;
    map $uri $gone_status {{
        default 0;
{gone}    }}
    map $uri $moved_to {{
        default "";
{moved}    }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        add_header Cache-Control no-cache;
        location / {{
            if ($moved_to) {{
                return 301 $moved_to;
            }}
            if ($gone_status = 410) {{
                return 410;
            }}
            try_files $uri/{page_file} $uri =404;
        }}
    }}
}}
"""
