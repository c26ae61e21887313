"""The freshness benchmark's output: a markdown report with its verdicts, and the chart (PNG)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from bench.freshness import RUN_BUDGET_FLOOR, DayRow, Outcome, runs_per_day

# The targets.
ORACLE_SHARE = 0.9  # the crawler's freshness, at least this share of the oracle's
NEW_WITHIN_DAYS = 1.0  # every new study in the warehouse within a simulated day
# "Well above the fixed policy": read on the scale where freshness differs, its complement. With
# most studies never changing after publication, every policy keeps ~80% of them fresh once read,
# so freshness itself spreads little (the oracle was 0.015 above the fixed policy at the live
# ratio: a fixed margin such as +0.05, this bench's first reading, no policy could meet). Well
# above is the crawler leaving at most this share of the fixed policy's stale studies stale, of
# every live study and of those that change; i.e. winning at least half of what perfect
# freshness would win over the fixed policy (stricter than half of the oracle's lead, the bound).
STALE_SHARE = 0.5
# And of what the oracle (visiting exactly the pages that changed) wins over the fixed policy,
# the crawler wins at least this share, of every live study and of the studies that change.
LEAD_WON = 0.5
POLICIES = ("crawler", "fixed", "oracle")  # in the order `lead_won` takes them


def by_policy(rows: Sequence[DayRow]) -> dict[str, list[DayRow]]:
    grouped: dict[str, list[DayRow]] = {}
    for row in rows:
        grouped.setdefault(row.policy, []).append(row)
    return grouped


def mean_freshness(
    rows: Sequence[DayRow],
    *,
    changing: bool = False,
    days: range | None = None,
    through_day: bool = False,
) -> float:
    """Over the days after the first crawl (day 0, every page new, is alike for every policy), or
    over `days`; of every live study, or of the studies that change after publication; read at
    each day's end (the issue's measure), or `through_day` (at the end of each of its runs)."""
    if days is None:
        days = range(1, max((row.day for row in rows), default=0) + 1)
    chosen = [_freshness(row, changing, through_day) for row in rows if row.day in days]
    return sum(chosen) / len(chosen) if chosen else 1.0


def _freshness(row: DayRow, changing: bool, through_day: bool) -> float:
    if through_day:
        return row.day_changing_freshness if changing else row.day_freshness
    return row.changing_freshness if changing else row.freshness


def verdicts(outcome: Outcome) -> list[tuple[str, bool | None, str]]:
    """(target, met, the figures) for each of the issue's targets; met is None where the target
    means nothing in this run (no lead to win: the oracle not above the fixed policy)."""
    policies = by_policy(outcome.rows)
    crawler, fixed, oracle = (mean_freshness(policies[name]) for name in POLICIES)
    changing = [mean_freshness(policies[name], changing=True) for name in POLICIES]
    over = [row for row in outcome.rows + outcome.quiet if row.requests > row.budget]
    waits = {name: max(r.new_wait_max_days for r in rows) for name, rows in policies.items()}
    quiet = list(outcome.quiet)
    grows = len(quiet) >= 2 and quiet[-1].mean_interval_days > quiet[1].mean_interval_days
    # Judged a change on a site where nothing changes: noise taken for a change.
    misjudged = sum(row.revisits_changed for row in quiet[1:])
    won = (lead_won(crawler, fixed, oracle), lead_won(*changing))
    stale = (stale_share(crawler, fixed), stale_share(changing[0], changing[1]))
    return [
        (
            f"crawler freshness >= {ORACLE_SHARE:.0%} of the oracle's",
            crawler >= ORACLE_SHARE * oracle,
            f"{crawler:.3f} vs {oracle:.3f} ({crawler / oracle:.1%})" if oracle else "n/a",
        ),
        (
            f"crawler freshness well above the fixed policy's: at most {STALE_SHARE:.0%} of its"
            " stale share (every live study; the studies that change)",
            all(share <= STALE_SHARE for share in stale),
            f"{stale[0]:.0%}; {stale[1]:.0%} (stale {1 - crawler:.3f} vs {1 - fixed:.3f};"
            f" {1 - changing[0]:.3f} vs {1 - changing[1]:.3f}; freshness {crawler:.3f} vs"
            f" {fixed:.3f}, the oracle's {oracle:.3f})",
        ),
        (
            f"of the oracle's lead over the fixed policy, the crawler wins >= {LEAD_WON:.0%}"
            " (every live study; the studies that change)",
            None if None in won else all(share >= LEAD_WON for share in won if share is not None),
            f"{_share(won[0])}; {_share(won[1])}"
            f" ({changing[0]:.3f} vs fixed {changing[1]:.3f}, oracle {changing[2]:.3f})",
        ),
        ("never over budget", not over, f"{len(over)} runs over"),
        (
            f"every new study in the warehouse within {NEW_WITHIN_DAYS:g} simulated day",
            waits["crawler"] <= NEW_WITHIN_DAYS,
            ", ".join(f"{name}: {wait:.1f} d at most" for name, wait in waits.items()),
        ),
        (
            "quiet site: no revisit judged a change, and the revisit interval grows",
            grows and not misjudged,
            f"{misjudged} of {sum(row.pages_fetched for row in quiet[1:]):,} visits judged a"
            f" change; interval {quiet[1].mean_interval_days:.2f} d on day 1 -> "
            f"{quiet[-1].mean_interval_days:.2f} d on day {quiet[-1].day}"
            if len(quiet) >= 2
            else "n/a",
        ),
    ]


def lead_won(crawler: float, fixed: float, oracle: float) -> float | None:
    """The share of the oracle's lead over the fixed policy that the crawler wins (it may pass
    1, or fall below 0); None where the oracle is not above the fixed policy: no lead to win."""
    return (crawler - fixed) / (oracle - fixed) if oracle > fixed else None


def stale_share(crawler: float, fixed: float) -> float:
    """The crawler's stale share (1 - freshness) as a share of the fixed policy's (0: none
    stale; 1: as many; 0 where neither has any)."""
    return (1 - crawler) / (1 - fixed) if fixed < 1 else 0.0 if crawler >= 1 else float("inf")


def _share(won: float | None) -> str:
    return "n/a" if won is None else f"{won:.0%}"


def markdown(outcome: Outcome) -> str:
    s = outcome.settings
    lines = [
        f"{s.studies} studies (seed {s.seed}), {s.days} simulated days, a budget of {s.ratio:g}"
        f" requests per live study a day, sitemap <lastmod>"
        f" {'given (true to each change)' if s.lastmods else 'not given'};"
        + (f" change rates x{s.change_rates:g};" if s.change_rates != 1 else "")
        + ("" if s.sweep else " the crawler without its sweep of the pages unread longest;")
        + f" quiet site: {s.quiet_studies} studies. Wall time {outcome.seconds / 60:.1f} min.",
        *_one_run_a_day(outcome),
        "",
        "| target | met | figures |",
        "|---|---|---|",
        *(f"| {t} | {_met(ok)} | {f} |" for t, ok, f in verdicts(outcome)),
        "",
        f"Mean freshness over days 1-{s.days - 1} (day 0, the first crawl, every page new, is"
        " alike for every policy; of every live study; of the studies that change after"
        " publication): "
        + ", ".join(
            f"{name} {mean_freshness(rows):.3f} ({mean_freshness(rows, changing=True):.3f})"
            for name, rows in by_policy(outcome.rows).items()
        )
        + "; requests spent: "
        + ", ".join(
            f"{name} {sum(r.requests for r in rows):,}"
            for name, rows in by_policy(outcome.rows).items()
        )
        + ".",
        "",
        "By week (freshness of every live study, of the studies that change in brackets):",
        "",
        markdown_weeks(outcome.rows),
        "",
        "Read through the day instead (the mean of freshness at the end of each of the day's"
        f" {_instants(outcome.rows)} runs, evenly spaced; read at the day's end alone, freshness"
        " depends on when in the day each policy's visits fall):",
        "",
        markdown_weeks(outcome.rows, through_day=True),
        "",
        *_table(outcome.rows),
        "",
        "Quiet site (change process off; noise and ticking ages on), the crawler's policy:",
        "",
        *_table(outcome.quiet),
    ]
    return "\n".join(lines) + "\n"


def markdown_weeks(rows: Sequence[DayRow], *, through_day: bool = False) -> str:
    """Mean freshness week by week and the share of the oracle's lead the crawler wins: it learns
    which pages change from their own histories, so its first weeks are not its steady state.
    The last line is every day after the first crawl."""
    policies = by_policy(rows)
    last = max((row.day for row in rows), default=0)
    lines = [
        "| days | crawler | fixed | oracle | lead won (all; changing) |",
        "|---|---:|---:|---:|---:|",
    ]
    spans = [range(start, min(start + 7, last + 1)) for start in range(1, last + 1, 7)]
    for days in [*spans, range(1, last + 1)] if len(spans) > 1 else spans:
        every, changing = (
            [
                mean_freshness(policies[name], changing=c, days=days, through_day=through_day)
                for name in POLICIES
            ]
            for c in (False, True)
        )
        lines.append(
            f"| {days[0]}-{days[-1]}{' (all)' if len(days) > 7 else ''} | "
            + " | ".join(f"{e:.3f} ({c:.3f})" for e, c in zip(every, changing, strict=True))
            + f" | {_share(lead_won(*every))}; {_share(lead_won(*changing))} |"
        )
    return "\n".join(lines)


def _instants(rows: Sequence[DayRow]) -> int:
    """How many times a day freshness was read (the runs of a day after the first)."""
    return max((len(row.through_day) for row in rows if row.day > 0), default=1)


def _met(met: bool | None) -> str:
    return "n/a" if met is None else "yes" if met else "**no**"


def _one_run_a_day(outcome: Outcome) -> list[str]:
    """A warning where the site is so small that a day is one run: the oracle then hears of a
    change only at the next day's start, while the others visit all day, so it is no bound."""
    if not any(runs_per_day(row.budget) == 1 for row in outcome.rows if row.policy == "oracle"):
        return []
    return [
        "",
        "**One run a day** (a run has at least"
        f" {RUN_BUDGET_FLOOR:,} requests): the oracle hears of changes only at each run's start,"
        " so here it is no bound, and the share of its lead means little.",
    ]


def _table(rows: Sequence[DayRow]) -> list[str]:
    head = [
        "| day | policy | requests / budget | fetched | new or changed | freshness"
        " | of changing studies | through the day | stalest page (d) | new studies pending"
        " | longest new wait (d) | mean interval (d) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    return head + [
        f"| {r.day} | {r.policy} | {r.requests:,} / {r.budget:,} | {r.pages_fetched:,}"
        f" | {r.changed:,} | {r.freshness:.3f}"
        f" | {f'{r.changing_freshness:.3f}' if r.changing else '-'}"
        f" | {r.day_freshness:.3f} ({f'{r.day_changing_freshness:.3f}' if r.changing else '-'})"
        f" | {r.stalest_days:.1f} | {r.new_pending}"
        f" | {r.new_wait_max_days:.1f} | {r.mean_interval_days:.2f} |"
        for r in rows
    ]


def chart(outcome: Outcome, path: Path) -> None:
    """Freshness per day per policy (PNG)."""
    # A Figure of its own, not pyplot's: no display, no global state; it saves through Agg.
    figure = Figure(figsize=(11, 4.5), dpi=100)
    every, changing = figure.subplots(1, 2)
    for name, rows in by_policy(outcome.rows).items():
        days = [r.day for r in rows]
        line = every.plot(days, [r.freshness for r in rows], marker="o", label=name)[0]
        changing.plot(days, [r.changing_freshness for r in rows], marker="o", label=name)
        for axes, changing_only in ((every, False), (changing, True)):
            axes.plot(
                days,
                [_freshness(r, changing_only, True) for r in rows],
                linestyle=":",
                color=line.get_color(),
                label=f"{name}, through the day",
            )
    s = outcome.settings
    hints = "with" if s.lastmods else "without"
    figure.suptitle(
        f"Freshness at each day's end (dotted: through the day): {s.studies} studies,"
        f" {s.ratio:g} requests/study/day, sitemaps {hints} lastmod"
    )
    every.set_title("every live study")
    changing.set_title("studies that change after publication")
    for axes in (every, changing):
        axes.set_xlabel("simulated day")
        axes.set_ylim(0, 1.02)
        axes.grid(alpha=0.3)
        axes.legend()
    every.set_ylabel("share stored as the site shows them")
    figure.tight_layout()
    figure.savefig(path)
