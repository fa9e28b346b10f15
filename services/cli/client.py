"""Where the api is and which key to use, and the HTTP calls the commands make.

The command talks to the api over HTTP only, so it works against any server. The url
and key come from `NORTHSTAR_URL` / `NORTHSTAR_API_KEY`, else from what `northstar login`
stored in the user's config directory (`credentials.json`, mode 0600, in a 0700
directory: it holds a secret).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import platformdirs

DEFAULT_URL = "http://127.0.0.1:8000"


def credentials_path() -> Path:
    return Path(platformdirs.user_config_dir("northstar")) / "credentials.json"


@dataclass(frozen=True, slots=True)
class Login:
    url: str
    key: str | None


def stored_login() -> Login | None:
    try:
        data = json.loads(credentials_path().read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return None
    key = data.get("key")
    return Login(data["url"], key if isinstance(key, str) else None)


def store_login(login: Login) -> Path:
    """Write the login readable by its owner only (created 0600, never widened)."""
    path = credentials_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump({"url": login.url, "key": login.key}, file)
    os.chmod(path, 0o600)
    return path


def current_login() -> Login:
    """Environment first, then the stored login, then the local default url."""
    stored = stored_login()
    url = os.environ.get("NORTHSTAR_URL") or (stored.url if stored else DEFAULT_URL)
    key = os.environ.get("NORTHSTAR_API_KEY") or (stored.key if stored else None)
    return Login(url.rstrip("/"), key)


class ApiError(Exception):
    """The api refused (a problem+json), or could not be reached."""

    def __init__(self, status: int | None, detail: str, problem: dict[str, Any]) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.problem = problem


class Api:
    """A thin client: one method per call the commands make; counts its requests."""

    def __init__(self, login: Login, *, timeout: float = 300) -> None:
        headers = {"Authorization": f"Bearer {login.key}"} if login.key else {}
        self.http = httpx.Client(base_url=login.url, headers=headers, timeout=timeout)
        self.requests = 0

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        self.requests += 1
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(None, f"cannot reach {self.http.base_url}: {exc}", {}) from None
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {}
            if not isinstance(problem, dict):
                problem = {}
            detail = str(problem.get("detail") or response.text[:500] or response.reason_phrase)
            raise ApiError(response.status_code, detail, problem)
        return response.json()

    def me(self) -> dict[str, Any]:
        me: dict[str, Any] = self._call("GET", "/v1/me")
        return me

    def apply(
        self, documents: list[Any], *, dry_run: bool, prune: dict[str, str] | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"documents": documents, "dry_run": dry_run}
        if prune:
            body["prune"] = {"labels": prune}
        plan: dict[str, Any] = self._call("POST", "/v1/apply", json=body)
        return plan

    def export(self, unit: str | None) -> list[dict[str, Any]]:
        answer = self._call("POST", "/v1/export", json={"unit": unit} if unit else {})
        documents: list[dict[str, Any]] = answer["documents"]
        return documents

    def tree(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._call("GET", "/v1/goals/tree")["items"]
        return items
