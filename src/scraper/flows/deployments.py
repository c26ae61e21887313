"""Scheduled deployments of the crawl, served from this process by `scraper serve`.

Two schedules against the live site: a daily incremental crawl (what is due, plus sitemap changes
and new links) from Monday to Saturday and a weekly full pass on Sunday that revisits every known
page, each within a day's budget
of requests at the polite rate (a full pass larger than that is carried on by the next daily
runs, which resume it). `serve` registers them with the Prefect server named by PREFECT_API_URL
(start one with `prefect server start`) and runs their flow runs here until stopped; the
schedules and runs are then visible in the Prefect UI.

Runs never collide. Each deployment admits one run at a time (Prefect's deployment concurrency
limit): a scheduled run that comes while the last one still goes waits, shown in the UI as
AwaitingConcurrencySlot, and starts when it ends (ENQUEUE). Across the two deployments (the
weekly run while a daily one still goes, or a `scraper crawl` by hand), the warehouse's lease
(`scraper.lease`) decides: the later run ends at once as Cancelled, named "Skipped", its message
naming the run that holds the warehouse -- never Failed, never half-way.
"""

from __future__ import annotations

from typing import Any

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from scraper.flows.crawl import crawl
from scraper.urls import DEFAULT_SITE

# One run a day at 03:00 UTC, a quiet hour for the site: the weekly full pass takes Sunday's
# place. A run may claim pages for DAILY_UNTIL, so a second schedule firing within that of
# another would find the warehouse held and be Skipped (the weekly pass would be, every week).
DAILY_CRON = "0 3 * * 1-6"  # Monday to Saturday
WEEKLY_CRON = "0 3 * * 0"  # Sundays, in place of the daily run
TIMEZONE = "UTC"
# The daily run's budget: at the default 1 request/s a day holds 86,400 requests; the run keeps
# to 20 hours of them and stops claiming after 22 h, so it ends before the next one starts and
# leaves the site quiet hours a day. The weekly full pass is a daily run's worth too.
DAILY_BUDGET = 72_000
DAILY_UNTIL = "22h"
# One run of a deployment at a time; a run due meanwhile waits its turn (visible in the UI).
ONE_AT_A_TIME = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)


def deployments(
    db: str, base_url: str = DEFAULT_SITE, **crawl_options: Any
) -> list[RunnerDeployment]:
    """The deployments with their schedules (call from sync code: `to_deployment` of an async
    flow returns a coroutine inside an event loop). `crawl_options` are more parameters of the
    crawl flow for both (contact_url, rate, concurrency)."""
    common: dict[str, Any] = {"db": db, "base_url": base_url, **crawl_options}
    found = [
        crawl.to_deployment(
            name="daily-incremental",
            schedule=Cron(DAILY_CRON, timezone=TIMEZONE),
            parameters={
                **common,
                "discover_urls": True,
                "full": False,
                "budget": DAILY_BUDGET,
                "until": DAILY_UNTIL,
            },
            tags=["crawl", "daily"],
            concurrency_limit=ONE_AT_A_TIME,
            description="Pages that are due, sitemap changes and newly linked studies.",
        ),
        crawl.to_deployment(
            name="weekly-full",
            schedule=Cron(WEEKLY_CRON, timezone=TIMEZONE),
            parameters={
                **common,
                "discover_urls": True,
                "full": True,
                "budget": DAILY_BUDGET,
                "until": DAILY_UNTIL,
            },
            tags=["crawl", "weekly"],
            concurrency_limit=ONE_AT_A_TIME,
            description="Full discovery and a revisit of every known page.",
        ),
    ]
    return [d for d in found if isinstance(d, RunnerDeployment)]
