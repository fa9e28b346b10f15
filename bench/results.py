"""Benchmark results, the one table `make bench` prints, and `docs/benchmarks.md`."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil  # type: ignore[import-untyped]


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table.

    `value` is the measured figure in `unit`; `ceiling` (same unit) is what the bare
    infrastructure does in the same run, when the benchmark has one. `target` is the
    goal as text (e.g. "≥ 100,000 events/s") and `met` whether `value` reached it."""

    benchmark: str
    measure: str
    value: float
    unit: str
    target: str
    met: bool
    ceiling: float | None = None
    note: str = ""

    @property
    def ratio(self) -> str:
        if self.ceiling is None or self.ceiling <= 0:
            return "—"
        return f"{self.value / self.ceiling:.0%}"


def _number(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:,.1f} ms"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "%":
        return f"{value:.1f} %"
    return f"{value:,.0f} {unit}"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """One line naming the machine: CPU, cores, RAM, OS, Python, date."""
    ram = psutil.virtual_memory().total / 2**30
    return (
        f"{cpu_model()}, {psutil.cpu_count(logical=True)} cores "
        f"({psutil.cpu_count(logical=False)} physical), {ram:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {sys.version.split()[0]}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def table(rows: list[Row]) -> str:
    """The results as a Markdown table (also readable in a terminal)."""
    header = ["benchmark", "measure", "result", "ceiling (same run)", "ratio", "target", "met"]
    lines = [header]
    for row in rows:
        lines.append(
            [
                row.benchmark,
                row.measure,
                _number(row.value, row.unit),
                _number(row.ceiling, row.unit) if row.ceiling is not None else "—",
                row.ratio,
                row.target,
                "yes" if row.met else "**no**",
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def render(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [render(lines[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [render(line) for line in lines[1:]]
    return "\n".join(out)


def notes(rows: list[Row]) -> str:
    return "\n".join(f"- {row.benchmark} / {row.measure}: {row.note}" for row in rows if row.note)


DOC_HEADER = """# Benchmarks

Produced by `make bench` (`python -m bench`); the file is rewritten on every run.
How each figure is measured, and why the ceilings are what they are, is below the table;
the profiles behind the design are in [performance.md](performance.md).
"""

METHOD = """
## Method

- **Infrastructure.** The run starts its own PostgreSQL (`devstack.postgres.PostgresServer`
  with `fast=False`: PostgreSQL's durability defaults, `fsync=on`,
  `synchronous_commit=on`, `full_page_writes=on`; only `shared_buffers=1GB` and
  `max_wal_size=4GB` are raised, as any production server would have them) and a Tansu
  broker (`devstack.broker.TansuBroker`, Kafka wire protocol, in-memory storage). The
  services run as real processes (`python -m services.<name>`), exactly as `make run`
  starts them, all on the one machine: load generator, broker, database and services
  share its cores.
- **ingest.** A separate load-generator process (`python -m bench.loadgen`, httpx,
  several keep-alive connections) posts `{"events": [...]}` bodies of 1,000 valid
  events (each with its own `event_id`, `timestamp` and dimensions) for a fixed time
  after a warm-up; only 202 answers count. Producing is `acks=all`. *Ceiling:* a bare
  `aiokafka` producer in the bench process sending the very messages ingest sends (500
  events per message, same codec, key, headers, compression and `acks=all`) to the same
  broker, as fast as it can.
- **ingest-steps.** `python -m bench.ingest_steps`: each step of ingest's per-event
  path timed in process (CPU time, best of 5, 20 bodies of 1,000 events, no HTTP,
  database or broker); the row is the share of the steps the hardening added (the
  key's sources, the rate limiter, the cardinality gate's in-memory part, routing by
  series), the note every step's µs per event.
- **evaluator.** The topic is filled first (same codec, 500 events per message); then
  one evaluator starts with 100 active goals (KPIs over the benchmark's metrics) and
  the time from its first committed batch to its last is measured (stored, folded into
  the rollups, goals evaluated, transaction and offsets committed). The 1,000,000 events
  carry timestamps spread over the last hour (a backlog, not a live stream: every batch
  touches every minute of that hour in the rollups). The second row repeats it on a
  fresh database and topic with two evaluator processes in one consumer group. The note
  gives the peak RSS of an evaluator while it catches up. *Ceiling:* bare `asyncpg`
  `COPY` of the same rows (already as Python tuples) into a plain table without
  indexes, on the same server.
- **end to end.** ingest, evaluator and api run; the load generator pushes a steady
  5,000 events/s (batches of 500) over the benchmark metrics, 100 goals are active, and a
  probe (one event of `bench_probe` with a rising value) is posted at a time; latency is
  from its 202 to the moment `goal_state.actual` of the probe goal (`max(bench_probe)`)
  holds the probe's value, polled every 2 ms. The evaluator runs with JSON logs; the
  note gives the p50/p95 of each step of its committed batches over the measured window
  (`wait_poll`, `decode`, `wait_writer`, `prepare`, `store`, `fold`, `judge`, `commit`,
  `commit_offsets`: docs/performance.md, "Issue 29").
- **api.** 1,000 goals in a three-level cascade for `GET /v1/goals/tree`; 10 million
  measurements over 30 days (generated with `INSERT … SELECT generate_series`, rollups
  folded from them by the evaluator's own fold SQL, so they agree by construction) for
  `GET /v1/goals/{id}/status` and a KPI evaluation (`KpiValueReader.value` over the
  goal's 30-day period, fresh connection state, no cache). Requests are sequential over
  one keep-alive connection, after a warm-up.
- **baseline (`[<commit>]` rows).** `make bench` passes `--baseline $(BENCH_BASELINE)`
  (the wave-1 tree, `a8d89f1`, unless set otherwise; empty leaves it out): the ingest
  and evaluator sections also run against that commit's services (a cached git
  worktree, its own migrations, this tree's bench and virtualenv), baseline first and
  then this tree, back to back on the same servers; the baseline's evaluator runs one
  replica. Each `[<commit>]` row's note gives this tree's figure against it
  (`<commit> → current ×ratio`), the only comparison the machine's drift allows
  (`bench/baseline.py`).
- **memory.** psutil RSS of each service process (every uvicorn worker, summed, when a
  service runs several), sampled through the end-to-end run; the figure is the maximum.
"""


def write_doc(path: Path, rows: list[Row], ran_on: str, seconds: float) -> None:
    text = (
        f"{DOC_HEADER}\n**Machine:** {ran_on}  \n**Total run time:** {seconds:.0f} s\n\n"
        f"{table(rows)}\n\n{notes(rows)}\n{METHOD}"
    )
    path.write_text(text)
