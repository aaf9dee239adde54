"""The `reminders` command line."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from reminders.settings import get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

app = typer.Typer(help="SMS appointment reminders from your calendars.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
phones_app = typer.Typer(help="Phone number tools for support staff.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(phones_app, name="phones")
console = Console()


def _logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Create or migrate the database schema."""
    from reminders.migrations import upgrade

    settings = get_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url, revision)
    console.print(f"Database is at revision [bold]{revision}[/bold].")


@app.command()
def demo(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the database has data.")
    ] = False,
) -> None:
    """Load the demo salon: an ICS calendar, two reminder rules and 10 SMS of credit."""
    from reminders.bootstrap import build_services
    from reminders.demo import database_is_empty, load_demo

    _logging()
    services = build_services(get_settings())
    try:
        if if_empty and not database_is_empty(services):
            console.print("The database already has data; demo not loaded.")
            return
        summary = load_demo(services)
    finally:
        services.close()
    sync = summary.sync
    console.print(f"Created account [bold]Demo Salon[/bold] (id {summary.account_id}) with 10 SMS of credit.")
    console.print(
        f"Sign in with [bold]{summary.email}[/bold] and the password [bold]{summary.password}[/bold]."
    )
    console.print(
        f"Calendar feed: {summary.feed} ({summary.appointments} events, recurring expanded on sync)."
    )
    if sync.error:
        console.print(f"[red]First sync failed:[/red] {sync.error}")
    else:
        r = sync.reminders
        console.print(
            f"First sync: {sync.created} appointments; reminders planned {r.planned}, "
            f"skipped {r.skipped} (too late or all-day), cancelled {r.cancelled}."
        )
    if summary.quiet_hours_note:
        console.print(f"[yellow]{summary.quiet_hours_note}[/yellow]")
    console.print(
        "Two reminders fall due within five minutes: they appear in the outbox on the web page "
        "while [bold]reminders serve[/bold] runs (make run starts it)."
    )


def _run_web(web_app: FastAPI, host: str, port: int) -> None:
    """Serve the app with uvicorn; no `Server` header, so responses do not name the software."""
    import uvicorn

    uvicorn.run(web_app, host=host, port=port, log_level="warning", server_header=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web app with the scheduler in-process (the all-in-one embedded mode)."""
    from reminders.bootstrap import build_services
    from reminders.web.app import create_app
    from scheduler.clock import ReminderClock
    from scheduler.worker import WorkerAlreadyRunning, single_worker_lock

    _logging()
    settings = get_settings()
    services = build_services(settings)
    try:
        with single_worker_lock(settings):
            clock = ReminderClock(services)
            clock.start()
            try:
                console.print(f"Serving on http://{host}:{port}")
                _run_web(create_app(services), host, port)
            finally:
                clock.shutdown()
    except WorkerAlreadyRunning as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        services.close()


@app.command()
def web(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web app only (run `reminders worker` for syncs and sends), e.g. behind a proxy."""
    from reminders.bootstrap import build_services
    from reminders.web.app import create_app

    _logging()
    services = build_services(get_settings())
    try:
        _run_web(create_app(services), host, port)
    finally:
        services.close()


@app.command()
def worker() -> None:
    """Run the scheduler only (syncs and sends); start several against PostgreSQL to scale out."""
    from reminders.bootstrap import build_services
    from scheduler.worker import WorkerAlreadyRunning, run_worker

    _logging()
    services = build_services(get_settings())
    try:
        run_worker(services)
    except WorkerAlreadyRunning as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        services.close()


@app.command()
def sync() -> None:
    """Sync every calendar that is due now, once, and report."""
    from reminders.bootstrap import build_services
    from reminders.calendars.service import sync_due

    _logging()
    services = build_services(get_settings())
    try:
        reports = sync_due(services)
    finally:
        services.close()
    for report in reports:
        state = f"[red]{report.error}[/red]" if report.error else ("unchanged" if report.unchanged else "ok")
        counts = f"+{report.created} ~{report.updated} -{report.removed}"
        if report.held_removals:
            counts += f" (held back {report.held_removals} removals: check the calendar)"
        console.print(f"calendar {report.connection_id}: {state}; {counts}")
    if any(r.error for r in reports):
        raise typer.Exit(1)


@phones_app.command("check")
def phones_check() -> None:
    """Read JSON lines (location, title, description, region, fields) and print the number found in each."""
    from reminders.appointments.phones_check import check_lines

    check_lines(sys.stdin, sys.stdout)


if __name__ == "__main__":
    app()
