"""The audit trail: every mutating route, performed once, leaves exactly one record with
its actor, resource, before/after and request id; secrets never appear; `GET /v1/audit`
filters and pages."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from tests.api.conftest import ok
from tests.api.test_permissions import route_table
from tests.support import fetch

PASSWORD = "audit passphrase 2026"


# POST routes that only read (their input is a body): they change nothing, so they leave no
# record; `test_read_only_posts_leave_no_record` holds them to that.
READ_ONLY_POSTS = {
    ("POST", "/v1/kpis/expression-check"),
    ("POST", "/v1/export"),  # writes documents out, changes nothing
    ("POST", "/v1/sources/preview"),  # runs a query once, stores nothing
}
# Audited, but sending to the outside service is the point of the route, and this test's
# channel is a Slack one: tests/notifications/test_channel_tests.py performs it against a
# real SMTP server on loopback and checks its `test` record.
AUDITED_ELSEWHERE = {("POST", "/v1/channels/{channel_id}/test")}


async def _records(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(await client.get("/v1/audit", params={"limit": 1000}))["items"]
    return items


async def test_every_mutating_route_leaves_one_record(
    app: FastAPI, client: httpx.AsyncClient, database_url: str, admin_key: str
) -> None:
    ids: dict[str, str] = {}
    shown: list[str] = []  # secrets the api showed once: never in the trail

    def path(template: str) -> str:
        return re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], template)

    browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    # (method, route, body, expected action, expected resource type, a field that changes)
    steps: list[tuple[str, str, Any, str, str, str | None]] = [
        ("POST", "/v1/units", {"name": "Acme", "kind": "organization"}, "create", "unit", "name"),
        ("PATCH", "/v1/units/{unit_id}", {"name": "Acme Ltd"}, "update", "unit", "name"),
        ("POST", "/v1/channels", None, "create", "notification_channel", "name"),
        ("POST", "/v1/subscriptions", None, "create", "notification_subscription", "scope"),
        ("POST", "/v1/digests", None, "create", "notification_digest", "cadence"),
        ("DELETE", "/v1/digests/{digest_id}", None, "delete", "notification_digest", "cadence"),
        (
            "DELETE",
            "/v1/subscriptions/{subscription_id}",
            None,
            "delete",
            "notification_subscription",
            "scope",
        ),
        ("DELETE", "/v1/channels/{channel_id}", None, "delete", "notification_channel", "name"),
        (
            "POST",
            "/v1/kpis",
            {"key": "orders", "name": "Orders", "expression": "sum(orders)", "kind": "lagging"},
            "create",
            "kpi",
            "expression",
        ),
        ("PATCH", "/v1/kpis/{key}", {"name": "All orders"}, "update", "kpi", "name"),
        (
            "POST",
            "/v1/cycles",
            {"name": "Q1", "start": "2026-01-01T00:00:00Z", "due": "2026-04-01T00:00:00Z"},
            "create",
            "cycle",
            "name",
        ),
        ("PATCH", "/v1/cycles/{cycle_id}", {"name": "2026-Q1"}, "update", "cycle", "name"),
        ("POST", "/v1/goals", None, "create", "goal", "title"),
        ("PATCH", "/v1/goals/{goal_id}", {"title": "More orders"}, "update", "goal", "title"),
        ("POST", "/v1/initiatives", None, "create", "initiative", "title"),
        (
            "PATCH",
            "/v1/initiatives/{initiative_id}",
            {"title": "Big campaign"},
            "update",
            "initiative",
            "title",
        ),
        (
            "POST",
            "/v1/goals/{goal_id}/check-ins",
            {"comment": "fine", "confidence": 7},
            "create",
            "check_in",
            "comment",
        ),
        ("POST", "/v1/cycles/{cycle_id}/carry-forward", None, "carry_forward", "cycle", "goals"),
        ("DELETE", "/v1/initiatives/{initiative_id}", None, "delete", "initiative", "title"),
        ("POST", "/v1/alerts/{alert_id}/ack", {"note": "on it"}, "acknowledge", "alert", "state"),
        ("POST", "/v1/alerts/{alert_id}/resolve", None, "resolve", "alert", "state"),
        ("POST", "/v1/reviews", {"title": "Q1 review"}, "create", "review", "title"),
        (
            "POST",
            "/v1/reviews/{review_id}/decisions",
            {"kind": "action", "text": "Hire"},
            "create",
            "review_decision",
            "text",
        ),
        (
            "PATCH",
            "/v1/reviews/{review_id}/decisions/{decision_id}",
            {"done": True},
            "update",
            "review_decision",
            "done",
        ),
        (
            "POST",
            "/v1/webhooks",
            {"url": "http://127.0.0.1:9/hook", "events": ["alert.opened"]},
            "create",
            "webhook",
            "url",
        ),
        ("POST", "/v1/webhooks/{webhook_id}/secrets", {}, "create", "webhook_secret", "id"),
        (
            "DELETE",
            "/v1/webhooks/{webhook_id}/secrets/{secret_id}",
            None,
            "retire",
            "webhook_secret",
            "expires_at",
        ),
        ("DELETE", "/v1/webhooks/{webhook_id}", None, "delete", "webhook", "url"),
        (
            "POST",
            "/v1/sources",
            {
                "name": "shop",
                "kind": "sql",
                "connection": {"url": "postgresql://reader:source-password@127.0.0.1:9/shop"},
                "query": "SELECT created_at AS time, total AS value FROM orders",
                "metric": "order_total",
                "schedule": {"every": "PT5M"},
            },
            "create",
            "source",
            "query",
        ),
        ("PATCH", "/v1/sources/{source_id}", {"max_rows": 500}, "update", "source", "max_rows"),
        ("POST", "/v1/sources/{source_id}/runs", None, "run", "source", "run_id"),
        ("DELETE", "/v1/sources/{source_id}", None, "delete", "source", "query"),
        (
            "POST",
            "/v1/apply",
            {
                "documents": [
                    {
                        "apiVersion": "northstar/v1",
                        "kind": "Unit",
                        "metadata": {"name": "applied-team"},
                        "spec": {"name": "Applied team", "kind": "team"},
                    }
                ],
                "dry_run": False,
            },
            "create",
            "unit",
            "name",
        ),
        (
            "POST",
            "/v1/identity-providers",
            {
                "name": "Acme SSO",
                "issuer": "http://127.0.0.1:9/realms/acme",
                "client_id": "northstar",
                "client_secret": "identity-provider-client-secret",
            },
            "create",
            "identity_provider",
            "name",
        ),
        (
            "PATCH",
            "/v1/identity-providers/{provider_id}",
            {"name": "Acme Okta", "client_secret": "identity-provider-second-secret"},
            "update",
            "identity_provider",
            "name",
        ),
        (
            "DELETE",
            "/v1/identity-providers/{provider_id}",
            None,
            "delete",
            "identity_provider",
            "name",
        ),
        (
            "POST",
            "/v1/users",
            {"email": "pat@example.org", "name": "Pat", "role": "member", "password": PASSWORD},
            "create",
            "user",
            "email",
        ),
        (
            "PATCH",
            "/v1/users/{user_id}",
            {"role": "editor", "password": PASSWORD + "!"},
            "update",
            "user",
            "role",
        ),
        (
            "PUT",
            "/v1/users/{user_id}/notification-preferences",
            {"timezone": "Europe/Berlin", "quiet_hours": {"start": "22:00", "end": "07:00"}},
            "put",
            "notification_preferences",
            "quiet_hours",
        ),
        ("POST", "/v1/users/{user_id}/invitation", None, "invite", "user", None),
        ("POST", "/v1/auth/accept-invitation", None, "accept_invitation", "user", None),
        (
            "PUT",
            "/v1/units/{unit_id}/members/{user_id}",
            {"role": "lead"},
            "put",
            "unit_member",
            "role",
        ),
        ("DELETE", "/v1/units/{unit_id}/members/{user_id}", None, "delete", "unit_member", "role"),
        ("POST", "/v1/api-keys", {"name": "ci", "scopes": ["read"]}, "create", "api_key", "name"),
        ("DELETE", "/v1/api-keys/{key_id}", None, "revoke", "api_key", "revoked_at"),
        ("POST", "/v1/auth/login", None, "login", "session", None),
        (
            "POST",
            "/v1/me/api-keys",
            {"name": "mine", "scopes": ["read"]},
            "create",
            "api_key",
            "user_id",
        ),
        ("DELETE", "/v1/me/api-keys/{key_id}", None, "revoke", "api_key", "revoked_at"),
        (
            "PUT",
            "/v1/me/notification-preferences",
            {"timezone": "UTC", "quiet_hours": {"start": "21:00", "end": "06:00"}},
            "put",
            "notification_preferences",
            "quiet_hours",
        ),
        ("POST", "/v1/auth/logout", None, "logout", "session", None),
        ("DELETE", "/v1/goals/{goal_id}", None, "delete", "goal", "title"),
        ("DELETE", "/v1/cycles/{cycle_id}", None, "delete", "cycle", "name"),
        ("DELETE", "/v1/kpis/{key}", None, "delete", "kpi", "name"),
        ("DELETE", "/v1/units/{unit_id}", None, "delete", "unit", "name"),
    ]
    mutating = {
        (m, p)
        for m, p, _ in route_table(app)
        if m in ("POST", "PUT", "PATCH", "DELETE") and (m, p) not in READ_ONLY_POSTS
    }
    covered = {(m, p) for m, p, *_ in steps} | AUDITED_ELSEWHERE
    assert mutating - covered == set(), "mutating routes the audit test does not perform"

    next_cycle = ok(
        await client.post(
            "/v1/cycles",
            json={"name": "Q2", "start": "2026-04-01T00:00:00Z", "due": "2026-07-01T00:00:00Z"},
        ),
        201,
    )["id"]
    async with browser:
        for step, (method, template, body, action, resource_type, field) in enumerate(steps):
            seen = len(await _records(client))
            caller = client
            if template == "/v1/goals":
                # A roll-up goal in the cycle: its copy (carried forward below) holds no
                # unit or KPI the later deletes need free.
                body = {"title": "Orders", "cycle_id": ids["cycle_id"]}
            if template == "/v1/initiatives":
                body = {"goal_id": ids["goal_id"], "title": "Campaign"}
            if template.endswith("/carry-forward"):
                body = {"into_cycle_id": next_cycle, "goal_ids": [ids["goal_id"]]}
            if template == "/v1/channels":
                body = {
                    "name": "Sales team",
                    "kind": "slack",
                    "target": "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnla",
                    "owner": {"kind": "unit", "id": ids["unit_id"]},
                }
            if template == "/v1/subscriptions":
                body = {"channel_id": ids["channel_id"], "scope": {"unit_id": ids["unit_id"]}}
            if template == "/v1/digests":
                body = {"channel_id": ids["channel_id"], "cadence": "daily", "at": "08:30"}
            if template == "/v1/auth/accept-invitation":
                body = {"token": ids["invitation"], "password": PASSWORD}
            if template == "/v1/auth/login":
                caller, body = browser, {"email": "pat@example.org", "password": PASSWORD}
            if template.startswith(("/v1/me/", "/v1/auth/logout")):
                caller = browser
            response = await caller.request(
                method, path(template), json=body, headers={"X-Request-ID": f"step-{step}"}
            )
            assert response.status_code < 300, (method, template, response.text)
            answer = response.json() if response.content else {}
            if template == "/v1/units":
                ids["unit_id"] = answer["id"]
            if template == "/v1/kpis":
                ids["key"] = answer["key"]
            if template == "/v1/goals":
                ids["goal_id"] = answer["id"]
                alert_id = uuid.uuid4()
                await fetch(
                    database_url,
                    "INSERT INTO alerts (id, goal_id, kind, severity, state, opened_at, "
                    "updated_at) VALUES ($1, $2, 'status', 'warning', 'open', now(), now())",
                    alert_id,
                    uuid.UUID(answer["id"]),
                )
                ids["alert_id"] = str(alert_id)
            if template == "/v1/cycles":
                ids["cycle_id"] = answer["id"]
            if template == "/v1/initiatives":
                ids["initiative_id"] = answer["id"]
            if template == "/v1/reviews":
                ids["review_id"] = answer["id"]
            if template.endswith("/decisions"):
                ids["decision_id"] = answer["id"]
            if template == "/v1/webhooks":
                ids["webhook_id"] = answer["id"]
                shown.append(answer["secret"])
            if template.endswith("/secrets") and method == "POST":
                ids["secret_id"] = answer["id"]
                shown.append(answer["secret"])
            if template == "/v1/channels":
                ids["channel_id"] = answer["id"]
            if template == "/v1/sources":
                ids["source_id"] = answer["id"]
            if template == "/v1/subscriptions":
                ids["subscription_id"] = answer["id"]
            if template == "/v1/digests":
                ids["digest_id"] = answer["id"]
            if template == "/v1/users":
                ids["user_id"] = answer["id"]
            if template == "/v1/identity-providers":
                ids["provider_id"] = answer["id"]
            if template.startswith("/v1/identity-providers") and body:
                shown.append(body["client_secret"])
            if template.endswith("/invitation"):
                ids["invitation"] = answer["token"]
            if template == "/v1/api-keys":
                ids["key_id"] = answer["id"]
            if template == "/v1/me/api-keys":
                ids["key_id"] = answer["id"]
            if template == "/v1/auth/login":
                browser.headers["X-CSRF-Token"] = answer["csrf_token"]

            records = await _records(client)
            assert len(records) == seen + 1, (method, template, records[: len(records) - seen])
            record = records[0]
            assert record["action"] == action, (template, record)
            assert record["resource"]["type"] == resource_type, (template, record)
            assert record["request_id"] == f"step-{step}"
            assert record["actor"]["kind"] in ("user", "key")
            if field is not None:
                assert field in record["changes"], (template, record)
                before, after = record["changes"][field]
                assert before != after
                if method == "POST" and action == "create":
                    assert before is None and after is not None
                if method == "PATCH" or action in ("acknowledge", "resolve"):
                    assert before is not None and after is not None, (template, record)
                if action == "delete":
                    assert before is not None and after is None, (template, record)

    records = await _records(client)
    # Who: the bootstrap key for the admin's changes, Pat for theirs.
    assert {r["actor"]["name"] for r in records} == {"bootstrap-admin", "Pat"}
    # Never a secret: no password, key, webhook secret, token, or digest of one.
    text = str(records)
    # (The word "secret" itself appears: `webhook_secret` is a resource type.)
    assert PASSWORD not in text and admin_key not in text
    assert shown and not any(secret in text for secret in shown)
    assert "TIiajkdnla" not in text  # a channel's target
    assert "source-password" not in text  # a source's connection
    assert ids["invitation"] not in text
    stored = await fetch(database_url, "SELECT key_hash FROM api_keys")
    assert not any(row["key_hash"] in text for row in stored)


async def test_audit_filters_and_pages(client: httpx.AsyncClient, app: FastAPI) -> None:
    for name in ("A", "B", "C"):
        ok(await client.post("/v1/units", json={"name": name, "kind": "team"}), 201)
    ok(
        await client.post(
            "/v1/kpis", json={"key": "k", "name": "K", "expression": "sum(k)", "kind": "lagging"}
        ),
        201,
    )
    units = ok(await client.get("/v1/audit", params={"resource": "unit"}))["items"]
    assert [r["changes"]["name"][1] for r in units] == ["C", "B", "A"]  # newest first
    one = units[1]["resource"]["id"]
    only = ok(await client.get("/v1/audit", params={"resource": f"unit:{one}"}))["items"]
    assert [r["resource"]["id"] for r in only] == [one]
    first = ok(await client.get("/v1/audit", params={"limit": 2}))
    second = ok(await client.get("/v1/audit", params={"limit": 2, "cursor": first["next_cursor"]}))
    assert len(first["items"]) == 2 and len(second["items"]) == 2
    assert {r["id"] for r in first["items"]}.isdisjoint({r["id"] for r in second["items"]})
    actor = units[0]["actor"]["id"]
    assert len(ok(await client.get("/v1/audit", params={"actor": actor}))["items"]) == 4
    assert ok(await client.get("/v1/audit", params={"actor": str(uuid.uuid4())}))["items"] == []
    later = ok(await client.get("/v1/audit", params={"from": "2999-01-01T00:00:00Z"}))
    assert later["items"] == []
    earlier = ok(await client.get("/v1/audit", params={"to": "2000-01-01T00:00:00Z"}))
    assert earlier["items"] == []


async def test_a_refused_change_leaves_no_record(client: httpx.AsyncClient) -> None:
    ok(await client.post("/v1/units", json={"name": "Acme", "kind": "organization"}), 201)
    bad = await client.post(
        "/v1/units", json={"name": "X", "kind": "team", "parent_id": str(uuid.uuid4())}
    )
    assert bad.status_code == 422
    assert len(ok(await client.get("/v1/audit"))["items"]) == 1


async def test_read_only_posts_leave_no_record(client: httpx.AsyncClient) -> None:
    before = len(await _records(client))
    answer = await client.post(
        "/v1/kpis/expression-check", json={"expression": "sum(revenue) / count(orders)"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["metrics"] == ["orders", "revenue"]
    assert len(await _records(client)) == before
