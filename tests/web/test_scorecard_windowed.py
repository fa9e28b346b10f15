"""Issue 29: a scorecard of 1,000 goals in real Chromium draws only the rows in view, yet
its table counts every goal for assistive technology and the keyboard reaches the last
one (web/e2e/stories.mjs, `windowed`). Only the api runs: the goals are the api
benchmark's cascade written straight to the database, with judged statuses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bench.tree import _seed as seed_cascade
from devstack.webdemo import CEO, DEMO_PASSWORD, create_user
from tests.conftest import StartService
from tests.web.conftest import WEB, run_story

GOALS = 1000


async def test_a_scorecard_of_a_thousand_goals_draws_the_rows_in_view_and_reaches_them_all(
    database_url: str,
    start_service: StartService,
    admin_key: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    assert (WEB / "dist" / "index.html").is_file(), "the web app is not built: run `make web`"
    await seed_cascade(database_url, GOALS)
    api = start_service("api")
    await create_user(api.url, admin_key, CEO)
    async with httpx.AsyncClient(
        base_url=api.url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=30
    ) as client:
        tree = (await client.get("/v1/goals/tree")).json()["items"]

    def cascade(nodes: list[dict[str, Any]]) -> list[str]:
        return [t for n in nodes for t in [n["title"], *cascade(n["children"])]]

    titles = cascade(tree)
    assert len(titles) == GOALS
    shots = tmp_path_factory.mktemp("windowed")

    shown = run_story(
        "windowed",
        api.url,
        EMAIL=CEO.email,
        PASSWORD=DEMO_PASSWORD,
        ROWS=str(GOALS),
        SHOTS=str(shots),
    )

    assert shown["summary"].startswith(f"{GOALS} goals")
    assert shown["rowcount"] == str(GOALS + 1), "the header row and every goal"
    assert shown["firstRowindex"] == "2"
    assert 0 < shown["drawnAtTop"] <= 60, shown["drawnAtTop"]
    assert shown["drawnAtEnd"] <= 60, shown["drawnAtEnd"]
    assert shown["afterArrowDown"] == {"rowindex": "3", "title": titles[1]}
    assert shown["afterEnd"] == {"rowindex": str(GOALS + 1), "title": titles[-1]}
    assert shown["afterArrowUp"] == {"rowindex": str(GOALS), "title": titles[-2]}
    assert shown["afterHome"] == {"rowindex": "2", "title": titles[0]}
    assert shown["lastAfterScroll"] == titles[-1]
    assert shown["violations"] == []
    for name in ("windowed-top", "windowed-bottom"):
        assert (shots / f"{name}.png").stat().st_size > 0
