"""People in the api: the 1,000-goal tree read by a unit lead who may edit only part of it
and by a viewer (both signed in with a session cookie), next to the same read with a
service key in the same run; and sign-in latency (Argon2id verification, see
docs/people.md).

`python -m bench.people` on its own, or `make bench` (`python -m bench --only people`).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from bench.infra import Infrastructure, insert_api_key
from bench.results import Row
from bench.tree import _p, _seed
from northstar.auth.passwords import hash_password

PASSWORD = "bench passphrase for people"
TREE_P95_TARGET_MS = 50.0


async def _people(database_url: str) -> None:
    """Ten units, one per root of the cascade; a lead of the first (so they may edit a
    tenth of the tree) and a viewer."""
    conn = await asyncpg.connect(database_url)
    try:
        roots = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM goals WHERE parent_id IS NULL ORDER BY created_at, id"
            )
        ]
        units = [uuid.uuid4() for _ in roots]
        await conn.executemany(
            "INSERT INTO org_units (id, name, kind) VALUES ($1, $2, 'department')",
            [(u, f"Department {n}") for n, u in enumerate(units)],
        )
        await conn.executemany(
            "UPDATE goals SET unit_id = $1 WHERE id = $2", list(zip(units, roots, strict=True))
        )
        digest = hash_password(PASSWORD)
        lead, viewer = uuid.uuid4(), uuid.uuid4()
        await conn.executemany(
            "INSERT INTO users (id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5)",
            [
                (lead, "lead@bench.example", "Lead", "member", digest),
                (viewer, "viewer@bench.example", "Viewer", "viewer", digest),
            ],
        )
        await conn.execute(
            "INSERT INTO unit_members (unit_id, user_id, role) VALUES ($1, $2, 'lead')",
            units[0],
            lead,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def _tree_times(client: httpx.AsyncClient, requests: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        (await client.get("/v1/goals/tree")).raise_for_status()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        (await client.get("/v1/goals/tree")).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def _sign_in(url: str, email: str) -> tuple[httpx.AsyncClient, float]:
    client = httpx.AsyncClient(base_url=url, timeout=30)
    started = time.perf_counter()
    response = await client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return client, elapsed


async def run(infra: Infrastructure, *, requests: int = 100, sign_ins: int = 20) -> list[Row]:
    database_url = await infra.database("bench_people")
    await _seed(database_url, 1000)
    await _people(database_url)
    key = await insert_api_key(database_url, "bench-reader", ["read"])
    env = infra.service_env(database_url, "bench-people.")
    # The bench signs in many times from one address; the throttle counts failures only,
    # but keep it out of the way should one fail.
    extra = {"api": {"NORTHSTAR_LOGIN_LIMIT_PER_ADDRESS": "10000/minute"}}
    rows: list[Row] = []
    with infra.services(env, "api", extra=extra) as services:
        url = services["api"].url
        logins = []
        for _ in range(sign_ins):
            client, elapsed = await _sign_in(url, "viewer@bench.example")
            logins.append(elapsed)
            await client.aclose()
        lead, _ = await _sign_in(url, "lead@bench.example")
        viewer, _ = await _sign_in(url, "viewer@bench.example")
        service = httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        # Interleaved rounds, so drift of the shared machine hits all three alike.
        times: dict[str, list[float]] = {"service key": [], "lead": [], "viewer": []}
        try:
            for _ in range(3):
                for name, client in (("service key", service), ("lead", lead), ("viewer", viewer)):
                    times[name] += await _tree_times(client, requests // 3, warmup=5)
        finally:
            for client in (lead, viewer, service):
                await client.aclose()
        figures = {name: (_p(t, 0.5), _p(t, 0.95)) for name, t in times.items()}
    base = figures["service key"][1]
    for name in ("lead", "viewer"):
        p50, p95 = figures[name]
        rows.append(
            Row(
                "people",
                f"goal tree (1,000 goals) read by a {name}, p95",
                p95,
                "ms",
                f"≤ {TREE_P95_TARGET_MS:g} ms",
                p95 <= TREE_P95_TARGET_MS,
                note=f"p50 {p50:.1f} ms; same run with a service key: p95 {base:.1f} ms "
                f"(ratio {p95 / base:.2f})",
            )
        )
    rows.append(
        Row(
            "people",
            "sign-in (POST /v1/auth/login), p95",
            _p(logins, 0.95),
            "ms",
            "stated",
            True,
            note=f"p50 {_p(logins, 0.5):.0f} ms over {len(logins)} sign-ins; Argon2id "
            "t=2, m=19 MiB, p=1",
        )
    )
    return rows


async def _main(args: argparse.Namespace) -> None:
    infra = Infrastructure(Path(tempfile.mkdtemp(prefix="northstar-bench-people-")))
    infra.start()
    try:
        await infra.migrate_template()
        for row in await run(infra, requests=args.requests, sign_ins=args.sign_ins):
            print(f"{row.measure}: {row.value:.1f} {row.unit}  {row.note}", flush=True)
    finally:
        infra.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.people", description=__doc__)
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--sign-ins", type=int, default=20)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
