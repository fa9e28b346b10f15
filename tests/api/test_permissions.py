"""The permission matrix, generated from the route table.

Every `/v1` route must declare its decision (`Permit(action, …)`, or be one of the few
public / any-caller routes); a route without one fails `test_every_route_declares_a_
decision`. Then every route is called by every kind of caller — admin, editor, member,
viewer, a unit lead inside and outside their subtree, a unit member inside and outside
their unit, a service key of each scope, personal keys — and must answer exactly as the
table in docs/people.md says: 403 when refused, anything but 401/403 (and never a 5xx)
when allowed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from northstar.auth.policy import Action
from services.api.access import Actor, Permit, current_actor, public
from tests.api.conftest import ok
from tests.support import fetch

PASSWORD = "matrix passphrase 2026"

# Routes anyone may call, and routes any authenticated caller may call.
PUBLIC = {
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/auth/logout"),
    ("POST", "/v1/auth/accept-invitation"),
}
ANY_CALLER = {("GET", "/v1/me")}

ALL = frozenset(Action)
ADMIN_ONLY = frozenset(
    {Action.PEOPLE_MANAGE, Action.KEYS_MANAGE, Action.WEBHOOKS_MANAGE, Action.AUDIT_READ}
)
# Notification settings: "inside" is a channel of Sales EU (a unit's: its leads, editors,
# admins), "outside" the victim's personal channel (theirs and admins' alone).
SETTINGS = frozenset({Action.NOTIFICATIONS_READ, Action.NOTIFICATIONS_MANAGE})
PERSON_READS = frozenset({Action.READ, Action.OWN_KEYS, Action.OWN_NOTIFICATIONS})
LEAD_IN = (
    PERSON_READS
    | SETTINGS
    | {
        Action.GOALS_WRITE,
        Action.GOALS_CONTRIBUTE,
        Action.MEMBERS_MANAGE,
    }
)
MEMBER_IN = PERSON_READS | {Action.GOALS_CONTRIBUTE}
READS_IN = frozenset({Action.READ, Action.NOTIFICATIONS_READ})

# caller -> (actions allowed on resources inside their units, … outside them). This is
# the table of docs/people.md.
EXPECTED: dict[str, tuple[frozenset[Action], frozenset[Action]]] = {
    "admin": (ALL, ALL),
    "editor": (ALL - ADMIN_ONLY, ALL - ADMIN_ONLY - SETTINGS),
    "member": (PERSON_READS, PERSON_READS),
    "viewer": (PERSON_READS, PERSON_READS),
    "unit lead": (LEAD_IN, PERSON_READS),
    "unit member": (MEMBER_IN, PERSON_READS),
    "service key read": (READS_IN, frozenset({Action.READ})),
    "service key write": (
        ALL - ADMIN_ONLY - {Action.OWN_KEYS},
        ALL - ADMIN_ONLY - SETTINGS - {Action.OWN_KEYS},
    ),
    "service key admin": (ALL - {Action.OWN_KEYS}, ALL - {Action.OWN_KEYS}),
    "service key events:write": (frozenset(), frozenset()),
    "personal key of the lead (write)": (LEAD_IN, PERSON_READS),
    "personal key of the editor (read)": (READS_IN, frozenset({Action.READ})),
}
# Routes on one person's own settings: the victim's, whichever side the matrix is on.
PERSONAL = {("GET", "/v1/users/{user_id}/notification-preferences")}


@dataclass(frozen=True)
class Declared:
    kind: str  # "permit", "public" or "any caller"
    permit: Permit | None = None


def _declarations(dependant: Dependant) -> Iterator[Declared]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Permit):
            yield Declared("permit", dependency.call)
        elif dependency.call is public:
            yield Declared("public")
        elif dependency.call is current_actor:
            yield Declared("any caller")
        yield from _declarations(dependency)


def route_table(app: FastAPI) -> list[tuple[str, str, Declared | None]]:
    """(method, path, its declaration or None) for every /v1 route."""
    table = []
    for route in routing.iter_route_contexts(app.routes):
        path = route.path or ""
        if not isinstance(route.original_route, APIRoute) or not path.startswith("/v1"):
            continue
        found = list(_declarations(route.dependant))
        for method in sorted(route.methods or ()):
            table.append((method, path, found[0] if found else None))
    return table


def test_every_route_declares_a_decision(app: FastAPI) -> None:
    table = route_table(app)
    assert len(table) > 30
    undeclared = [f"{m} {p}" for m, p, d in table if d is None]
    assert undeclared == [], f"routes without a policy decision: {undeclared}"
    for method, path, declared in table:
        assert declared is not None
        if declared.kind == "public":
            assert (method, path) in PUBLIC, f"{method} {path} is public but not listed"
        if declared.kind == "any caller":
            assert (method, path) in ANY_CALLER, f"{method} {path} is open to any caller"


def test_notification_settings_are_decided_on_their_owner(app: FastAPI) -> None:
    """The matrix checks routes against the action they declare; this pins the action of
    the routes that read or change one person's or one unit's notification settings, so
    none goes back to plain `read` (issue 22: anyone could read anyone's delivery log)."""
    table = {(method, path): d for method, path, d in route_table(app)}
    for method, path in [
        ("GET", "/v1/channels/{channel_id}"),
        ("GET", "/v1/channels/{channel_id}/deliveries"),
        ("GET", "/v1/users/{user_id}/notification-preferences"),
        ("DELETE", "/v1/channels/{channel_id}"),
        ("DELETE", "/v1/subscriptions/{subscription_id}"),
        ("DELETE", "/v1/digests/{digest_id}"),
    ]:
        declared = table[(method, path)]
        assert declared is not None and declared.permit is not None, path
        assert declared.permit.action in SETTINGS, f"{method} {path}"
        assert declared.permit.resource is not None, f"{method} {path}"


def test_a_route_without_a_decision_is_found() -> None:
    app = FastAPI()
    router = APIRouter(prefix="/v1/things")

    @router.get("")
    async def forgotten() -> dict[str, str]:
        return {}

    @router.delete("/{thing_id}")
    async def declared(_: Annotated[Actor, Depends(Permit(Action.ORG_WRITE))]) -> None:
        return None

    app.include_router(router)
    table = {(method, path): d for method, path, d in route_table(app)}
    assert table[("GET", "/v1/things")] is None
    found = table[("DELETE", "/v1/things/{thing_id}")]
    assert found is not None and found.permit is not None
    assert found.permit.action is Action.ORG_WRITE


# --- the world the matrix runs in -------------------------------------------------------


@dataclass
class World:
    values: dict[str, tuple[str, str]]  # path parameter -> (inside value, outside value)
    clients: dict[str, httpx.AsyncClient]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def _person(
    client: httpx.AsyncClient, email: str, role: str, units: dict[str, str] | None = None
) -> str:
    user = ok(
        await client.post(
            "/v1/users",
            json={"email": email, "name": email.split("@")[0], "role": role, "password": PASSWORD},
        ),
        201,
    )
    for unit_id, unit_role in (units or {}).items():
        ok(await client.put(f"/v1/units/{unit_id}/members/{user['id']}", json={"role": unit_role}))
    user_id: str = user["id"]
    return user_id


async def _signed_in(app: FastAPI, stack: AsyncExitStack, email: str) -> httpx.AsyncClient:
    web = await stack.enter_async_context(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    )
    answer = ok(await web.post("/v1/auth/login", json={"email": email, "password": PASSWORD}))
    web.headers["X-CSRF-Token"] = answer["csrf_token"]
    return web


async def _keyed(app: FastAPI, stack: AsyncExitStack, secret: str) -> httpx.AsyncClient:
    return await stack.enter_async_context(
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"Authorization": f"Bearer {secret}"},
        )
    )


async def _personal_key(database_url: str, user_id: str, scopes: list[str]) -> str:
    secret = f"ns_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
    await fetch(
        database_url,
        "INSERT INTO api_keys (id, name, scopes, key_hash, key_prefix, user_id) "
        "VALUES ($1, 'personal', $2, $3, 'personal', $4)",
        uuid.uuid4(),
        scopes,
        _digest(secret),
        uuid.UUID(user_id),
    )
    return secret


async def _initiative(client: httpx.AsyncClient, goal_id: str) -> str:
    body = {"goal_id": goal_id, "title": "Plan", "milestones": [{"title": "Step"}]}
    initiative_id: str = ok(await client.post("/v1/initiatives", json=body), 201)["id"]
    return initiative_id


async def _alert(database_url: str, goal_id: str) -> str:
    alert_id = uuid.uuid4()
    now = datetime.now(UTC)
    await fetch(
        database_url,
        "INSERT INTO alerts (id, goal_id, kind, severity, state, opened_at, updated_at) "
        "VALUES ($1, $2, 'status', 'warning', 'open', $3, $3)",
        alert_id,
        uuid.UUID(goal_id),
        now,
    )
    return str(alert_id)


async def _initiative(client: httpx.AsyncClient, goal_id: str) -> str:
    made = ok(await client.post("/v1/initiatives", json={"goal_id": goal_id, "title": "Plan"}), 201)
    initiative_id: str = made["id"]
    return initiative_id


@pytest.fixture
async def world(app: FastAPI, client: httpx.AsyncClient, database_url: str) -> AsyncIterator[World]:
    """An organisation (Acme → Sales → Sales EU; Acme → Finance), a goal and an open alert
    inside Sales' subtree and outside it, a KPI, a review with a decision, a webhook, a
    key and a person to act on, and a client for every caller."""

    async def unit(name: str, kind: str, parent: str | None = None) -> str:
        body = {"name": name, "kind": kind} | ({"parent_id": parent} if parent else {})
        unit_id: str = ok(await client.post("/v1/units", json=body), 201)["id"]
        return unit_id

    acme = await unit("Acme", "organization")
    sales = await unit("Sales", "department", acme)
    sales_eu = await unit("Sales EU", "team", sales)
    finance = await unit("Finance", "department", acme)
    ok(
        await client.post(
            "/v1/kpis",
            json={
                "key": "revenue",
                "name": "Revenue",
                "expression": "sum(revenue)",
                "kind": "lagging",
            },
        ),
        201,
    )

    async def goal(title: str, unit_id: str) -> str:
        body = {"title": title, "unit_id": unit_id, "kpi": "revenue", "target": 10}
        goal_id: str = ok(await client.post("/v1/goals", json=body), 201)["id"]
        return goal_id

    goal_in, goal_out = await goal("EU revenue", sales_eu), await goal("Costs", finance)
    review = ok(
        await client.post("/v1/reviews", json={"title": "Q1", "held_at": "2026-03-31T10:00:00Z"}),
        201,
    )
    decision = ok(
        await client.post(
            f"/v1/reviews/{review['id']}/decisions", json={"kind": "action", "text": "Hire"}
        ),
        201,
    )
    webhook = ok(
        await client.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["alert.opened"]}
        ),
        201,
    )
    cycle = ok(
        await client.post(
            "/v1/cycles",
            json={"name": "FY2027", "start": "2027-01-01T00:00:00Z", "due": "2028-01-01T00:00:00Z"},
        ),
        201,
    )
    victim_key = ok(
        await client.post("/v1/api-keys", json={"name": "victim", "scopes": ["read"]}), 201
    )
    victim = await _person(
        client, "victim@example.org", "viewer", {sales_eu: "member", finance: "member"}
    )

    # A channel of Sales EU and one of the victim's, each with a subscription and a digest.
    settings: dict[str, tuple[str, str]] = {}
    for owner in ({"kind": "unit", "id": sales_eu}, {"kind": "user", "id": victim}):
        body = {"name": "c", "kind": "apprise", "target": "json://127.0.0.1:9/c", "owner": owner}
        channel_id = ok(await client.post("/v1/channels", json=body), 201)["id"]
        subscription = {"channel_id": channel_id, "scope": {"goal_id": goal_in}}
        digest = {"channel_id": channel_id, "cadence": "daily", "at": "08:00"}
        made = (
            channel_id,
            ok(await client.post("/v1/subscriptions", json=subscription), 201)["id"],
            ok(await client.post("/v1/digests", json=digest), 201)["id"],
        )
        for name, value in zip(("channel_id", "subscription_id", "digest_id"), made, strict=True):
            settings[name] = (*settings.get(name, ()), value)  # type: ignore[assignment]

    lead = await _person(client, "lead@example.org", "member", {sales: "lead"})
    await _person(client, "teammate@example.org", "member", {sales_eu: "member"})
    editor = await _person(client, "editor@example.org", "editor")
    await _person(client, "admin@example.org", "admin")
    await _person(client, "member@example.org", "member")
    await _person(client, "viewer@example.org", "viewer")

    async with AsyncExitStack() as stack:
        clients = {
            "admin": await _signed_in(app, stack, "admin@example.org"),
            "editor": await _signed_in(app, stack, "editor@example.org"),
            "member": await _signed_in(app, stack, "member@example.org"),
            "viewer": await _signed_in(app, stack, "viewer@example.org"),
            "unit lead": await _signed_in(app, stack, "lead@example.org"),
            "unit member": await _signed_in(app, stack, "teammate@example.org"),
        }
        for scope in ("read", "write", "admin", "events:write"):
            key = ok(
                await client.post("/v1/api-keys", json={"name": scope, "scopes": [scope]}), 201
            )
            clients[f"service key {scope}"] = await _keyed(app, stack, key["key"])
        clients["personal key of the lead (write)"] = await _keyed(
            app, stack, await _personal_key(database_url, lead, ["write"])
        )
        clients["personal key of the editor (read)"] = await _keyed(
            app, stack, await _personal_key(database_url, editor, ["read"])
        )
        yield World(
            values={
                "unit_id": (sales_eu, finance),
                "goal_id": (goal_in, goal_out),
                "alert_id": (
                    await _alert(database_url, goal_in),
                    await _alert(database_url, goal_out),
                ),
                "key": ("revenue", "revenue"),
                "review_id": (review["id"], review["id"]),
                "decision_id": (decision["id"], decision["id"]),
                "webhook_id": (webhook["id"], webhook["id"]),
                "key_id": (victim_key["id"], victim_key["id"]),
                "user_id": (victim, victim),
                "initiative_id": (
                    await _initiative(client, goal_in),
                    await _initiative(client, goal_out),
                ),
                "cycle_id": (cycle["id"], cycle["id"]),
                **settings,
            },
            clients=clients,
        )


# Bodies that place the request inside or outside the subtree (`v`: the world's values).
_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/goals"): lambda v: {"title": "New", "unit_id": v["unit_id"]},
    ("PUT", "/v1/units/{unit_id}/members/{user_id}"): lambda _: {"role": "member"},
    ("POST", "/v1/initiatives"): lambda v: {"goal_id": v["goal_id"], "title": "New"},
    ("POST", "/v1/goals/{goal_id}/check-ins"): lambda _: {"confidence": 5},
}


def _order(entry: tuple[str, str, Declared | None]) -> tuple[int, bool, str]:
    """Reads, then changes, then deletes, the goal's own deletion last: each allowed
    change leaves the world usable for the routes after it."""
    method, path, _ = entry
    rank = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 2, "DELETE": 3}[method]
    return rank, path == "/v1/goals/{goal_id}", path


async def test_permission_matrix(app: FastAPI, world: World) -> None:
    failures = []
    checked = 0
    for method, path, declared in sorted(route_table(app), key=_order):
        assert declared is not None
        if declared.kind == "public":
            continue
        permit = declared.permit
        scoped = permit is not None and permit.resource is not None
        for inside in (True, False) if scoped else (False,):
            # Refused callers first: an allowed change (a delete) must not hide a refusal.
            calls = []
            for caller, (allowed_in, allowed_out) in EXPECTED.items():
                personal = (method, path) in PERSONAL
                allowed_actions = allowed_in if inside and not personal else allowed_out
                allowed = permit is None or permit.action in allowed_actions
                if permit is None and caller == "service key events:write":
                    allowed = True  # /v1/me answers any key
                calls.append((allowed, caller))
            # …and among the allowed, the narrowest first: a resource a broad caller
            # deletes may answer a narrow one 403 (resolvers cannot place what is gone).
            breadth = {c: len(a[0]) + len(a[1]) for c, a in EXPECTED.items()}
            for allowed, caller in sorted(calls, key=lambda c: (c[0], breadth[c[1]], c[1])):
                concrete = path
                for name in re.findall(r"{(\w+)}", path):
                    pair = world.values.get(name, (str(uuid.uuid4()),) * 2)
                    concrete = concrete.replace(f"{{{name}}}", pair[0 if inside else 1])
                picked = {name: pair[0 if inside else 1] for name, pair in world.values.items()}
                body = _BODIES.get((method, path), lambda _: {})(picked)
                response = await world.clients[caller].request(
                    method, concrete, json=body if method in ("POST", "PUT", "PATCH") else None
                )
                checked += 1
                where = ("inside" if inside else "outside") if scoped else ""
                if allowed and (response.status_code in (401, 403) or response.status_code >= 500):
                    failures.append(
                        f"{caller} {where} {method} {path}: {response.status_code} "
                        f"{response.text[:120]} (expected allowed)"
                    )
                if not allowed and response.status_code != 403:
                    failures.append(
                        f"{caller} {where} {method} {path}: {response.status_code} (expected 403)"
                    )
    assert failures == [], "\n".join(failures)
    assert checked > 400
