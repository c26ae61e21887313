"""A deterministic synthetic copy of the research site, for tests, the demo and benchmarks.

    from replica import Replica, ReplicaServer
    replica = Replica(pages=60, seed=7)
    with ReplicaServer(replica) as server:
        ...  # crawl server.base_url; compare with replica.truth(path)

Layers: `world` (state and time) -> `views` (what each page shows) -> `markup` (three HTML
renderings of a view) and `truth` (the `StudyPage` record of a view) -> `site.Replica` (paths,
responses, validators) -> `server.ReplicaServer` (HTTP on 127.0.0.1). `cli.replica_app` is the
`scraper replica` command group. `faults` is the fault mode (`Replica(faults=FaultPlan(...))`,
seeded misbehaviour for reliability tests); `redesign` is the layout `break_layout` switches to.
The live profile (`Replica(..., profile="live", validators="none"|"weak"|"strong")`) is the site as
unkind as the live one: `live` adds per-request noise, inline data and its validators, `churn` is
its per-study change process, and `livesite.LiveSite` serves it with the ground truth a freshness
benchmark reads (`truth()`, `removed()`, `appeared_at(url)`, `now`, `advance(days)`).

Errors:

    ReplicaError (ValueError)          bad arguments: pages < 1, unknown markup, days < 1, base URL,
                                       unknown profile or validators
    ReplicaServerError (RuntimeError)  the HTTP server could not start
    FaultPlanError (ValueError)        a fault plan that cannot be (rate outside 0..1, ...)
"""

from replica.faults import FAULT_KINDS, TRANSIENT_KINDS, FaultPlan, FaultPlanError
from replica.livesite import LiveSite
from replica.markup import MARKUPS
from replica.server import LoggedRequest, ReplicaServer, ReplicaServerError
from replica.site import DEFAULT_BASE_URL, Advanced, Replica, ReplicaError
from replica.variants import FORCED_VARIANTS

__all__ = [
    "DEFAULT_BASE_URL",
    "FAULT_KINDS",
    "FORCED_VARIANTS",
    "MARKUPS",
    "TRANSIENT_KINDS",
    "Advanced",
    "FaultPlan",
    "FaultPlanError",
    "LiveSite",
    "LoggedRequest",
    "Replica",
    "ReplicaError",
    "ReplicaServer",
    "ReplicaServerError",
]
