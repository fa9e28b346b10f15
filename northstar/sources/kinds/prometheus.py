"""`prometheus`: a PromQL range query (`/api/v1/query_range`) against a Prometheus HTTP
API; every series is a dimension set (its labels but `__name__`; `mapping.dimensions`
keeps only the labels it lists), every sample a value.

The window's start is moved up to a multiple of the step (`mapping.step`, default PT1M),
so Prometheus evaluates at the same instants on every run and an overlapping window
yields the same samples with the same ids; samples at or after the window's end are left
to the next run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from northstar.domain.durations import DurationError, parse_duration
from northstar.domain.sources import EPOCH, Window
from northstar.sources.kinds.http import check_url, get_json, url_host
from northstar.sources.rows import Pulled, PulledRow, RowError, RowProblem, as_value
from northstar.sources.spec import Connection, SourceConfigError, SourceError, SourceSpec

DEFAULT_STEP = timedelta(minutes=1)


def step_of(mapping: dict[str, Any]) -> timedelta:
    raw = mapping.get("step")
    if raw is None:
        return DEFAULT_STEP
    try:
        step = parse_duration(str(raw))
    except DurationError as error:
        raise SourceConfigError("mapping.step", str(error)) from None
    if step < timedelta(seconds=1):
        raise SourceConfigError("mapping.step", "must be at least PT1S")
    return step


def aligned_start(start: datetime, step: timedelta) -> datetime:
    """The first multiple of `step` (from the Unix epoch) at or after `start`."""
    return EPOCH - ((EPOCH - start) // step) * step


class PrometheusKind:
    def check(self, connection: Connection | None, query: str, mapping: dict[str, Any]) -> None:
        if connection is not None:
            check_url(connection.url)
        if not query.strip():
            raise SourceConfigError("query", "must be a PromQL expression")
        step_of(mapping)
        unknown = set(mapping) - {"step", "dimensions"}
        if unknown:
            raise SourceConfigError(
                "mapping", f"prometheus mapping takes step and dimensions, not {sorted(unknown)}"
            )
        dims = mapping.get("dimensions")
        if dims is not None and (
            not isinstance(dims, list) or not all(isinstance(d, str) for d in dims)
        ):
            raise SourceConfigError("mapping.dimensions", "must be a list of label names")

    def host(self, connection: Connection) -> str:
        return url_host(connection.url)

    async def fetch(
        self, spec: SourceSpec, window: Window, *, limit: int, allow_private: bool
    ) -> Pulled:
        step = step_of(spec.mapping)
        start = aligned_start(window.start, step)
        if start >= window.end:
            return Pulled()
        url = spec.connection.url.rstrip("/") + "/api/v1/query_range"
        document = await get_json(
            spec.connection,
            url,
            params={
                "query": spec.query,
                "start": f"{start.timestamp():.3f}",
                "end": f"{window.end.timestamp():.3f}",
                "step": f"{step.total_seconds():g}",
                "timeout": f"{spec.timeout_seconds:g}s",
            },
            seconds=spec.timeout_seconds,
            allow_private=allow_private,
        )
        if not isinstance(document, dict) or document.get("status") != "success":
            error = document.get("error") if isinstance(document, dict) else None
            raise SourceError(f"Prometheus refused the query: {error or document!r}")
        data = document.get("data") or {}
        if data.get("resultType") != "matrix":
            raise SourceError(
                f"the query must give a range vector (matrix), not {data.get('resultType')!r}"
            )
        keep = spec.mapping.get("dimensions")
        pulled = Pulled()
        for series in data.get("result") or []:
            labels = {k: str(v) for k, v in (series.get("metric") or {}).items()}
            labels.pop("__name__", None)
            dims = labels if keep is None else {k: v for k, v in labels.items() if k in keep}
            for stamp, raw in series.get("values") or []:
                time = datetime.fromtimestamp(float(stamp), UTC)
                if time >= window.end:
                    continue
                if len(pulled.rows) >= limit:
                    return pulled
                index = len(pulled.rows)
                pulled.rows.append({"time": time, "value": raw, **labels})
                try:
                    pulled.values.append((index, PulledRow(time, as_value(raw), dims)))
                except RowError as error:
                    pulled.problems.append(RowProblem(index, str(error)))
        return pulled
