"""`POST /v1/apply` and `POST /v1/export` in-process (SPEC §18): plans, idempotence,
prune, versions, reasons, audit, and who may apply what. The CLI over real processes is
in tests/e2e/test_cli.py."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.api.apply.documents import schema_text
from tests.api.conftest import ok
from tests.support import fetch, fetchval

REPO = Path(__file__).resolve().parents[2]
PERIOD = {"start": "2026-01-01T00:00:00Z", "due": "2026-12-31T00:00:00Z"}


def doc(kind: str, name: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "northstar/v1",
        "kind": kind,
        "metadata": {"name": name, **metadata},
        "spec": spec,
    }


def org(target: float = 100, **goal_metadata: Any) -> list[dict[str, Any]]:
    return [
        doc("Cycle", "fy2026", {"name": "FY2026", **PERIOD}),
        doc("Unit", "acme", {"name": "Acme", "kind": "organization"}, labels={"team": "ops"}),
        doc("Unit", "sales", {"name": "Sales", "kind": "department", "parent": "acme"}),
        doc(
            "KPI",
            "revenue",
            {"name": "Revenue", "expression": "sum( revenue )", "kind": "lagging"},
        ),
        doc(
            "Goal",
            "grow",
            {"title": "Grow", "unit": "acme", "cycle": "fy2026", "target": 1000},
            labels={"team": "ops"},
        ),
        # A child listed before its parent: the apply orders them.
        doc(
            "Goal",
            "grow-eu",
            {
                "title": "Grow EU",
                "unit": "sales",
                "parent": "grow-sales",
                "kpi": "revenue",
                "target": target,
                **PERIOD,
            },
            labels={"team": "ops"},
            **goal_metadata,
        ),
        doc(
            "Goal",
            "grow-sales",
            {
                "title": "Grow sales",
                "unit": "sales",
                "parent": "grow",
                "kpi": "revenue",
                "target": 500,
                **PERIOD,
            },
            labels={"team": "ops"},
        ),
        doc(
            "Initiative",
            "hire",
            {"goal": "grow-eu", "title": "Hire two", "milestones": [{"title": "Post ads"}]},
        ),
    ]


async def apply(
    client: httpx.AsyncClient, documents: list[dict[str, Any]], status: int = 200, **body: Any
) -> Any:
    return ok(await client.post("/v1/apply", json={"documents": documents, **body}), status)


def actions(plan: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(c["kind"], c["name"], c["action"]) for c in plan["changes"]]


def test_the_committed_schema_is_current() -> None:
    committed = (REPO / "schemas" / "northstar-v1.json").read_text()
    assert committed == schema_text(), (
        "schemas/northstar-v1.json is stale: python -m services.api.apply.documents "
        "> schemas/northstar-v1.json"
    )


async def test_schema_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/schema/northstar-v1.json")
    assert response.status_code == 200
    schema = response.json()
    assert "GoalSpec" in schema["$defs"]
    assert "unit" in schema["$defs"]["GoalSpec"]["properties"]
    assert "unit_id" not in schema["$defs"]["GoalSpec"]["properties"]


async def test_plan_apply_and_a_second_apply_is_a_no_op(
    client: httpx.AsyncClient, database_url: str
) -> None:
    planned = await apply(client, org(), dry_run=True)
    assert planned["dry_run"] is True
    assert actions(planned) == [
        ("Cycle", "fy2026", "create"),
        ("Unit", "acme", "create"),
        ("Unit", "sales", "create"),
        ("KPI", "revenue", "create"),
        ("Goal", "grow", "create"),
        ("Goal", "grow-sales", "create"),
        ("Goal", "grow-eu", "create"),
        ("Initiative", "hire", "create"),
    ]
    assert await fetchval(database_url, "SELECT count(*) FROM goals") == 0, "a dry run wrote"

    applied = await apply(client, org())
    assert actions(applied) == actions(planned)
    goals = ok(await client.get("/v1/goals"))["items"]
    by_title = {g["title"]: g for g in goals}
    assert by_title["Grow EU"]["parent_id"] == by_title["Grow sales"]["id"]
    assert by_title["Grow"]["start"] is not None, "the cycle's dates"
    assert (await apply(client, org()))["changes"] == []
    assert (await apply(client, org(), dry_run=True))["changes"] == []

    audit = await fetch(
        database_url, "SELECT action, resource_type FROM audit_events WHERE action = 'create'"
    )
    assert sum(1 for r in audit if r["resource_type"] == "goal") == 3


async def test_an_update_shows_field_by_field_and_a_started_goal_needs_a_reason(
    client: httpx.AsyncClient, database_url: str
) -> None:
    await apply(client, org())
    refused = await client.post("/v1/apply", json={"documents": org(target=150)})
    assert refused.status_code == 422, refused.text
    assert "Goal 'grow-eu'" in refused.json()["detail"]
    assert "reason" in refused.json()["detail"]
    plan = await apply(client, org(target=150, reason="Q2 plan"))
    assert plan["changes"] == [
        {
            "kind": "Goal",
            "name": "grow-eu",
            "action": "update",
            "fields": {"target": [100.0, 150.0]},
        }
    ]
    revisions = await fetch(database_url, "SELECT reason, changes FROM goal_revisions")
    assert [r["reason"] for r in revisions] == ["Q2 plan"]


async def test_a_version_older_than_the_object_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient,
) -> None:
    await apply(client, org())
    exported = ok(await client.post("/v1/export", json={}))["documents"]
    assert (await apply(client, exported, dry_run=True))["changes"] == [], "round trip"
    goal = next(d for d in exported if d["metadata"]["name"] == "grow-sales")
    ok(await client.patch(f"/v1/goals/{await goal_id(client, 'Grow sales')}", json={"title": "X"}))
    goal["spec"]["title"] = "Grow sales (docs)"
    cycle = next(d for d in exported if d["kind"] == "Cycle")
    cycle["spec"]["name"] = "FY-2026"
    refused = await client.post("/v1/apply", json={"documents": exported})
    assert refused.status_code == 409, refused.text
    assert "Goal 'grow-sales'" in refused.json()["detail"]
    cycles = ok(await client.get("/v1/cycles"))["items"]
    assert [c["name"] for c in cycles] == ["FY2026"], "the cycle before the goal was rolled back"
    # Unchanged objects with old versions are no conflict: only what would change.
    goal["spec"]["title"] = "X"
    cycle["spec"]["name"] = "FY2026"
    assert (await apply(client, exported))["changes"] == []


async def goal_id(client: httpx.AsyncClient, title: str) -> str:
    goals = ok(await client.get("/v1/goals"))["items"]
    found: str = next(g["id"] for g in goals if g["title"] == title)
    return found


async def test_prune_deletes_only_labelled_objects_the_documents_dropped(
    client: httpx.AsyncClient,
) -> None:
    await apply(client, org())
    ok(await client.post("/v1/goals", json={"title": "Made in the web app"}), 201)
    kept = [d for d in org() if d["metadata"]["name"] not in ("grow-eu", "hire")]
    # Without prune nothing goes.
    assert (await apply(client, kept, dry_run=True))["changes"] == []
    plan = await apply(client, kept, prune={"labels": {"team": "ops"}})
    assert actions(plan) == [("Goal", "grow-eu", "delete")]
    titles = {g["title"] for g in ok(await client.get("/v1/goals"))["items"]}
    assert titles == {"Grow", "Grow sales", "Made in the web app"}
    assert ok(await client.get("/v1/initiatives"))["items"] == [], "went with its goal"


async def test_invalid_documents_and_unknown_references_are_422(
    client: httpx.AsyncClient,
) -> None:
    bad = [
        doc("Goal", "a", {"title": "A", "colour": "red"}),
        doc("Goal", "b", {"title": "B", "target": "lots"}),
        {"apiVersion": "northstar/v2", "kind": "Goal"},
    ]
    response = await client.post("/v1/apply", json={"documents": bad})
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == [
        "documents.0.spec.colour",
        "documents.1.spec.target",
        "documents.2.apiVersion",
    ]
    response = await client.post(
        "/v1/apply", json={"documents": [doc("Goal", "a", {"title": "A", "unit": "nowhere"})]}
    )
    assert response.status_code == 422
    assert "no Unit named 'nowhere'" in response.json()["detail"]
    assert "Goal 'a'" in response.json()["detail"]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def _person_key(
    client: httpx.AsyncClient, database_url: str, role: str, units: dict[str, str]
) -> str:
    email = f"{uuid.uuid4().hex[:8]}@example.org"
    user = ok(
        await client.post(
            "/v1/users",
            json={"email": email, "name": email, "role": role, "password": "correct horse battery"},
        ),
        201,
    )
    for unit_id, unit_role in units.items():
        ok(await client.put(f"/v1/units/{unit_id}/members/{user['id']}", json={"role": unit_role}))
    secret = f"ns_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
    await fetch(
        database_url,
        "INSERT INTO api_keys (id, name, scopes, key_hash, key_prefix, user_id) "
        "VALUES ($1, 'personal', $2, $3, 'personal', $4)",
        uuid.uuid4(),
        ["write"],
        _digest(secret),
        uuid.UUID(user["id"]),
    )
    return secret


@pytest.mark.parametrize(
    ("role", "membership", "expected"),
    [
        # (documents: a goal in Sales, a goal in Finance, a unit) -> status per set
        # Every caller acts with a personal key of `write` scope: an admin's too, so a webhook
        # (which needs the `admin` scope) is refused to them as well.
        ("admin", None, {"sales goal": 200, "finance goal": 200, "unit": 200, "webhook": 403}),
        ("editor", None, {"sales goal": 200, "finance goal": 200, "unit": 200, "webhook": 403}),
        ("member", "lead", {"sales goal": 200, "finance goal": 403, "unit": 403, "webhook": 403}),
        ("member", "member", {"sales goal": 403, "finance goal": 403, "unit": 403, "webhook": 403}),
        ("viewer", None, {"sales goal": 403, "finance goal": 403, "unit": 403, "webhook": 403}),
    ],
)
async def test_permission_matrix(
    app: FastAPI,
    client: httpx.AsyncClient,
    database_url: str,
    role: str,
    membership: str | None,
    expected: dict[str, int],
) -> None:
    base = [
        doc("Unit", "acme", {"name": "Acme", "kind": "organization"}),
        doc("Unit", "sales", {"name": "Sales", "kind": "department", "parent": "acme"}),
        doc("Unit", "finance", {"name": "Finance", "kind": "department", "parent": "acme"}),
        doc("Goal", "sales-goal", {"title": "Sales goal", "unit": "sales"}),
        doc("Goal", "finance-goal", {"title": "Finance goal", "unit": "finance"}),
    ]
    await apply(client, base)
    units = {u["name"]: u["id"] for u in ok(await client.get("/v1/units"))["items"]}
    key = await _person_key(
        client, database_url, role, {units["Sales"]: membership} if membership else {}
    )
    attempts = {
        "sales goal": [doc("Goal", "sales-goal", {"title": "Sales goal v2"})],
        "finance goal": [doc("Goal", "finance-goal", {"title": "Finance goal v2"})],
        "unit": [doc("Unit", "sales", {"name": "Sales v2", "kind": "department"})],
        "webhook": [
            doc("Webhook", "hook", {"url": "http://127.0.0.1:9/h", "events": ["alert.opened"]})
        ],
        # Only a label changes: labels decide what a prune deletes, so the same rule.
        "finance labels": [
            doc("Goal", "finance-goal", {"title": "Finance goal"}, labels={"owned": "by-us"})
        ],
    }
    expected = {**expected, "finance labels": expected["finance goal"]}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {key}"},
    ) as caller:
        for what, documents in attempts.items():
            before = json.dumps(ok(await client.get("/v1/goals"))["items"], sort_keys=True)
            response = await caller.post("/v1/apply", json={"documents": documents})
            assert response.status_code == expected[what], (what, response.text)
            if response.status_code == 403:
                assert "Not allowed" in response.json()["detail"]
                after = json.dumps(ok(await client.get("/v1/goals"))["items"], sort_keys=True)
                assert before == after
    # A lead's apply that mixes an allowed goal with one outside is refused whole.
    if membership == "lead":
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"Authorization": f"Bearer {key}"},
        ) as caller:
            mixed = [
                doc("Goal", "sales-goal", {"title": "Mixed"}),
                doc("Goal", "finance-goal", {"title": "Mixed"}),
            ]
            response = await caller.post("/v1/apply", json={"documents": mixed})
            assert response.status_code == 403
            assert "finance-goal" in response.json()["detail"]
            titles = {g["title"] for g in ok(await client.get("/v1/goals"))["items"]}
            assert "Mixed" not in titles


async def test_objects_made_in_the_web_app_get_names_on_export_and_round_trip(
    client: httpx.AsyncClient,
) -> None:
    ok(
        await client.post(
            "/v1/kpis",
            json={"key": "web_sales", "name": "Sales", "expression": "sum(s)", "kind": "lagging"},
        ),
        201,
    )
    unit = ok(await client.post("/v1/units", json={"name": "Web Team", "kind": "team"}), 201)
    body = {"title": "Sell more!", "kpi": "web_sales", "target": 5, "unit_id": unit["id"]}
    ok(await client.post("/v1/goals", json=body), 201)
    ok(await client.post("/v1/goals", json={**body, "title": "Sell more"}), 201)
    exported = ok(await client.post("/v1/export", json={}))["documents"]
    names = {(d["kind"], d["metadata"]["name"]) for d in exported}
    assert names == {
        ("KPI", "web_sales"),
        ("Unit", "web-team"),
        ("Goal", "sell-more"),
        ("Goal", "sell-more-2"),
    }
    goal = next(d for d in exported if d["metadata"]["name"] == "sell-more")
    assert goal["spec"]["unit"] == "web-team" and goal["spec"]["kpi"] == "web_sales"
    assert (await apply(client, exported, dry_run=True))["changes"] == []
    # A KPI document names a web-made KPI by its key: it is that KPI, not a new one.
    ok(
        await client.post(
            "/v1/kpis",
            json={"key": "web_costs", "name": "Costs", "expression": "sum(c)", "kind": "lagging"},
        ),
        201,
    )
    plan = await apply(
        client,
        [doc("KPI", "web_costs", {"name": "Costs!", "expression": "sum(c)", "kind": "lagging"})],
    )
    assert actions(plan) == [("KPI", "web_costs", "update")]


async def test_webhooks_are_applied_with_a_write_only_secret(
    client: httpx.AsyncClient, database_url: str
) -> None:
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["alert.opened"]}
    documents = [
        doc("Webhook", "pager", {**hook, "secret": "s3cret-s3cret-s3cret"}, labels={"t": "1"})
    ]
    plan = await apply(client, documents)
    assert plan["changes"] == [
        {
            "kind": "Webhook",
            "name": "pager",
            "action": "create",
            "fields": {
                "events": [None, ["alert.opened"]],
                "secret": [None, "(write-only)"],
                "url": [None, "http://127.0.0.1:9/hook"],
            },
        }
    ]
    assert (await apply(client, documents))["changes"] == [], "the secret is not compared"
    assert await fetchval(database_url, "SELECT count(*) FROM webhook_secrets") == 1
    documents[0]["spec"]["events"] = ["alert.opened", "alert.resolved"]
    changed = await apply(client, documents)
    assert changed["changes"][0]["fields"] == {
        "events": [["alert.opened"], ["alert.opened", "alert.resolved"]]
    }
    listed = ok(await client.get("/v1/webhooks"))["items"]
    assert [w["events"] for w in listed] == [["alert.opened", "alert.resolved"]]
    exported = ok(await client.post("/v1/export", json={}))["documents"]
    assert [d["spec"] for d in exported if d["kind"] == "Webhook"] == [
        {"url": "http://127.0.0.1:9/hook", "events": ["alert.opened", "alert.resolved"]}
    ]
    refused = await client.post(
        "/v1/apply", json={"documents": [doc("Webhook", "bad", {**hook, "url": "ftp://x"})]}
    )
    assert refused.status_code == 422
    pruned = await apply(client, [], prune={"labels": {"t": "1"}})
    assert actions(pruned) == [("Webhook", "pager", "delete")]
    assert ok(await client.get("/v1/webhooks"))["items"] == []


HOOK = "json://127.0.0.1:9/ops"


def notifications(target: str | None = HOOK, **channel_metadata: Any) -> list[dict[str, Any]]:
    channel = {"name": "Ops room", "kind": "apprise", "unit": "acme"}
    if target is not None:
        channel["target"] = target
    return [
        doc("Unit", "acme", {"name": "Acme", "kind": "organization"}),
        doc("Goal", "grow", {"title": "Grow", "unit": "acme"}),
        doc("Channel", "ops", channel, labels={"team": "ops"}, **channel_metadata),
        doc(
            "Subscription",
            "ops-acme",
            {"channel": "ops", "scope": {"unit": "acme"}, "min_severity": "info"},
            labels={"team": "ops"},
        ),
        doc("Subscription", "ops-grow", {"channel": "ops", "scope": {"goal": "grow"}}),
    ]


async def test_channels_and_subscriptions_apply_export_and_prune(
    client: httpx.AsyncClient, database_url: str
) -> None:
    plan = await apply(client, notifications())
    assert actions(plan)[2:] == [
        ("Channel", "ops", "create"),
        ("Subscription", "ops-acme", "create"),
        ("Subscription", "ops-grow", "create"),
    ]
    created = plan["changes"][2]["fields"]
    assert created["target"] == [None, "(write-only)"] and created["unit"] == [None, "acme"]
    assert HOOK not in json.dumps(plan), "the target is never shown"
    [channel] = ok(await client.get("/v1/channels"))["items"]
    units = {u["name"]: u["id"] for u in ok(await client.get("/v1/units"))["items"]}
    assert channel["owner"] == {"kind": "unit", "id": units["Acme"]}
    assert (
        await fetchval(
            database_url,
            "SELECT count(*) FROM notification_channels WHERE target = $1",
            HOOK.encode(),
        )
        == 0
    ), "stored sealed"
    subscriptions = ok(await client.get("/v1/subscriptions"))["items"]
    assert sorted(s["scope"]["unit_id"] is not None for s in subscriptions) == [False, True]
    assert (await apply(client, notifications()))["changes"] == [], "the same target: no change"
    assert (await apply(client, notifications(target=None)))["changes"] == [], "kept"

    # A new target (and name) changes the channel in place: its subscriptions stay.
    moved = notifications(target="json://127.0.0.1:9/ops-2")
    moved[2]["spec"]["name"] = "Ops"
    plan = await apply(client, moved)
    assert plan["changes"] == [
        {
            "kind": "Channel",
            "name": "ops",
            "action": "update",
            "fields": {
                "name": ["Ops room", "Ops"],
                "target": ["(write-only)", "(write-only)"],
            },
        }
    ]
    assert [c["id"] for c in ok(await client.get("/v1/channels"))["items"]] == [channel["id"]]
    assert len(ok(await client.get("/v1/subscriptions"))["items"]) == 2
    # A subscription changes in place too; the owner of a channel cannot change.
    moved[3]["spec"]["scope"] = {"goal": "grow"}
    plan = await apply(client, moved)
    assert plan["changes"][0]["fields"] == {"scope": [{"unit": "acme"}, {"goal": "grow"}]}
    person = {"email": "ana@example.org", "name": "Ana", "role": "member"}
    ok(await client.post("/v1/users", json={**person, "password": "correct horse battery"}), 201)
    theirs = {"name": "Ops", "kind": "apprise", "owner_email": "ana@example.org"}
    refused = await client.post("/v1/apply", json={"documents": [doc("Channel", "ops", theirs)]})
    assert refused.status_code == 422, refused.text
    assert "owner cannot change" in refused.json()["detail"]
    audited = await fetch(database_url, "SELECT resource_type, changes FROM audit_events")
    assert "notification_channel" in {r["resource_type"] for r in audited}
    assert HOOK not in json.dumps([dict(r) for r in audited], default=str), "nor audited"

    # The export leaves the target out; applying it plans nothing.
    exported = ok(await client.post("/v1/export", json={}))["documents"]
    by_kind = {(d["kind"], d["metadata"]["name"]): d for d in exported}
    assert by_kind[("Channel", "ops")]["spec"] == {"name": "Ops", "kind": "apprise", "unit": "acme"}
    assert by_kind[("Subscription", "ops-grow")]["spec"]["scope"] == {"goal": "grow"}
    assert HOOK not in json.dumps(exported)
    assert (await apply(client, exported, dry_run=True))["changes"] == []
    bad_target = notifications(target="mailto-not-a-url")
    response = await client.post("/v1/apply", json={"documents": bad_target})
    assert response.status_code == 422 and "Channel 'ops'" in response.json()["detail"]

    # Prune: only the labelled subscription (ops-grow has no label) and the channel go.
    kept = [d for d in moved if d["kind"] != "Channel" and d["metadata"]["name"] != "ops-acme"]
    kept = [d for d in kept if d["kind"] != "Subscription"]
    plan = await apply(client, kept, prune={"labels": {"team": "ops"}})
    assert actions(plan) == [
        ("Subscription", "ops-acme", "delete"),
        ("Channel", "ops", "delete"),
    ]
    assert ok(await client.get("/v1/channels"))["items"] == []
    exported = ok(await client.post("/v1/export", json={}))["documents"]
    assert {d["kind"] for d in exported} == {"Unit", "Goal"}, "a deleted channel's are gone"


async def test_channel_documents_follow_the_notification_rules(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    await apply(
        client,
        [
            doc("Unit", "acme", {"name": "Acme", "kind": "organization"}),
            doc("Unit", "sales", {"name": "Sales", "kind": "department", "parent": "acme"}),
            doc("Unit", "finance", {"name": "Finance", "kind": "department", "parent": "acme"}),
        ],
    )
    units = {u["name"]: u["id"] for u in ok(await client.get("/v1/units"))["items"]}
    key = await _person_key(client, database_url, "member", {units["Sales"]: "lead"})
    member = await _person_key(client, database_url, "member", {units["Finance"]: "member"})

    def room(unit: str) -> list[dict[str, Any]]:
        return [
            doc(
                "Channel",
                f"{unit}-room",
                {"name": unit, "kind": "apprise", "target": HOOK, "unit": unit},
            ),
            doc(
                "Subscription", f"{unit}-all", {"channel": f"{unit}-room", "scope": {"unit": unit}}
            ),
        ]

    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"Authorization": f"Bearer {key}"},
        ) as lead,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"Authorization": f"Bearer {member}"},
        ) as plain,
    ):
        assert actions(await apply(lead, room("sales"))) == [
            ("Channel", "sales-room", "create"),
            ("Subscription", "sales-all", "create"),
        ]
        refused = await lead.post("/v1/apply", json={"documents": room("finance")})
        assert refused.status_code == 403, refused.text
        assert "finance-room" in refused.json()["detail"]
        refused = await plain.post("/v1/apply", json={"documents": room("finance")})
        assert refused.status_code == 403, refused.text
        # A person's own channel needs no lead: no owner is the person applying.
        own = [
            doc("Channel", "mine", {"name": "Me", "kind": "apprise", "target": HOOK}),
            doc("Subscription", "my-goals", {"channel": "mine", "scope": {"mine": True}}),
        ]
        assert len((await apply(plain, own))["changes"]) == 2
        # Nor may a member touch the lead's channel, or see it in an export.
        renamed = room("sales")[:1]
        renamed[0]["spec"]["name"] = "Ours now"
        refused = await plain.post("/v1/apply", json={"documents": renamed})
        assert refused.status_code == 403, refused.text
        exported = ok(await plain.post("/v1/export", json={}))["documents"]
        names = {
            d["metadata"]["name"] for d in exported if d["kind"] in ("Channel", "Subscription")
        }
        assert names == {"mine", "my-goals"}
        assert (await apply(plain, exported, dry_run=True))["changes"] == []
    assert await fetchval(database_url, "SELECT count(*) FROM notification_channels") == 2


def test_the_cli_reads_a_channel_target_from_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.cli.files import check

    path = tmp_path / "notify.yaml"
    path.write_text(
        "apiVersion: northstar/v1\n"
        "kind: Channel\n"
        "metadata: {name: ops}\n"
        "spec:\n"
        "  name: Ops\n"
        "  kind: apprise\n"
        "  unit: acme\n"
        "  target: {fromEnv: OPS_HOOK}\n"
        "---\n"
        "apiVersion: northstar/v1\n"
        "kind: Subscription\n"
        "metadata: {name: ops-all}\n"
        "spec: {channel: ops, scope: {unit: acme}}\n"
    )
    monkeypatch.delenv("OPS_HOOK", raising=False)
    # validate: no secrets needed; the references of a channel and a scope are checked.
    problems = [str(p) for p in check([str(path)]).problems]
    assert problems == [
        f"{path}:7:9: spec.unit: unknown reference: no Unit named 'acme' in these files",
        f"{path}:13:36: spec.scope.unit: unknown reference: no Unit named 'acme' in these files",
    ]
    # plan/apply: the variable is read, or its absence is a problem at its line.
    problems = [str(p) for p in check([str(path)], references=False, secrets=True).problems]
    assert problems == [
        f"{path}:8:21: spec.target.fromEnv: the environment variable OPS_HOOK is not set"
    ]
    monkeypatch.setenv("OPS_HOOK", HOOK)
    checked = check([str(path)], references=False, secrets=True)
    assert checked.problems == []
    assert checked.raw[0]["spec"]["target"] == HOOK


async def test_an_unresolved_from_env_target_is_refused_by_the_server(
    client: httpx.AsyncClient,
) -> None:
    documents = notifications()
    documents[2]["spec"]["target"] = {"fromEnv": "OPS_HOOK"}
    response = await client.post("/v1/apply", json={"documents": documents})
    assert response.status_code == 422
    assert "fromEnv" in response.json()["detail"] and "Channel 'ops'" in response.json()["detail"]
    # The bootstrap key is no person: its channel needs an owner.
    del documents[2]["spec"]["unit"]
    documents[2]["spec"]["target"] = HOOK
    response = await client.post("/v1/apply", json={"documents": documents})
    assert response.status_code == 422
    assert "spec.unit or spec.owner_email" in response.json()["detail"]
