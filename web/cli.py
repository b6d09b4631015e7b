"""The ``muster`` command line: database, forces, users, deployment, seeding, audit, serving.

A user's mistake gets one clear line and a non-zero exit, never a traceback.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from engine import org
from engine.artefacts import collect_files, format_problem
from engine.catalog import COMMON, list_definitions
from engine.db import database_url, make_engine, make_session_factory, unit_of_work
from engine.deploy import deploy as deploy_files
from engine.errors import DefinitionError, MusterError

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent


@contextmanager
def _session() -> Iterator[Session]:
    engine = make_engine(database_url())
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _guard(fn: Callable[..., T]) -> Callable[..., T]:
    """Turn engine errors into one clear line and exit code 1."""
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except DefinitionError as exc:
            problems = exc.details or []
            click.echo(f"error: {len(problems) or 1} problem(s); nothing was deployed:", err=True)
            for p in problems or [{"file": "", "message": exc.message}]:
                click.echo(f"  {format_problem(p)}", err=True)
            sys.exit(1)
        except MusterError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(1)
        except OSError as exc:
            click.echo(f"error: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "), err=True)
            sys.exit(1)
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@click.group()
def main() -> None:
    """Muster: workflow and case management for police back-office shared services."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@_guard
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest version."""
    from engine.schema import upgrade

    url = database_url()
    upgrade(url)
    click.echo(f"database is up to date ({url.split('@')[-1]})")


@main.group()
def forces() -> None:
    """Forces, regions and the shared service."""


@forces.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Full name, e.g. 'Cheshire Constabulary'.")
@click.option("--parent", default=None, help="Parent force or shared service code.")
@_guard
def forces_add(code: str, name: str, parent: str | None) -> None:
    """Add a force."""
    with _session() as s:
        f = org.add_force(s, code, name, parent=parent)
    click.echo(f"added force {f.code} ({f.name})" + (f", parent {parent}" if parent else ""))


@main.group()
def users() -> None:
    """People who sign in."""


@users.command("add")
@click.argument("username")
@click.option("--force", "force_code", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--roles", default="employee", help="Comma-separated role names.")
@click.option("--manager", default=None, help="Username of the line manager.")
@click.option("--email", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@_guard
def users_add(username: str, force_code: str, full_name: str, roles: str, manager: str | None,
              email: str | None, password_stdin: bool) -> None:
    """Add a user."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    role_list = [r.strip() for r in roles.split(",") if r.strip()]
    with _session() as s:
        u = org.add_user(s, username, force_code, full_name, roles=role_list, manager=manager, password=password,
                         email=email)
    click.echo(f"added user {u.username} in {u.force_code} with roles {', '.join(role_list)}")


@main.command()
@click.option("--force", "force_code", default=None, help="Deploy into this force's scope instead of common.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@_guard
def deploy(force_code: str | None, paths: tuple[Path, ...]) -> None:
    """Validate and deploy BPMN, DMN and form files (files or folders)."""
    files = collect_files(list(paths))
    with _session() as s:
        items = deploy_files(s, files, force_code or COMMON, deployed_by="cli")
    for i in items:
        click.echo(f"{i.status:9} {i.kind:8} {i.key:40} {i.scope:8} v{i.version}")


@main.command()
@_guard
def definitions() -> None:
    """List deployed definitions."""
    with _session() as s:
        rows = list_definitions(s)
        click.echo(f"{'kind':8} {'id':40} {'scope':8} {'ver':>4}  {'hash':12}  deployed at")
        for d in rows:
            click.echo(f"{d.kind:8} {d.key:40} {d.scope:8} {d.version:>4}  {d.content_hash[:12]}  "
                       f"{d.deployed_at:%Y-%m-%d %H:%M:%S}")


@main.command()
@click.argument("target", type=click.Path(path_type=Path))
@_guard
def export(target: Path) -> None:
    """Write the newest deployed definitions into TARGET in the processes/ and forms/ layout."""
    from engine.export import export_definitions

    with _session() as s:
        written = export_definitions(s, target)
    click.echo(f"exported {len(written)} files into {target}")


@main.command("seed-demo")
@_guard
def seed_demo() -> None:
    """Load the demo forces, org units, users (fictional) and all definitions in the repository."""
    from engine.schema import upgrade
    from engine.seed import DEMO_PASSWORD, seed_demo as run_seed

    upgrade(database_url())
    with _session() as s:
        report = run_seed(s, REPO)
    new = sum(1 for d in report.deployed if d.status == "new")
    click.echo(f"seeded {report.forces} forces, {report.org_units} org units, {report.users} users; "
               f"{new} definitions deployed, {len(report.deployed) - new} unchanged; "
               f"{report.requests} example requests started")
    click.echo(f"demo password for every user: {DEMO_PASSWORD}")


@main.group()
def audit() -> None:
    """Audit trail."""


@audit.command("verify")
@click.argument("instance_id", required=False, type=int)
@_guard
def audit_verify(instance_id: int | None) -> None:
    """Check the audit hash chains (all instances, or one)."""
    from engine.audit import verify

    with _session() as s:
        problems = verify(s, instance_id)
    if problems:
        for p in problems:
            click.echo(f"TAMPERED instance {p.instance_id} event {p.seq}: {p.message}", err=True)
        sys.exit(1)
    click.echo("audit trail intact" + (f" for instance {instance_id}" if instance_id else ""))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--no-worker", is_flag=True,
              help="Do not run the embedded job worker (run `muster worker` instead).")
@_guard
def run(host: str, port: int, threads: int, no_worker: bool) -> None:
    """Serve Muster with a production WSGI server (waitress)."""
    from waitress import serve

    from engine.worker import start_embedded_worker
    from web import create_app

    app = create_app()
    if not no_worker:
        start_embedded_worker(make_session_factory(make_engine(database_url())))
        click.echo("the embedded worker is running timers, reminders and email")
    click.echo(f"Muster is serving on http://{host}:{port}/")
    serve(app, host=host, port=port, threads=threads, ident="muster")


@main.command()
@click.option("--poll-interval", default=2.0, show_default=True, type=float,
              help="Seconds to wait when no job is due.")
@click.option("--id", "worker_id", default=None, help="Lease owner name (default host:pid:random).")
@click.option("--once", is_flag=True, help="Run the jobs due now, then exit.")
@_guard
def worker(poll_interval: float, worker_id: str | None, once: bool) -> None:
    """Run due jobs (timers, schedules, reminders, escalations, email) until Ctrl-C or SIGTERM."""
    import signal
    import threading

    from engine.worker import Worker, default_worker_id, run_worker

    factory = make_session_factory(make_engine(database_url()))
    name = worker_id or default_worker_id()
    if once:
        n = Worker(factory, name).run_until_idle()
        click.echo(f"worker {name}: {n} job(s) run")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"worker {name} is running (Ctrl-C to stop after the current job)")
    run_worker(factory, name, stop, poll_interval)
    click.echo(f"worker {name} stopped")


@main.group()
def tokens() -> None:
    """API tokens (stored as hashes: a token is shown only once, when issued)."""


@tokens.command("revoke")
@click.argument("token_or_id", required=False)
@click.option("--user", "username", default=None, help="Revoke every live token of this user.")
@_guard
def tokens_revoke(token_or_id: str | None, username: str | None) -> None:
    """Revoke one token (the token itself or its id), or every token of --user."""
    from engine import tokens as api_tokens

    if (token_or_id is None) == (username is None):
        raise click.UsageError("give a token or its id, or --user USERNAME (not both)")
    with _session() as s:
        if username is not None:
            n = api_tokens.revoke_user_tokens(s, org.get_user_by_username(s, username))
            click.echo(f"revoked {n} token(s) of {username}")
            return
        row = api_tokens.revoke(s, token_or_id or "")
    click.echo(f"revoked token {row.id} (expires {row.expires_at:%Y-%m-%d %H:%M} UTC)")


@tokens.command("list")
@click.option("--user", "username", required=True, help="Whose tokens to list.")
@_guard
def tokens_list(username: str) -> None:
    """List a user's tokens: id, created, expires and whether each is live."""
    from engine import tokens as api_tokens

    with _session() as s:
        rows = api_tokens.list_tokens(s, org.get_user_by_username(s, username))
        click.echo(f"{'id':>6}  {'created (UTC)':16}  {'expires (UTC)':16}  status")
        for t in rows:
            status = "live" if api_tokens.is_live(t) else ("revoked" if t.revoked_at else "expired")
            click.echo(f"{t.id:>6}  {t.created_at:%Y-%m-%d %H:%M}  {t.expires_at:%Y-%m-%d %H:%M}  {status}")


@tokens.command("purge")
@_guard
def tokens_purge() -> None:
    """Delete tokens expired or revoked over 30 days ago, and stored API responses over a day old."""
    from engine import idempotency
    from engine import tokens as api_tokens

    with _session() as s:
        n, m = api_tokens.purge_expired(s), idempotency.purge(s)
    click.echo(f"purged {n} old token(s) and {m} stored API response(s)")


if __name__ == "__main__":
    main()
