"""The demo organisation `make run` starts with: units, KPIs, goals and three days of history,
and its plans: the strategy, two cycles, initiatives with budgets (some late), check-ins
with confidence over the history and a manual KPI (employee satisfaction) fed by them.

For the analysis features (docs/analysis.md) revenue also has four weeks of hourly history
before that, with a weekly pattern (busy weekends) so forecasts are seasonal; the EU's
revenue drops by 40 % over the last three days, so the company revenue goal's drivers
name it; and one hour, the last full hour before the seed, holds an APAC revenue spike
that the first sweep's anomaly check on `revenue_apac` reports.

Targets are not arbitrary: they are computed from the traffic generator's own expected
rates (`devstack.traffic`), so that under live demo traffic some goals sit on track, some
at risk and some off track, one is already achieved, and the roll-ups show the mix. The
last three days are backfilled (in ten-minute chunks) so that values, history charts and
forecasts have data from the first minute.

One KPI is pulled rather than pushed (`seed_helpdesk`): a SQL source reads a helpdesk's
tickets table every minute (docs/sources.md).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from devstack.traffic import (
    ACTIVITY_WEIGHTS,
    CHANNEL_WEIGHTS,
    CHANNELS,
    REGION_WEIGHTS,
    REGIONS,
    TEAMS,
)

HISTORY = timedelta(days=3)
SEASONAL_HISTORY = timedelta(days=28)
WEEKLY = (0.8, 0.9, 0.95, 1.0, 1.1, 1.4, 0.85)
"""Revenue by weekday (Monday first) in the backfilled history."""
EU_DROP = 0.6
"""EU revenue over the last three days, against its usual level."""
AHEAD = timedelta(days=4)
CHUNK = timedelta(minutes=10)

# Events per activity of each kind, and mean values, as `devstack.traffic` generates them.
_EVENTS_PER_ACTIVITY = {"visit": 1, "signup": 1, "order": 3, "ticket": 1, "resolution": 2}
_MEAN_ORDER_REVENUE = 60.0 * math.exp(0.6**2 / 2)  # lognormal(ln 60, 0.6)
_MEAN_VISITS_PER_EVENT = 20.5  # randint(1, 40)
_COST_SHARE = {"goods": 0.55, "shipping": 0.08, "payment_fees": 0.03}


@dataclass(frozen=True)
class Rates:
    """Expected per-second volumes at a given event rate."""

    activities: float
    orders: float
    revenue: float
    cost: float
    visits: float
    signups: float
    tickets: float

    @classmethod
    def at(cls, events_per_second: float) -> Rates:
        per_activity = sum(ACTIVITY_WEIGHTS[k] * n for k, n in _EVENTS_PER_ACTIVITY.items())
        activities = events_per_second / per_activity
        orders = activities * ACTIVITY_WEIGHTS["order"]
        revenue = orders * _MEAN_ORDER_REVENUE
        return cls(
            activities=activities,
            orders=orders,
            revenue=revenue,
            cost=revenue * sum(_COST_SHARE.values()) / len(_COST_SHARE),
            visits=activities * ACTIVITY_WEIGHTS["visit"] * _MEAN_VISITS_PER_EVENT,
            signups=activities * ACTIVITY_WEIGHTS["signup"],
            tickets=activities * ACTIVITY_WEIGHTS["ticket"],
        )


KPIS: list[dict[str, Any]] = [
    {
        "key": "revenue",
        "name": "Revenue",
        "unit": "EUR",
        "kind": "lagging",
        "expression": "sum(revenue)",
        "max_staleness": "PT5M",
        "description": "Order revenue, all regions.",
    },
    {
        "key": "revenue_eu",
        "name": "Revenue EU",
        "unit": "EUR",
        "kind": "lagging",
        "expression": 'sum(revenue{region="eu"})',
    },
    {
        "key": "revenue_apac",
        "name": "Revenue APAC",
        "unit": "EUR",
        "kind": "lagging",
        "expression": 'sum(revenue{region="apac"})',
        "anomaly": {"granularity": "hour", "sensitivity": "low"},
    },
    {
        "key": "cost",
        "name": "Cost",
        "unit": "EUR",
        "kind": "lagging",
        "expression": "sum(cost)",
        "description": "Goods, shipping and payment fees.",
    },
    {
        "key": "orders",
        "name": "Orders",
        "unit": "count",
        "kind": "leading",
        "expression": "sum(orders)",
    },
    {
        "key": "web_conversion",
        "name": "Web conversion",
        "unit": "%",
        "kind": "leading",
        "expression": '100 * sum(signups{channel="web"}) / sum(visits{channel="web"})',
    },
    {
        "key": "signups",
        "name": "Signups",
        "unit": "count",
        "kind": "leading",
        "expression": "sum(signups)",
    },
    {
        "key": "csat",
        "name": "Customer satisfaction",
        "unit": "score (1-5)",
        "kind": "lagging",
        "expression": "avg(csat_score)",
    },
    {
        "key": "resolution_p90",
        "name": "Ticket resolution time (p90)",
        "unit": "hours",
        "kind": "leading",
        "expression": "p90(ticket_resolution_hours)",
    },
    {
        "key": "employee_satisfaction",
        "name": "Employee satisfaction",
        "unit": "score (1-10)",
        "kind": "leading",
        "expression": "last(employee_satisfaction)",
        "source": "manual",
        "category": "people",
        "description": "From the pulse survey, entered by People Ops with their check-ins.",
    },
]


DEMO_PASSWORD = "northstar-demo-2026"
"""Every demo person's password (local demos only: `make run` prints it)."""

# (email, name, organisation role, the owner title the demo's goals use, unit memberships)
PEOPLE: list[tuple[str, str, str, str | None, dict[str, str]]] = [
    ("admin@northstar.example", "Ida Admin", "admin", None, {}),
    ("ceo@northstar.example", "Cora Chief", "editor", "CEO", {}),
    ("sales.head@northstar.example", "Sam Seller", "member", "Head of Sales", {"Sales": "lead"}),
    (
        "marketing.head@northstar.example",
        "Mia Market",
        "member",
        "Head of Marketing",
        {"Marketing": "lead"},
    ),
    ("coo@northstar.example", "Otto Ops", "member", "COO", {"Operations": "lead"}),
    (
        "support.head@northstar.example",
        "Sue Support",
        "member",
        "Head of Support",
        {"Support": "lead"},
    ),
    (
        "people.head@northstar.example",
        "Pia People",
        "member",
        "Head of People",
        {"Operations": "member"},
    ),
    ("eu.rep@northstar.example", "Eli Europe", "member", None, {"Sales EU": "member"}),
    ("apac.rep@northstar.example", "Ana Asia", "member", None, {"Sales APAC": "member"}),
    ("agent@northstar.example", "Al Agent", "member", None, {"Support EU": "member"}),
    ("board@northstar.example", "Bo Board", "viewer", None, {}),
]

SIGN_INS: list[tuple[str, str]] = [
    ("admin", "admin@northstar.example"),
    ("editor (CEO)", "ceo@northstar.example"),
    ("member, lead of Sales", "sales.head@northstar.example"),
    ("member of Sales EU", "eu.rep@northstar.example"),
    ("viewer (board)", "board@northstar.example"),
]
"""One sign-in per role, as `make run` prints them (all with `DEMO_PASSWORD`)."""


async def seed(api_url: str, ingest_url: str, admin_key: str, rate: float) -> None:
    """Create the demo organisation and its people (once: a database that has the
    `revenue` KPI is left alone) and backfill its history through ingest."""
    headers = {"Authorization": f"Bearer {admin_key}"}
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=60) as api:
        if (await api.get("/v1/kpis/revenue")).status_code == 200:
            return
        now = datetime.now(UTC)
        start = now - HISTORY
        await _define(api, Rates.at(rate), start, now + AHEAD)
        key = await _post(api, "/v1/api-keys", {"name": "demo-history", "scopes": ["events:write"]})
    async with httpx.AsyncClient(
        base_url=ingest_url, headers={"Authorization": f"Bearer {key['key']}"}, timeout=60
    ) as ingest:
        batch: list[dict[str, Any]] = []
        history = itertools.chain(
            _seasonal_history(Rates.at(rate), start - SEASONAL_HISTORY, start, random.Random(3)),
            _history(Rates.at(rate), start, now, random.Random(7)),
            _spike(Rates.at(rate), now),
        )
        for event in history:
            batch.append(event)
            if len(batch) == 5000:
                await _push(ingest, batch)
                batch = []
        if batch:
            await _push(ingest, batch)


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    if response.status_code != 201:
        raise RuntimeError(f"seeding failed: POST {path} → {response.status_code} {response.text}")
    created: dict[str, Any] = response.json()
    return created


async def _push(client: httpx.AsyncClient, events: list[dict[str, Any]]) -> None:
    response = await client.post("/v1/events", json={"events": events})
    if response.status_code != 202:
        raise RuntimeError(f"seeding history failed: {response.status_code} {response.text}")


async def _define(api: httpx.AsyncClient, rates: Rates, start: datetime, due: datetime) -> None:
    this_week = await _post(
        api, "/v1/cycles", {"name": "This week", "start": start.isoformat(), "due": due.isoformat()}
    )
    await _post(
        api,
        "/v1/cycles",
        {
            "name": "Next week",
            "start": due.isoformat(),
            "due": (due + timedelta(days=7)).isoformat(),
        },
    )
    period = {"start": start.isoformat(), "due": due.isoformat(), "cycle_id": this_week["id"]}
    seconds = (due - start).total_seconds()
    people = {
        email: (
            await _post(
                api,
                "/v1/users",
                {"email": email, "name": name, "role": role, "password": DEMO_PASSWORD},
            )
        )["id"]
        for email, name, role, _, _ in PEOPLE
    }
    owners = {title: people[email] for email, _, _, title, _ in PEOPLE if title}
    leads = {
        unit: people[email]
        for email, *_, memberships in PEOPLE
        for unit, role in memberships.items()
        if role == "lead"
    }
    units: dict[str, str] = {}

    async def unit(name: str, kind: str, parent: str | None = None) -> str:
        body = {"name": name, "kind": kind, "parent_id": parent, "owner_id": leads.get(name)}
        units[name] = str((await _post(api, "/v1/units", body))["id"])
        return units[name]

    company = str(
        (
            await _post(
                api,
                "/v1/units",
                {
                    "name": "Northstar Trading Co.",
                    "kind": "organization",
                    "vision": "Every household finds what it needs from us within a day.",
                    "mission": "Sell good things at fair prices, delivered fast, with care.",
                    "values": ["Customers first", "Own the outcome", "Frugal, not cheap"],
                },
            )
        )["id"]
    )
    sales = await unit("Sales", "department", company)
    marketing = await unit("Marketing", "department", company)
    operations = await unit("Operations", "department", company)
    support = await unit("Support", "department", company)
    sales_eu = await unit("Sales EU", "team", sales)
    sales_apac = await unit("Sales APAC", "team", sales)
    support_eu = await unit("Support EU", "team", support)

    for kpi in KPIS:
        await _post(api, "/v1/kpis", kpi)

    for email, *_, memberships in PEOPLE:
        for name, role in memberships.items():
            response = await api.put(
                f"/v1/units/{units[name]}/members/{people[email]}", json={"role": role}
            )
            if response.status_code != 200:
                raise RuntimeError(f"seeding failed: membership → {response.text}")

    async def goal(title: str, **fields: Any) -> str:
        owner = fields.pop("owner", None)
        body = {"title": title, **period, **fields}
        if owner is not None:
            body["owner_id"] = owners[owner]
        return str((await _post(api, "/v1/goals", body))["id"])

    def volume_target(per_second: float, share: float, score: float) -> float:
        """The target a reach goal needs for the expected traffic to score `score`."""
        return round(per_second * share * seconds / score, -2)

    top = await goal(
        "Grow profitably this week",
        unit_id=company,
        owner="CEO",
        description="Company roll-up of every department's goals.",
    )
    sales_goal = await goal(
        "Sales: hit the weekly revenue plan", unit_id=sales, parent_id=top, owner="Head of Sales"
    )
    marketing_goal = await goal(
        "Marketing: convert web traffic",
        unit_id=marketing,
        parent_id=top,
        owner="Head of Marketing",
    )
    operations_goal = await goal(
        "Operations: stay within budget", unit_id=operations, parent_id=top, owner="COO"
    )
    support_goal = await goal(
        "Support: happy customers, fast answers",
        unit_id=support,
        parent_id=top,
        owner="Head of Support",
        rollup="worst",
    )

    eu_share = REGION_WEIGHTS[REGIONS.index("eu")]
    apac_share = REGION_WEIGHTS[REGIONS.index("apac")]
    web_share = CHANNEL_WEIGHTS[CHANNELS.index("web")]
    await goal(
        "Company revenue",
        kpi="revenue",
        parent_id=sales_goal,
        unit_id=sales,
        target=volume_target(rates.revenue, 1, 1.15),
        weight=2,
    )  # on track
    eu_revenue = await goal(
        "EU revenue",
        kpi="revenue_eu",
        perspective="financial",
        check_in_cadence="P1D",
        parent_id=sales_goal,
        unit_id=sales_eu,
        target=volume_target(rates.revenue, eu_share, 0.91),
    )  # at risk
    apac_revenue = await goal(
        "APAC revenue",
        kpi="revenue_apac",
        perspective="financial",
        check_in_cadence="P1D",
        parent_id=sales_goal,
        unit_id=sales_apac,
        target=volume_target(rates.revenue, apac_share, 0.65),
    )  # off track
    await goal(
        "Orders",
        kpi="orders",
        parent_id=sales_goal,
        unit_id=sales,
        target=volume_target(rates.orders, 1, 1.2),
    )  # on track
    conversion = 100 * rates.signups * web_share / (rates.visits * web_share)
    conversion_goal = await goal(
        "Web conversion above plan",
        kpi="web_conversion",
        parent_id=marketing_goal,
        unit_id=marketing,
        type="stay_above",
        pacing="none",
        target=round(conversion / 0.9, 2),
    )  # at risk
    await goal(
        "First 50,000 signups",
        kpi="signups",
        parent_id=marketing_goal,
        unit_id=marketing,
        target=50_000,
    )  # achieved
    await goal(
        "Cost within budget",
        kpi="cost",
        parent_id=operations_goal,
        unit_id=operations,
        type="stay_below",
        target=volume_target(rates.cost, 1, 1 / 1.1),
    )  # on track
    await goal(
        "CSAT at least 3.6",
        kpi="csat",
        parent_id=support_goal,
        unit_id=support_eu,
        type="stay_above",
        pacing="none",
        target=3.6,
    )  # on track
    resolution = await goal(
        "90% of tickets resolved within 12 h",
        kpi="resolution_p90",
        parent_id=support_goal,
        unit_id=support_eu,
        type="stay_below",
        pacing="none",
        target=12,
    )  # off track
    satisfaction = await goal(
        "Employee satisfaction at least 7.5",
        kpi="employee_satisfaction",
        parent_id=operations_goal,
        unit_id=operations,
        owner="Head of People",
        type="stay_above",
        pacing="none",
        target=7.5,
        perspective="learning_growth",
        check_in_cadence="P1D",
    )
    await _plans(
        api,
        start=start,
        goals={
            "eu": eu_revenue,
            "apac": apac_revenue,
            "conversion": conversion_goal,
            "resolution": resolution,
            "satisfaction": satisfaction,
        },
    )


async def _plans(api: httpx.AsyncClient, *, start: datetime, goals: dict[str, str]) -> None:
    """Initiatives (two of them late, so `plan` alerts are open) and check-ins over the
    seeded days; the satisfaction check-ins carry values, which reach the store as events
    through the outbox once the evaluator runs."""
    now = datetime.now(UTC)

    def at(days: float) -> str:
        return (start + timedelta(days=days)).isoformat()

    def budget(amount: int) -> dict[str, Any]:
        return {"amount": str(amount), "currency": "EUR"}

    initiatives: list[dict[str, Any]] = [
        {
            "goal_id": goals["apac"],
            "title": "Open the Singapore partner channel",
            "status": "in_progress",
            "start": at(0),
            "due": at(6),
            "budget": budget(120_000),
            "spent": "45000",
            "milestones": [
                {"title": "Partner shortlist", "due": at(0.5), "done_at": at(0.4)},
                {"title": "Contracts signed", "due": (now - timedelta(hours=6)).isoformat()},
                {"title": "First partner orders", "due": at(5)},
            ],
        },
        {
            "goal_id": goals["eu"],
            "title": "Spring campaign EU",
            "status": "in_progress",
            "start": at(0),
            "due": at(5),
            "budget": budget(40_000),
            "spent": "18500",
            "milestones": [
                {"title": "Creatives approved", "due": at(1), "done_at": at(0.8)},
                {"title": "Campaign live", "due": at(2), "done_at": at(2)},
                {"title": "Mid-campaign review", "due": at(4)},
            ],
        },
        {
            "goal_id": goals["resolution"],
            "title": "Hire two support agents for EU",
            "status": "blocked",
            "start": at(0),
            "due": (now - timedelta(hours=12)).isoformat(),
            "budget": budget(30_000),
            "spent": "4000",
            "milestones": [{"title": "Job ads out", "due": at(0.5), "done_at": at(0.5)}],
        },
        {
            "goal_id": goals["conversion"],
            "title": "Landing page redesign",
            "status": "done",
            "start": at(0),
            "due": at(2),
            "budget": budget(15_000),
            "spent": "14200",
            "milestones": [{"title": "A/B test finished", "due": at(2), "done_at": at(1.9)}],
        },
    ]
    for initiative in initiatives:
        await _post(api, "/v1/initiatives", initiative)

    updates = {
        "eu": [(6, "Campaign starts tomorrow"), (7, "Campaign live, early numbers soft"), (6, "")],
        "apac": [(5, "Partner talks slow"), (4, "Contracts stuck in legal"), (3, "Behind plan")],
    }
    # Check-ins are written by people (signed in as them), as in real use: the timeline
    # names a person, not the seeding key. The regions' goals by the Head of Sales (lead of
    # Sales, above both regions), satisfaction by its owner.
    sales_head = next(email for email, *_, title, _ in PEOPLE if title == "Head of Sales")
    for name, notes in updates.items():
        async with _signed_in(api, sales_head) as owner:
            for day, (confidence, comment) in enumerate(notes):
                blockers = "Legal review of the partner contract" if confidence < 5 else None
                body = {"confidence": confidence, "comment": comment, "at": at(day + 0.5)}
                await _post(
                    owner, f"/v1/goals/{goals[name]}/check-ins", body | {"blockers": blockers}
                )
    satisfaction_owner = (await api.get(f"/v1/goals/{goals['satisfaction']}")).json()["owner_id"]
    email = (await api.get(f"/v1/users/{satisfaction_owner}")).json()["email"]
    async with _signed_in(api, email) as owner:
        for day, (value, confidence) in enumerate([(7.1, 6), (7.4, 7), (7.8, 8)]):
            body = {"confidence": confidence, "value": value, "at": at(day + 0.25)}
            await _post(
                owner,
                f"/v1/goals/{goals['satisfaction']}/check-ins",
                body | {"comment": f"Pulse survey day {day + 1}"},
            )


@contextlib.asynccontextmanager
async def _signed_in(api: httpx.AsyncClient, email: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the api signed in as a demo person (each has `DEMO_PASSWORD`)."""
    async with httpx.AsyncClient(base_url=str(api.base_url), timeout=api.timeout) as person:
        response = await person.post(
            "/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD}
        )
        if response.status_code != 200:
            raise RuntimeError(f"seeding failed: signing in as {email}: {response.text}")
        person.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        yield person


def _history(
    rates: Rates, start: datetime, end: datetime, rng: random.Random
) -> Iterator[dict[str, Any]]:
    """Ten-minute aggregates of the traffic the generator would have sent."""
    seconds = CHUNK.total_seconds()
    ids = itertools.count()

    def event(stamp: str, metric: str, value: float, **dims: str) -> dict[str, Any]:
        return {
            "event_id": f"demo-history-{next(ids)}",
            "metric": metric,
            "value": round(value, 2),
            "timestamp": stamp,
            "dimensions": dims,
        }

    def noisy(value: float) -> float:
        return value * rng.uniform(0.9, 1.1)

    at = start
    while at < end:
        stamp = (at + CHUNK / 2).isoformat()
        for region, share in zip(REGIONS, REGION_WEIGHTS, strict=True):
            dims = {"region": region, "channel": "web"}
            level = WEEKLY[at.weekday()] * (EU_DROP if region == "eu" else 1.0)
            yield event(stamp, "revenue", noisy(rates.revenue * share * seconds * level), **dims)
            yield event(stamp, "orders", round(noisy(rates.orders * share * seconds)), **dims)
        for category, cost_share in _COST_SHARE.items():
            value = rates.revenue * cost_share / len(_COST_SHARE) * seconds
            yield event(stamp, "cost", noisy(value), category=category)
        for channel, share in zip(CHANNELS, CHANNEL_WEIGHTS, strict=True):
            dims = {"channel": channel, "region": "eu"}
            yield event(stamp, "visits", round(noisy(rates.visits * share * seconds)), **dims)
            yield event(stamp, "signups", round(noisy(rates.signups * share * seconds)), **dims)
        for team in TEAMS:
            tickets = round(noisy(rates.tickets / len(TEAMS) * seconds))
            yield event(stamp, "tickets_opened", tickets, team=team)
        for _ in range(12):
            hours = rng.lognormvariate(math.log(6.0), 0.8)
            score = max(1, min(5, round(rng.gauss(4.6 - min(hours, 48.0) / 16.0, 0.7))))
            team = rng.choice(TEAMS)
            yield event(stamp, "ticket_resolution_hours", hours, team=team)
            yield event(stamp, "csat_score", float(score), team=team)
        at += CHUNK


def _seasonal_history(
    rates: Rates, start: datetime, end: datetime, rng: random.Random
) -> Iterator[dict[str, Any]]:
    """Hourly revenue per region with the weekly pattern, before the detailed history."""
    hour = timedelta(hours=1)
    at = start
    while at < end:
        for region, share in zip(REGIONS, REGION_WEIGHTS, strict=True):
            value = rates.revenue * share * 3600 * WEEKLY[at.weekday()] * rng.uniform(0.95, 1.05)
            yield {
                "event_id": f"demo-seasonal-{region}-{int(at.timestamp())}",
                "metric": "revenue",
                "value": round(value, 2),
                "timestamp": (at + hour / 2).isoformat(),
                "dimensions": {"region": region, "channel": "web"},
            }
        at += hour


def _spike(rates: Rates, now: datetime) -> Iterator[dict[str, Any]]:
    """Four hours' worth of extra APAC revenue in the last full hour: the injected anomaly."""
    last_hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    share = REGION_WEIGHTS[REGIONS.index("apac")]
    yield {
        "event_id": "demo-anomaly-apac",
        "metric": "revenue",
        "value": round(rates.revenue * share * 3600 * 4, 2),
        "timestamp": (last_hour + timedelta(minutes=30)).isoformat(),
        "dimensions": {"region": "apac", "channel": "web"},
    }


# -- A pulled KPI (docs/sources.md) ---------------------------------------------------------

HELPDESK_QUERY = """SELECT resolved_at AS time, hours AS value, team,
       CASE WHEN hours <= 12 THEN 'yes' ELSE 'no' END AS within_12h
FROM helpdesk.tickets
WHERE resolved_at >= :start AND resolved_at < :end"""


async def seed_helpdesk(api_url: str, admin_key: str, database_url: str) -> None:
    """A support desk's own table, `helpdesk.tickets` (in the demo's database, as another
    system's would be in its own), read by a SQL source every minute into the KPI
    "tickets resolved within 12 h" and a goal on it. Tickets are stamped over the demo's
    history and the days ahead, one every ten minutes or so: each minute, the tickets
    resolved meanwhile come due, and the source pulls them, so the KPI moves live."""
    headers = {"Authorization": f"Bearer {admin_key}"}
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=60) as api:
        if (await api.get("/v1/kpis/tickets_within_12h")).status_code == 200:
            return
        now = datetime.now(UTC)
        start, due = now - HISTORY, now + AHEAD
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                "CREATE SCHEMA IF NOT EXISTS helpdesk; CREATE TABLE IF NOT EXISTS "
                "helpdesk.tickets (id serial PRIMARY KEY, resolved_at timestamptz NOT NULL, "
                "hours double precision NOT NULL, team text NOT NULL)"
            )
            rng = random.Random(11)
            rows = []
            moment = start
            while moment < due:
                moment += timedelta(minutes=rng.uniform(4, 16))
                # Mean 7 h: about 82 % within 12 h, around the goal's 80 %.
                hours = round(min(rng.expovariate(1 / 7), 96), 2)
                rows.append((moment, hours, rng.choice(["tier1", "tier2", "billing"])))
            await conn.executemany(
                "INSERT INTO helpdesk.tickets (resolved_at, hours, team) VALUES ($1, $2, $3)",
                rows,
            )
        finally:
            await conn.close()
        await _post(
            api,
            "/v1/kpis",
            {
                "key": "tickets_within_12h",
                "name": "Tickets resolved within 12 h",
                "description": "Pulled every minute from the helpdesk database (source "
                "'helpdesk').",
                "unit": "%",
                "kind": "lagging",
                "expression": '100 * count(helpdesk.ticket_hours{within_12h="yes"}) '
                "/ count(helpdesk.ticket_hours)",
            },
        )
        await _post(
            api,
            "/v1/goals",
            {
                "title": "Resolve 80 % of support tickets within 12 h",
                "kpi": "tickets_within_12h",
                "type": "stay_above",
                "target": 80,
                "pacing": "none",
                "start": start.isoformat(),
                "due": due.isoformat(),
            },
        )
        await _post(
            api,
            "/v1/sources",
            {
                "name": "helpdesk",
                "kind": "sql",
                "connection": {"url": database_url},
                "query": HELPDESK_QUERY,
                "metric": "helpdesk.ticket_hours",
                "schedule": {"every": "PT1M"},
                "timeout_seconds": 10,
                "cursor": {"lookback": "PT1H", "since": start.isoformat()},
            },
        )
