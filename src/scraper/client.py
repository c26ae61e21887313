"""The crawler's one configured `httpx.AsyncClient`: identity, timeouts, pool, no cookies.

Everything that is the same for every request lives here; what to do with each answer (redirects,
retries, caps) is the fetcher's.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from scraper.config import CrawlConfig

log = logging.getLogger(__name__)

ACCEPT_HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"


def make_client(
    config: CrawlConfig, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The one configured client: identity, timeouts, keep-alive pool, compression, no redirects.

    Redirects are followed by the fetcher so each hop is checked against the allowed hosts and
    robots.txt. `trust_env=False`: proxies and certificates come from here, not from whatever the
    environment of a worker happens to hold. `transport` is for tests (`httpx.MockTransport`).
    """
    limits = httpx.Limits(
        max_connections=config.concurrency * 2,
        max_keepalive_connections=config.concurrency,
        keepalive_expiry=30.0,
    )
    return CookielessClient(
        headers={"User-Agent": config.user_agent, "Accept": ACCEPT_HTML, "Accept-Language": "en"},
        timeout=httpx.Timeout(
            connect=config.connect_timeout_s,
            read=config.read_timeout_s,
            write=config.read_timeout_s,
            pool=config.pool_timeout_s,
        ),
        limits=limits,
        follow_redirects=False,
        trust_env=False,
        transport=transport,
        event_hooks={"response": [_log_response]},
    )


class CookielessClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` that keeps no cookies: a `Set-Cookie` is archived, never sent back.

    The crawl is stateless on purpose: a page is fetched the same way whichever worker or shard
    fetches it, and whatever other pages set before. httpx has no switch for it
    (encode/httpx#2992), and takes every response apart for cookies through urllib's request and
    response wrappers: 7% of the CPU of a recrawl answered 304 (sampled with py-spy).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._none = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._none

    @cookies.setter
    def cookies(self, _cookies: object) -> None:
        raise TypeError("the crawler's client keeps no cookies")


class _NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        """Nothing is kept."""


async def _log_response(response: httpx.Response) -> None:
    log.debug("%s %s -> %s", response.request.method, response.request.url, response.status_code)
