"""Progress people can watch: counted page by page, one line on a terminal, a log line otherwise,
and the flows' reports moving during a long batch."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import httpx
import pytest

from scraper import progress
from scraper.config import CrawlConfig
from scraper.progress import LogLines, ProgressSnapshot, RunProgress, progress_line
from scraper.responses import FetchResult
from scraper.session import CrawlSession
from tests.test_crawl import BASE, MockSite


def test_progress_line_names_done_of_due_rate_eta_failures_and_bytes() -> None:
    snapshot = ProgressSnapshot(
        done=120,
        due=5000,
        budget=None,
        elapsed_s=120.0,
        bytes_received=3 * 2**20,
        failures={"HTTP 503": 2, "timeout": 1},
    )
    line = progress_line(snapshot)
    assert line.startswith("120/5,000 pages · 1.00/s · ETA 1h21m")
    assert "3 failed (HTTP 503: 2, timeout: 1)" in line
    assert line.endswith("3.0 MiB")


def test_a_404_listing_shows_as_removed_as_in_the_closing_line_not_as_failed() -> None:
    """A search listing past its last page answers 404: expected, not a failure."""
    tracker = RunProgress()
    listing = f"{BASE}/search/research/finasteride/9"
    tracker.fetched(FetchResult(url=listing, final_url=listing, status=404, error="http-404"))
    tracker.fetched(FetchResult(url=BASE, final_url=BASE, status=None, error="timeout"))

    snapshot = tracker.snapshot()

    assert snapshot.removed == 1
    assert snapshot.failures == {"timeout": 1}
    assert "1 removed · 1 failed (timeout: 1)" in progress_line(snapshot)


def test_eta_runs_to_the_budget_when_it_ends_the_run_first() -> None:
    snapshot = ProgressSnapshot(done=10, due=5000, budget=40, elapsed_s=10.0, bytes_received=0)
    assert snapshot.target == 40
    assert snapshot.eta_s == pytest.approx(30.0)
    assert progress_line(snapshot).startswith("10/40 pages · 1.00/s · ETA 30s")


def test_log_lines_come_once_per_interval_not_per_reading() -> None:
    now = [0.0]
    stream = io.StringIO()
    lines = LogLines(stream, interval=30.0, clock=lambda: now[0])
    reading = ProgressSnapshot(done=1, due=None, budget=None, elapsed_s=1.0, bytes_received=0)
    for second in range(1, 95):  # a reading a second for 94 s
        now[0] = float(second)
        lines.show(reading)
    logged = stream.getvalue().splitlines()
    assert len(logged) == 3
    assert all(line.startswith("crawl: 1 pages") for line in logged)


def test_not_a_terminal_gets_log_lines_at_the_configured_interval(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SCRAPER_PROGRESS_INTERVAL", "0")
    reading = ProgressSnapshot(done=3, due=9, budget=None, elapsed_s=3.0, bytes_received=10)
    with progress.terminal_display("crawl") as display, progress.show_to(display):
        assert isinstance(display, LogLines)  # pytest's output is not a terminal
        progress.show(reading)
        progress.show(reading)
    assert capsys.readouterr().err.splitlines() == ["crawl: 3/9 pages · 1.00/s · ETA 6s · 10 B"] * 2


def test_pages_are_counted_as_they_come_back_not_when_the_batch_ends(tmp_path: Path) -> None:
    site = MockSite(studies=6)
    seen_during_batch: list[int] = []

    async def go() -> RunProgress:
        config = CrawlConfig(base_url=BASE, rate=1000.0, batch_size=50)

        def handle(request: httpx.Request) -> httpx.Response:
            if request.url.path.startswith("/research/"):
                seen_during_batch.append(session.tracker.snapshot().done)
            return site.handle(request)

        transport = httpx.MockTransport(handle)
        async with CrawlSession.open(config, tmp_path / "w.duckdb", transport=transport) as session:
            await session.discover()
            session.progress()
            assert await session.run_batch() is not None  # every page in one batch
            session.finish()
            return session.tracker

    tracker = asyncio.run(go())
    assert max(seen_during_batch) > 0  # the count moved inside the one batch
    snapshot = tracker.snapshot()
    assert snapshot.done == len(seen_during_batch) >= 6
    assert snapshot.due == snapshot.done
    assert tracker.crawl_percent() == pytest.approx(100.0)


def test_readings_and_reports_keep_coming_during_a_long_step() -> None:
    readings: list[ProgressSnapshot] = []
    reports: list[ProgressSnapshot] = []
    tracker = RunProgress()

    class Recorder:
        def show(self, snapshot: ProgressSnapshot) -> None:
            readings.append(snapshot)

    async def report(snapshot: ProgressSnapshot) -> None:
        reports.append(snapshot)

    async def long_step() -> None:
        async with progress.ticking(tracker.snapshot, report, tick=0.01, report_every=0.05):
            await asyncio.sleep(0.3)  # one batch that takes many ticks

    with progress.show_to(Recorder()):
        asyncio.run(long_step())
    assert 5 <= len(readings) <= 31
    assert 2 <= len(reports) <= len(readings)


def test_a_failing_report_does_not_end_the_step() -> None:
    async def report(_snapshot: ProgressSnapshot) -> None:
        raise RuntimeError("the API is down")

    async def step() -> str:
        async with progress.ticking(RunProgress().snapshot, report, tick=0.01, report_every=0.0):
            await asyncio.sleep(0.05)
        return "done"

    assert asyncio.run(step()) == "done"


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)
def test_crawl_flow_reports_progress_while_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client  # noqa: PLC0415  # Prefect: on use
    from prefect.client.schemas.filters import (  # noqa: PLC0415
        LogFilter,
        LogFilterFlowRunId,
    )

    from replica import Replica, ReplicaServer  # noqa: PLC0415
    from scraper import flows  # noqa: PLC0415

    monkeypatch.setattr(progress, "TICK_S", 0.05)
    monkeypatch.setattr(progress, "FLOW_REPORT_INTERVAL_S", 0.3)
    stream = io.StringIO()
    # one batch of ~20 pages at 15/s: a bit over a second, many ticks, a few reports
    with (
        ReplicaServer(Replica(pages=20, seed=5)) as server,
        progress.show_to(LogLines(stream, interval=0.2)),
    ):
        state = flows.run_crawl(
            base_url=server.base_url, db=str(tmp_path / "w.duckdb"), rate=15.0, batch_size=100
        )
    assert state.is_completed(), state.message
    lines = stream.getvalue().splitlines()
    assert 2 <= len(lines) <= 40  # log lines came while it ran, and not one per reading
    assert all(line.startswith("crawl: ") and " pages · " in line for line in lines)

    run_id = state.state_details.flow_run_id
    assert run_id is not None

    async def logged() -> list[str]:
        flow_run = LogFilterFlowRunId(any_=[run_id])
        async with get_client() as client:
            return [log.message for log in await client.read_logs(LogFilter(flow_run_id=flow_run))]

    messages = asyncio.run(logged())
    assert any(message.startswith("progress: ") for message in messages)
