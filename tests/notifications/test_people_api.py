"""The channels, subscriptions, digests and quiet-hours api: validation of targets per
kind, the SSRF rule, secrets that never come back, and the shapes of SPEC §14."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from services.api.app import create_app
from services.api.settings import ApiSettings
from tests.notifications.conftest import (
    ENCRYPTION_KEY,
    PASSWORD,
    make_channel,
    make_goal,
    make_user,
    subscribe,
)

SLACK = "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
TEAMS = (
    "https://prod-00.westus.logic.azure.com:443/workflows/abc123/triggers/manual/paths/invoke"
    "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s3cr3tSig"
)


@pytest.fixture
async def strict_api(database_url: str, admin_key: str) -> httpx.AsyncClient:
    """An api with the defaults of a real deployment: private networks refused."""
    app: FastAPI = create_app(
        ApiSettings(
            database_url=database_url, bootstrap_admin_key=admin_key, encryption_keys=ENCRYPTION_KEY
        )
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://api",
            headers={"Authorization": f"Bearer {admin_key}"},
        ) as client,
    ):
        yield client


def channel(kind: str, target: str, owner_id: str | None = None) -> dict[str, object]:
    return {
        "name": f"{kind} channel",
        "kind": kind,
        "target": target,
        "owner": {"kind": "user", "id": owner_id or str(uuid.uuid4())},
    }


async def test_channels_are_created_listed_and_deleted_without_ever_showing_targets(
    people_api: httpx.AsyncClient,
) -> None:
    person = await make_user(people_api)
    created = []
    for kind, target in [("slack", SLACK), ("teams", TEAMS), ("email", "ana@example.com")]:
        response = await people_api.post("/v1/channels", json=channel(kind, target, person))
        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == {"id", "name", "kind", "owner", "implicit", "created_at"}
        assert body["owner"] == {"kind": "user", "id": person}
        created.append(body["id"])
    listing = await people_api.get("/v1/channels")
    assert [c["id"] for c in listing.json()["items"]] == created
    for secret in ("TIiajkdnlazkcOXrIdevi7FQ", "s3cr3tSig", "ana@example.com"):
        assert secret not in listing.text

    assert (await people_api.delete(f"/v1/channels/{created[0]}")).status_code == 204
    assert (await people_api.delete(f"/v1/channels/{created[0]}")).status_code == 204
    assert (await people_api.get(f"/v1/channels/{created[0]}")).status_code == 404
    assert (await people_api.get(f"/v1/channels/{created[0]}/deliveries")).status_code == 404
    assert (await people_api.delete(f"/v1/channels/{uuid.uuid4()}")).status_code == 404


@pytest.mark.parametrize(
    ("kind", "target", "says"),
    [
        ("slack", "json://hooks.example.com/x", "Slack webhook URL"),
        ("teams", SLACK, "Teams Workflows URL"),
        ("email", "not an address", "one email address"),
        ("apprise", "nonsense", "not a URL Apprise can send to"),
    ],
)
async def test_a_target_the_kind_cannot_use_is_refused(
    people_api: httpx.AsyncClient, kind: str, target: str, says: str
) -> None:
    response = await people_api.post("/v1/channels", json=channel(kind, target))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.json()["detail"]
    assert target not in response.text


@pytest.mark.parametrize(
    "target",
    ["json://127.0.0.1:18799/hook", "json://10.1.2.3/hook", "ntfy://localhost/topic"],
)
async def test_private_addresses_are_refused_unless_allowed(
    strict_api: httpx.AsyncClient, target: str
) -> None:
    response = await strict_api.post("/v1/channels", json=channel("apprise", target))
    assert response.status_code == 422, response.text
    assert "NORTHSTAR_WEBHOOK_ALLOW_PRIVATE_NETWORKS" in response.json()["detail"]


async def test_metadata_and_link_local_addresses_are_refused_even_when_private_is_allowed(
    people_api: httpx.AsyncClient,
) -> None:
    for target in (
        "json://169.254.169.254/latest",
        "json://[fe80::1]/x",
        "form://100.100.100.200/",
    ):
        response = await people_api.post("/v1/channels", json=channel("apprise", target))
        assert response.status_code == 422, target
        detail = response.json()["detail"]
        assert "link-local" in detail or "metadata" in detail, detail


async def test_subscriptions_take_one_scope_known_events_and_a_severity(
    people_api: httpx.AsyncClient,
) -> None:
    goal = await make_goal(people_api, "Margin")
    unit = (await people_api.post("/v1/units", json={"name": "Org", "kind": "organization"})).json()
    mail = await make_channel(people_api, "email", "ops@example.com")
    team = await make_channel(people_api, "slack", SLACK, owner=("unit", unit["id"]))

    defaults = await subscribe(people_api, mail, scope={"goal_id": goal})
    assert defaults["events"] == ["alert.opened", "alert.updated", "alert.resolved"]
    assert defaults["min_severity"] == "warning"
    assert defaults["scope"] == {"goal_id": goal, "unit_id": None, "mine": False}
    subtree = await subscribe(
        people_api,
        team,
        scope={"unit_id": unit["id"]},
        events=["goal.status_changed", "check_in.due"],
        min_severity="info",
    )
    mine = await subscribe(people_api, mail, scope={"mine": True}, min_severity="critical")
    listed = (await people_api.get("/v1/subscriptions", params={"channel_id": mail})).json()
    assert [s["id"] for s in listed["items"]] == [defaults["id"], mine["id"]]

    bad = [
        ({"channel_id": mail, "scope": {}}, "exactly one"),
        ({"channel_id": mail, "scope": {"goal_id": goal, "mine": True}}, "exactly one"),
        ({"channel_id": mail, "scope": {"goal_id": goal}, "events": ["alert.exploded"]}, "unknown"),
        ({"channel_id": mail, "scope": {"goal_id": str(uuid.uuid4())}}, "no goal"),
        ({"channel_id": str(uuid.uuid4()), "scope": {"goal_id": goal}}, "no channel"),
        ({"channel_id": team, "scope": {"mine": True}}, "owned by a user"),
    ]
    for body, says in bad:
        response = await people_api.post("/v1/subscriptions", json=body)
        assert response.status_code == 422, body
        assert says in response.json()["detail"], response.json()

    assert (await people_api.delete(f"/v1/subscriptions/{subtree['id']}")).status_code == 204
    assert (await people_api.delete(f"/v1/subscriptions/{subtree['id']}")).status_code == 404


async def test_digests_and_quiet_hours_are_validated(people_api: httpx.AsyncClient) -> None:
    mail = await make_channel(people_api, "email", "ops@example.com")
    body = {"channel_id": mail, "cadence": "daily", "at": "08:30", "timezone": "Europe/Berlin"}
    first = await people_api.post("/v1/digests", json=body)
    assert first.status_code == 201, first.text
    moved = await people_api.post("/v1/digests", json={**body, "at": "09:00"})
    assert moved.json()["id"] == first.json()["id"] and moved.json()["at"] == "09:00"
    listed = (await people_api.get("/v1/digests")).json()
    assert [(d["cadence"], d["at"], d["timezone"]) for d in listed] == [
        ("daily", "09:00", "Europe/Berlin")
    ]
    for wrong in ({"at": "25:00"}, {"timezone": "Mars/Olympus"}, {"cadence": "hourly"}):
        assert (await people_api.post("/v1/digests", json={**body, **wrong})).status_code == 422
    person = await make_user(people_api)
    assert (await people_api.get(f"/v1/users/{person}/notification-preferences")).json() == {
        "user_id": person,
        "timezone": "UTC",
        "quiet_hours": None,
    }
    response = await people_api.put(
        f"/v1/users/{person}/notification-preferences",
        json={"timezone": "Nowhere/City", "quiet_hours": None},
    )
    assert response.status_code == 422
    assert (await people_api.delete(f"/v1/digests/{first.json()['id']}")).status_code == 204


async def test_people_see_only_their_own_notification_settings_and_their_units(
    people_api: httpx.AsyncClient,
) -> None:
    """Issue 22: a person's channels, subscriptions, digests, delivery logs and quiet
    hours are theirs and admins'; a unit's channels its leads' (subtree) and editors'.
    Lists leave the rest out; a single one is a 403."""

    async def unit(name: str, parent: str | None = None) -> str:
        body = {"name": name, "kind": "department"} | ({"parent_id": parent} if parent else {})
        response = await people_api.post("/v1/units", json=body)
        assert response.status_code == 201, response.text
        unit_id: str = response.json()["id"]
        return unit_id

    sales = await unit("Sales")
    sales_eu, finance = await unit("Sales EU", sales), await unit("Finance")
    ana = await make_user(people_api, "ana@example.com", role="viewer")
    bob = await make_user(people_api, "bob@example.com", role="viewer")
    lead = await make_user(people_api, "lead@example.com", role="member")
    await make_user(people_api, "editor@example.com", role="editor")
    put = await people_api.put(f"/v1/units/{sales}/members/{lead}", json={"role": "lead"})
    assert put.status_code == 200, put.text
    goal = await make_goal(people_api, "Revenue")
    channels, subscriptions = {}, {}
    for name, owner in [
        ("ana", ("user", ana)),
        ("bob", ("user", bob)),
        ("sales eu", ("unit", sales_eu)),
        ("finance", ("unit", finance)),
    ]:
        channels[name] = await make_channel(people_api, "email", "x@example.com", owner=owner)
        subscriptions[name] = (
            await subscribe(people_api, channels[name], scope={"goal_id": goal})
        )["id"]
        digest = {"channel_id": channels[name], "cadence": "daily", "at": "08:00"}
        assert (await people_api.post("/v1/digests", json=digest)).status_code == 201
    quiet = {"timezone": "Europe/Berlin", "quiet_hours": {"start": "22:00", "end": "07:00"}}
    put = await people_api.put(f"/v1/users/{bob}/notification-preferences", json=quiet)
    assert put.status_code == 200

    async def seen(client: httpx.AsyncClient) -> tuple[set[str], set[str], set[str]]:
        """The channels in each list: channels, subscriptions' and digests'."""
        listed = (await client.get("/v1/channels")).json()["items"]
        subs = (await client.get("/v1/subscriptions")).json()["items"]
        digests = (await client.get("/v1/digests")).json()
        names = {channel_id: name for name, channel_id in channels.items()}
        return (
            {names[c["id"]] for c in listed},
            {names[s["channel_id"]] for s in subs},
            {names[d["channel_id"]] for d in digests},
        )

    everyone = set(channels)
    assert await seen(people_api) == (everyone, everyone, everyone)  # the admin key
    sees = {  # Ana last: she deletes her subscription
        "lead@example.com": {"sales eu"},
        "editor@example.com": {"sales eu", "finance"},
        "ana@example.com": {"ana"},
    }
    for email, theirs in sees.items():
        async with signed_in(people_api, email) as web:
            assert await seen(web) == (theirs, theirs, theirs), email
            for name, channel_id in channels.items():
                expected = 200 if name in theirs else 403
                one = await web.get(f"/v1/channels/{channel_id}")
                log = await web.get(f"/v1/channels/{channel_id}/deliveries")
                assert (one.status_code, log.status_code) == (expected, expected), (email, name)
            quiet_hours = await web.get(f"/v1/users/{bob}/notification-preferences")
            assert quiet_hours.status_code == 403
            # Changing follows the same rule: an editor no longer touches Ana's settings.
            refused = await web.delete(f"/v1/subscriptions/{subscriptions['ana']}")
            assert refused.status_code == (204 if email == "ana@example.com" else 403)
    async with signed_in(people_api, "bob@example.com") as web:
        mine = await web.get(f"/v1/users/{bob}/notification-preferences")
        assert mine.status_code == 200 and mine.json()["quiet_hours"] == quiet["quiet_hours"]
    assert (await people_api.get(f"/v1/users/{bob}/notification-preferences")).status_code == 200


@contextlib.asynccontextmanager
async def signed_in(api: httpx.AsyncClient, email: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the same app, signed in as `email`."""
    async with httpx.AsyncClient(transport=api._transport, base_url="http://api") as client:
        answer = await client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        yield client


async def test_people_manage_their_own_channels_and_leads_their_units(
    people_api: httpx.AsyncClient,
) -> None:
    unit = (await people_api.post("/v1/units", json={"name": "Sales", "kind": "department"})).json()
    ana = await make_user(people_api, "ana@example.com", role="viewer")
    lead = await make_user(people_api, "lead@example.com", role="member")
    assert (
        await people_api.put(f"/v1/units/{unit['id']}/members/{lead}", json={"role": "lead"})
    ).status_code == 200
    goal = await make_goal(people_api, "Revenue")
    others = await make_channel(people_api, "email", "boss@example.com")

    async with signed_in(people_api, "ana@example.com") as web:
        # No owner given: the channel is the signed-in person's.
        mine = await web.post(
            "/v1/channels", json={"name": "me", "kind": "email", "target": "ana@example.com"}
        )
        assert mine.status_code == 201, mine.text
        assert mine.json()["owner"] == {"kind": "user", "id": ana}
        sub = await web.post(
            "/v1/subscriptions", json={"channel_id": mine.json()["id"], "scope": {"mine": True}}
        )
        assert sub.status_code == 201, sub.text
        quiet = {"timezone": "Europe/Berlin", "quiet_hours": {"start": "22:00", "end": "07:00"}}
        assert (await web.put("/v1/me/notification-preferences", json=quiet)).status_code == 200
        mine_now = (await web.get("/v1/me/notification-preferences")).json()
        assert mine_now == {"user_id": ana, **quiet}
        # Someone else's channel, a unit's channel, someone else's quiet hours: refused.
        refused = [
            await web.post(
                "/v1/subscriptions", json={"channel_id": others, "scope": {"goal_id": goal}}
            ),
            await web.delete(f"/v1/channels/{others}"),
            await web.post(
                "/v1/channels",
                json={
                    "name": "team",
                    "kind": "email",
                    "target": "team@example.com",
                    "owner": {"kind": "unit", "id": unit["id"]},
                },
            ),
            await web.put(f"/v1/users/{lead}/notification-preferences", json=quiet),
        ]
        assert [r.status_code for r in refused] == [403, 403, 403, 403]
        assert all(r.headers["content-type"] == "application/problem+json" for r in refused)
        assert (await web.delete(f"/v1/channels/{mine.json()['id']}")).status_code == 204

    async with signed_in(people_api, "lead@example.com") as web:
        team = await web.post(
            "/v1/channels",
            json={
                "name": "team",
                "kind": "email",
                "target": "team@example.com",
                "owner": {"kind": "unit", "id": unit["id"]},
            },
        )
        assert team.status_code == 201, team.text
        digest = await web.post(
            "/v1/digests",
            json={"channel_id": team.json()["id"], "cadence": "weekly", "at": "08:00"},
        )
        assert digest.status_code == 201, digest.text
