"""`make screenshots`: docs/screenshots/*.png of the web app with the demo organisation.

Starts a throwaway PostgreSQL and Tansu, the three services and the demo
(`devstack.webdemo`), records one review with a decision and a target change so the
review pack has content, and has Chromium (web/e2e/screenshots.mjs) take the pictures.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from devstack.broker import TansuBroker
from devstack.postgres import PostgresServer, create_database, run_migrations
from devstack.processes import REPO_ROOT
from devstack.webdemo import CEO, DEMO_PASSWORD, demo_services

OUT_DIR = REPO_ROOT / "docs" / "screenshots"


async def _review(api_url: str, admin_key: str) -> tuple[str, str]:
    """A company review with a decision, an action and a target change; (review, goal) ids."""
    headers = {"Authorization": f"Bearer {admin_key}"}
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=30) as api:
        goals = (await api.get("/v1/goals", params={"limit": 1000})).json()["items"]
        eu = next(g for g in goals if g["title"] == "EU revenue")
        apac = next(g for g in goals if g["title"] == "APAC revenue")
        review = (
            await api.post(
                "/v1/reviews",
                json={
                    "title": "Weekly company review",
                    "participants": ["Cora Chief", "Sam Seller"],
                    "notes": "APAC is behind plan; EU slightly under pace.",
                },
            )
        ).json()
        decisions = [
            {"kind": "decision", "text": "Move two account managers from EU to APAC"},
            {
                "kind": "action",
                "text": "Review APAC pipeline with the regional lead",
                "owner": "Sam Seller",
                "goal_id": apac["id"],
            },
        ]
        for body in decisions:
            await api.post(f"/v1/reviews/{review['id']}/decisions", json={"done": False, **body})
        target = round(apac["target"] * 0.8)
        reason = "APAC launch slipped by two weeks"
        await api.patch(
            f"/v1/goals/{apac['id']}",
            json={"target": target, "reason": reason, "review_id": review["id"]},
        )
        await api.post(
            f"/v1/reviews/{review['id']}/decisions",
            json={
                "kind": "target_change",
                "text": f"Target of “APAC revenue” changed to {target}: {reason}",
                "goal_id": apac["id"],
                "done": True,
            },
        )
        return review["id"], eu["id"]


def main() -> int:
    log_dir = Path(tempfile.mkdtemp(prefix="northstar-screenshots-"))
    admin_key = secrets.token_urlsafe(24)
    with PostgresServer(fast=True) as pg, TansuBroker(log_dir=log_dir) as broker:
        database_url = asyncio.run(create_database(pg.url, "northstar_screenshots"))
        run_migrations(database_url)
        with demo_services(
            database_url=database_url,
            kafka_bootstrap=broker.bootstrap,
            admin_key=admin_key,
            log_dir=log_dir,
        ) as stack:
            review_id, goal_id = asyncio.run(_review(stack.url, admin_key))
            node_path = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"
            subprocess.run(
                ["node", "e2e/screenshots.mjs"],
                cwd=REPO_ROOT / "web",
                check=True,
                env={
                    **os.environ,
                    "PATH": node_path,
                    "NORTHSTAR_URL": stack.url,
                    "OUT_DIR": str(OUT_DIR),
                    "CEO_EMAIL": CEO.email,
                    "CEO_PASSWORD": DEMO_PASSWORD,
                    "GOAL_ID": goal_id,
                    "REVIEW_ID": review_id,
                },
            )
    for png in sorted(OUT_DIR.glob("*.png")):
        print(png.relative_to(REPO_ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
