"""One pull: fetch a window with the source's kind, under the run's timeout, and turn the
rows into validated events. Shared by the collector (which then sends the events) and
the api's preview (which only shows them); it stores and sends nothing itself."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from northstar.domain.sources import Window
from northstar.events.model import MetricEvent
from northstar.events.validation import DEFAULT_BOUNDS, EventBounds
from northstar.sources.kinds import KINDS
from northstar.sources.rows import Pulled, RowProblem, to_events
from northstar.sources.spec import SourceError, SourceSpec

# A fetch gets this long beyond the source's timeout (the database's own statement
# timeout, or the HTTP client's) before the run gives up on it from outside: time to
# connect and to hear the server's own cancellation, which says more than ours.
GRACE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class PullResult:
    pulled: Pulled
    events: list[MetricEvent]
    problems: list[RowProblem]


async def pull(
    spec: SourceSpec,
    window: Window,
    *,
    limit: int,
    allow_private: bool,
    received_at: datetime,
    bounds: EventBounds = DEFAULT_BOUNDS,
) -> PullResult:
    """Fetch at most `limit` rows of `window` and make them events. SourceError (in
    words) when the fetch fails or outlasts the timeout."""
    kind = KINDS[spec.kind]
    try:
        async with asyncio.timeout(spec.timeout_seconds + GRACE_SECONDS):
            pulled = await kind.fetch(spec, window, limit=limit, allow_private=allow_private)
    except TimeoutError:
        raise SourceError(
            f"the source did not answer within its timeout of {spec.timeout_seconds:g} s"
        ) from None
    events, problems = to_events(
        pulled.values,
        source_name=spec.name,
        metric=spec.metric,
        received_at=received_at,
        bounds=bounds,
    )
    problems = sorted([*pulled.problems, *problems], key=lambda p: p.index)
    return PullResult(pulled, events, problems)
