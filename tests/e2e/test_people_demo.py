"""`make run`'s demo people: every printed sign-in works with its role, the department
leads lead their units, goals are owned by people, and a lead may change their own
department's goal but not another's."""

from __future__ import annotations

import httpx

from devstack import demo
from devstack.run import _sign_ins
from tests.conftest import StartService


async def test_the_demo_people_sign_in_with_their_roles(
    start_service: StartService, admin_key: str
) -> None:
    api = start_service("api")
    ingest = start_service("ingest")
    await demo.seed(api.url, ingest.url, admin_key, 5.0)

    printed = _sign_ins(skipped=False)
    expected_roles = {"admin": "admin", "editor": "editor", "member": "member", "viewer": "viewer"}
    for label, email in demo.SIGN_INS:
        assert email in printed
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as web:
            answer = await web.post(
                "/v1/auth/login", json={"email": email, "password": demo.DEMO_PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            me = (await web.get("/v1/me")).json()
            assert me["role"] == expected_roles[label.split(" ")[0].rstrip(",")], (label, me)

    headers = {"Authorization": f"Bearer {admin_key}"}
    async with httpx.AsyncClient(base_url=api.url, headers=headers, timeout=30) as admin:
        units = {u["name"]: u for u in (await admin.get("/v1/units")).json()["items"]}
        members = (await admin.get(f"/v1/units/{units['Sales']['id']}/members")).json()
        assert [(m["email"], m["role"]) for m in members] == [
            ("sales.head@northstar.example", "lead")
        ]
        assert units["Sales"]["owner_id"] == members[0]["user_id"]
        goals = {
            g["title"]: g
            for g in (await admin.get("/v1/goals", params={"limit": 100})).json()["items"]
        }
        sales_goal = goals["Sales: hit the weekly revenue plan"]
        marketing_goal = goals["Marketing: convert web traffic"]
        assert sales_goal["owner_id"] == members[0]["user_id"]

    async with httpx.AsyncClient(base_url=api.url, timeout=30) as lead:
        answer = await lead.post(
            "/v1/auth/login",
            json={"email": "sales.head@northstar.example", "password": demo.DEMO_PASSWORD},
        )
        lead.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        own = await lead.patch(
            f"/v1/goals/{sales_goal['id']}", json={"description": "Our plan for the week."}
        )
        assert own.status_code == 200, own.text
        other = await lead.patch(
            f"/v1/goals/{marketing_goal['id']}", json={"description": "Not mine."}
        )
        assert other.status_code == 403
