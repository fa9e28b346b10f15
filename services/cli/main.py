"""The `northstar` command: goals as code and the scorecard in a terminal (SPEC §18,
docs/goals-as-code.md).

    northstar login --url URL            keep a personal key for the commands below
    northstar validate -f PATH...        offline: file:line:column for each problem
    northstar plan -f PATH...            what would change (exit 0 none, 2 some, 1 error)
    northstar apply -f PATH... [--prune -l k=v]
    northstar export [--unit NAME] [-o FILE]
    northstar status [--watch]

Exit codes: 0 success (plan: nothing to change), 1 an error, 2 (plan only) changes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from services.cli.client import Api, ApiError, Login, current_login, store_login

if TYPE_CHECKING:
    from services.cli.files import Checked, Problem

app = typer.Typer(
    name="northstar",
    help="Northstar from the terminal: goals as code (validate, plan, apply, export) and "
    "the scorecard (status).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_ERROR = 1
EXIT_CHANGES = 2

Files = Annotated[
    list[str],
    typer.Option("--file", "-f", help="A YAML file or a directory of them (repeatable)."),
]

STATUS_STYLES = {
    "on_track": "green",
    "achieved": "bold green",
    "at_risk": "yellow",
    "off_track": "red",
    "missed": "bold red",
    "no_data": "dim",
    "not_started": "cyan",
}


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(EXIT_ERROR)


def _report(problems: list[Problem]) -> None:
    for problem in problems:
        err.print(str(problem), markup=False)


def _checked(files: list[str], *, references: bool) -> Checked:
    # Imported here: the document models load most of the api's schemas, which `status`,
    # `export` and `login` do not need.
    from services.cli.files import check

    checked = check(files, references=references, secrets=not references)
    if checked.problems:
        _report(checked.problems)
        count = len(checked.problems)
        raise _fail(f"{count} problem{'s' if count != 1 else ''} in the files")
    if not checked.loaded:
        raise _fail("no documents in the files")
    return checked


def _labels(pairs: list[str]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise _fail(f"-l takes key=value, got {pair!r}")
        labels[key] = value
    return labels


_made: list[Api] = []


def _api() -> Api:
    login = current_login()
    if login.key is None:
        raise _fail("no API key: set NORTHSTAR_API_KEY or run `northstar login`")
    api = Api(login)
    _made.append(api)
    return api


@app.callback()
def main(
    ctx: typer.Context,
    stats: Annotated[
        bool, typer.Option(help="Print the HTTP requests made and the time taken (stderr).")
    ] = False,
) -> None:
    """Northstar from the terminal."""
    if stats:
        started = time.monotonic()

        def report() -> None:
            requests = sum(api.requests for api in _made)
            elapsed = time.monotonic() - started
            err.print(f"{requests} request{'s' if requests != 1 else ''}, {elapsed:.2f} s")

        ctx.call_on_close(report)


def _server_problem(exc: ApiError, checked: Checked | None) -> typer.Exit:
    """The api's refusal, pointed at the file where it names a document."""
    if checked is not None:
        located = list(_locate(exc.problem, checked))
        if located:
            _report(located)
    return _fail(f"{exc.detail}" + (f" (HTTP {exc.status})" if exc.status else ""))


def _locate(problem: dict[str, Any], checked: Checked) -> Iterator[Problem]:
    """`documents.<i>.<path>` errors, and problems naming a document's kind and name."""
    from services.cli.files import point_at

    for error in problem.get("errors") or []:
        field = str(error.get("field") or "")
        parts = field.split(".")
        if len(parts) >= 2 and parts[0] == "documents" and parts[1].isdigit():
            index = int(parts[1])
            if index < len(checked.loaded):
                loc = [int(p) if p.isdigit() else p for p in parts[2:]]
                message = f"{'.'.join(parts[2:])}: {error.get('message')}"
                yield point_at(checked.loaded[index], loc, message)
    kind, name = problem.get("kind"), problem.get("name")
    if kind and name:
        for item in checked.loaded:
            if item.document and item.document.kind == kind and item.document.name == name:
                yield point_at(item, ("metadata", "name"), str(problem.get("detail")))


def _value(value: Any) -> str:
    if isinstance(value, dict | list):
        return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return "null" if value is None else str(value)


def _print_plan(plan: dict[str, Any], *, applied: bool) -> None:
    symbols = {"create": ("+", "green"), "update": ("~", "yellow"), "delete": ("-", "red")}
    for change in plan["changes"]:
        symbol, colour = symbols[change["action"]]
        out.print(
            Text.assemble(
                (f"{symbol} {change['action']} ", colour),
                (f"{change['kind']} ", "bold"),
                change["name"],
            )
        )
        for field, (before, after) in change["fields"].items():
            if change["action"] == "create":
                out.print(f"    {field}: {_value(after)}", markup=False)
            elif change["action"] == "delete":
                out.print(f"    {field}: {_value(before)}", markup=False, style="dim")
            else:
                out.print(f"    {field}: {_value(before)} → {_value(after)}", markup=False)
    counts = {a: sum(1 for c in plan["changes"] if c["action"] == a) for a in symbols}
    verb = "Applied" if applied else "Plan"
    if not plan["changes"]:
        out.print("No changes: the server matches the files.")
    else:
        out.print(
            f"{verb}: {counts['create']} to create, {counts['update']} to change, "
            f"{counts['delete']} to delete."
            if not applied
            else f"{verb}: {counts['create']} created, {counts['update']} changed, "
            f"{counts['delete']} deleted."
        )


@app.command()
def login(
    url: Annotated[str, typer.Option(help="The api's address.", envvar="NORTHSTAR_URL")],
    key: Annotated[
        str | None,
        typer.Option(help="A personal API key (asked for when absent; `-` reads stdin)."),
    ] = None,
) -> None:
    """Check a personal API key against the api and keep it (mode 0600) for the other
    commands."""
    if key == "-":
        key = sys.stdin.readline().strip()
    elif key is None:
        key = typer.prompt("API key", hide_input=True)
    given = Login(url.rstrip("/"), key)
    api = Api(given)
    try:
        me = api.me()
    except ApiError as exc:
        raise _fail(f"the key was refused: {exc.detail}") from None
    finally:
        api.close()
    path = store_login(given)
    who = me.get("name") or me.get("email") or "the key"
    out.print(f"Logged in to {given.url} as {who}; the key is kept in {path}.")


@app.command()
def validate(files: Files) -> None:
    """Check documents offline: fields, values, KPI expressions, duplicate names and
    references to names no file defines. Prints file:line:column for each problem."""
    checked = _checked(files, references=True)
    count = len(checked.loaded)
    out.print(f"{count} document{'s' if count != 1 else ''} valid.")


@app.command()
def plan(
    files: Files,
    prune: Annotated[
        bool, typer.Option(help="Show the deletions an apply --prune would make.")
    ] = False,
    label: Annotated[
        list[str] | None, typer.Option("--label", "-l", help="key=value: what --prune selects.")
    ] = None,
) -> None:
    """Show what an apply would change, field by field. Exit 0: nothing; 2: changes;
    1: an error."""
    checked = _checked(files, references=False)
    labels = _prune_labels(prune, label)
    api = _api()
    try:
        result = api.apply(checked.raw, dry_run=True, prune=labels)
    except ApiError as exc:
        raise _server_problem(exc, checked) from None
    finally:
        api.close()
    _print_plan(result, applied=False)
    if result["changes"]:
        raise typer.Exit(EXIT_CHANGES)


def _prune_labels(prune: bool, label: list[str] | None) -> dict[str, str] | None:
    labels = _labels(label or [])
    if prune and not labels:
        raise _fail("--prune needs at least one -l key=value: it deletes only labelled objects")
    if labels and not prune:
        raise _fail("-l selects what --prune deletes; add --prune")
    return labels or None


@app.command()
def apply(
    files: Files,
    prune: Annotated[
        bool,
        typer.Option(
            help="Delete the objects carrying the -l labels that the files no longer contain."
        ),
    ] = False,
    label: Annotated[
        list[str] | None, typer.Option("--label", "-l", help="key=value: what --prune selects.")
    ] = None,
) -> None:
    """Make the server hold what the files say: all or nothing, in one transaction."""
    checked = _checked(files, references=False)
    labels = _prune_labels(prune, label)
    api = _api()
    try:
        result = api.apply(checked.raw, dry_run=False, prune=labels)
    except ApiError as exc:
        raise _server_problem(exc, checked) from None
    finally:
        api.close()
    _print_plan(result, applied=True)


@app.command()
def export(
    unit: Annotated[
        str | None, typer.Option(help="Only this unit's subtree (its name or id).")
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Write the organisation (or one unit's subtree) as documents; applying them back
    changes nothing."""
    api = _api()
    try:
        documents = api.export(unit)
    except ApiError as exc:
        raise _server_problem(exc, None) from None
    finally:
        api.close()
    text = yaml.safe_dump_all(documents, sort_keys=False, allow_unicode=True, width=100)
    if output is None:
        sys.stdout.write(text)
    else:
        with open(output, "w", encoding="utf-8") as file:
            file.write(text)
        err.print(f"{len(documents)} documents written to {output}.")


def _scorecard(items: list[dict[str, Any]]) -> Table:
    table = Table(title="Scorecard", expand=False)
    for column, justify in (
        ("Goal", "left"),
        ("Status", "left"),
        ("Actual", "right"),
        ("Target", "right"),
        ("Score", "right"),
        ("Progress", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]

    def number(value: Any, percent: bool = False) -> str:
        if value is None:
            return "–"
        return f"{value * 100:.0f} %" if percent else f"{value:,.4g}"

    def add(node: dict[str, Any], depth: int) -> None:
        status = node["status"]
        name = status["status"]
        table.add_row(
            Text("  " * depth + node["title"]),
            Text(name.replace("_", " "), style=STATUS_STYLES.get(name, "")),
            number(status.get("actual")),
            number(node.get("target")),
            number(status.get("score")),
            number(status.get("progress"), percent=True),
        )
        for child in node.get("children", []):
            add(child, depth + 1)

    for item in items:
        add(item, 0)
    return table


@app.command()
def status(
    watch: Annotated[bool, typer.Option(help="Refresh until interrupted.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between refreshes.", min=1)] = 10,
) -> None:
    """The scorecard: every goal with its status, in colour. With --watch it is redrawn in
    place on a terminal; into a pipe or a file each refresh is printed after the last,
    under the time it was read (a Live display would print nothing until interrupted)."""
    api = _api()
    try:
        if not watch:
            out.print(_scorecard(api.tree()))
            return
        if not out.is_terminal:
            while True:
                out.print(f"# {datetime.now(UTC).isoformat(timespec='seconds')}")
                out.print(_scorecard(api.tree()))
                out.file.flush()
                time.sleep(interval)
        with Live(_scorecard(api.tree()), console=out, auto_refresh=False) as live:
            while True:
                time.sleep(interval)
                live.update(_scorecard(api.tree()), refresh=True)
    except ApiError as exc:
        raise _server_problem(exc, None) from None
    except KeyboardInterrupt:
        pass
    finally:
        api.close()


def run() -> None:
    """The console script's entry point."""
    app()


if __name__ == "__main__":
    run()
