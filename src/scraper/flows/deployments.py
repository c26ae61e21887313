"""Scheduled deployments of the crawl, served from this process by `scraper serve`.

Two schedules against the live site, each run within its hour's budget of requests at the polite
rate: an hourly incremental crawl (what is due, sitemap changes and new links), and a weekly full
pass that revisits every known page. A run goes on until its hour ends, visiting pages as they
fall due (`CrawlSession` waits for them), so a page is revisited about when its interval ends and
a new study is fetched within the hour it is listed. A full pass larger than an hour is carried
on by the next hourly runs, which resume its crawl. `serve` registers the deployments with the
Prefect server named by PREFECT_API_URL (start one with `prefect server start`) and runs their
flow runs here until stopped; the schedules and runs are then visible in the Prefect UI.

Why hourly runs rather than one long daily run: each run rereads the sitemaps (a dozen requests),
so new studies wait an hour at most, not a day; a page that changes several times a day can be
revisited within the day (a run visits a page once); and a failed or stopped run loses an hour,
shown as such in the UI.

Runs never collide. Each deployment admits one run at a time (Prefect's deployment concurrency
limit): a scheduled run that comes while the last one still goes waits, shown in the UI as
AwaitingConcurrencySlot, and starts when it ends (ENQUEUE). Across the two deployments (or a
`scraper crawl` by hand), the warehouse's lease (`scraper.lease`) decides: the later run ends at
once as Cancelled, named "Skipped", its message naming the run that holds the warehouse -- never
Failed, never half-way. The schedules never fire within a run's length of each other.
"""

from __future__ import annotations

from typing import Any

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from scraper.flows.crawl import crawl
from scraper.urls import DEFAULT_SITE

# A run at the start of every hour; on Sundays at 03:00 UTC, a quiet hour for the site, the weekly
# full pass takes the hourly run's place.
HOURLY_CRONS = ("0 * * * 1-6", "0 0-2,4-23 * * 0")
WEEKLY_CRON = "0 3 * * 0"
TIMEZONE = "UTC"
# Each run's budget: at the default 1 request/s an hour holds 3,600 requests, 86,400 a day. A run
# keeps to 55 minutes of them and stops claiming after 55 minutes, so it ends before the next one
# starts (none is Skipped) and 24 runs spend at most 79,200 requests a day.
RUN_BUDGET = 3_300
RUN_UNTIL = "55m"
# One run of a deployment at a time; a run due meanwhile waits its turn (visible in the UI).
ONE_AT_A_TIME = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)


def deployments(
    db: str, base_url: str = DEFAULT_SITE, **crawl_options: Any
) -> list[RunnerDeployment]:
    """The deployments with their schedules (call from sync code: `to_deployment` of an async
    flow returns a coroutine inside an event loop). `crawl_options` are more parameters of the
    crawl flow for both (contact_url, rate, concurrency)."""
    common: dict[str, Any] = {
        "db": db,
        "base_url": base_url,
        **crawl_options,
        "discover_urls": True,
        "budget": RUN_BUDGET,
        "until": RUN_UNTIL,
    }
    found = [
        crawl.to_deployment(
            name="hourly-incremental",
            schedules=[Cron(cron, timezone=TIMEZONE) for cron in HOURLY_CRONS],
            parameters={**common, "full": False},
            tags=["crawl", "hourly"],
            concurrency_limit=ONE_AT_A_TIME,
            description="Pages that are due, sitemap changes and newly linked studies.",
        ),
        crawl.to_deployment(
            name="weekly-full",
            schedule=Cron(WEEKLY_CRON, timezone=TIMEZONE),
            parameters={**common, "full": True},
            tags=["crawl", "weekly"],
            concurrency_limit=ONE_AT_A_TIME,
            description="Full discovery and a revisit of every known page (the hourly runs"
            " carry it on).",
        ),
    ]
    return [d for d in found if isinstance(d, RunnerDeployment)]
