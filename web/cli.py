"""The ``muster`` command line: database, forces, users, deployment, seeding, audit, serving.

A user's mistake gets one clear line and a non-zero exit, never a traceback.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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


MAX_DEFAULT_PROCESSES = 4
JOB_WORKER_RESTART_DELAY = 10.0  # seconds between restarts of a job worker that died


def _default_processes(url: str) -> int:
    """SQLite: 1 (one database file, one writer at a time). Otherwise one per CPU this process may use, at
    most 4: each process keeps its own connection pool and caches, and the database needs CPU too."""
    if url.startswith("sqlite"):
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, MAX_DEFAULT_PROCESSES))


def _check_address(host: str, port: int) -> None:
    """Fail at once, in one line, when host:port cannot be listened on (gunicorn would retry for 5 s)."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
            probe.bind(address)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot listen on {host}:{port}", exc.strerror or str(exc)) from None


def _settle_shared_config() -> None:
    """Resolve the configuration once before the server processes start, so that a secret key generated
    into the instance folder is written here, once, and every process reads the same key."""
    from flask import Flask

    from web.config import load_config

    load_config(Flask("web", instance_relative_config=True))


class _JobWorker:
    """``muster worker`` as a child process of ``muster run``: one per ``muster run`` whatever the number
    of server processes, restarted if it dies, stopped (SIGTERM, wait, SIGKILL) when ``muster run`` stops.

    It runs in its own process group, so a Ctrl-C in the terminal reaches only ``muster run``, which
    stops it; on Linux it also gets SIGTERM should ``muster run`` die without stopping it."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "web.cli", "worker"], stdin=subprocess.DEVNULL,
                                     process_group=0, preexec_fn=_terminate_with_parent())
        self.started_at = time.monotonic()

    def poll(self) -> int | None:
        """Reap the job worker if it has exited (before gunicorn's waitpid(-1) does); its exit code or None."""
        return None if self.proc is None else self.proc.poll()

    def keep_running(self, log: Any) -> None:
        """Restart the job worker if it died (not more often than every JOB_WORKER_RESTART_DELAY seconds)."""
        if self.proc is None or self.proc.poll() is None:
            return
        if time.monotonic() - self.started_at >= JOB_WORKER_RESTART_DELAY:
            log.error("the job worker (pid %s) exited with code %s; starting another", self.proc.pid,
                      self.proc.returncode)
            self.start()

    def ask_to_stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # it finishes its current job, releases the rest

    def stop(self, timeout: float) -> None:
        """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL."""
        if self.proc is None:
            return
        self.ask_to_stop()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _terminate_with_parent() -> Callable[[], None] | None:
    """Linux: a child-side hook asking the kernel to SIGTERM the child when its parent dies."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def hook() -> None:
        libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)
    return hook


def _serve(host: str, port: int, processes: int, threads: int, job_worker: _JobWorker | None) -> None:
    """gunicorn (gthread workers) on host:port until SIGTERM or Ctrl-C; each worker process creates its
    own app, engine and connection pool after the fork (nothing database-related exists before it)."""
    from gunicorn.app.base import BaseApplication
    from gunicorn.arbiter import Arbiter

    class MusterArbiter(Arbiter):  # type: ignore[misc]
        """gunicorn's master, which also looks after the job worker; Ctrl-C stops gracefully, as SIGTERM
        does (a second Ctrl-C while stopping hurries it)."""

        def handle_int(self) -> None:
            raise StopIteration

        def handle_chld(self) -> None:
            if job_worker is not None:
                job_worker.poll()
            super().handle_chld()

        handle_cld = handle_chld  # SIGCLD is SIGCHLD on Linux; gunicorn dispatches by either name

        def manage_workers(self) -> None:
            super().manage_workers()
            if job_worker is not None:
                job_worker.keep_running(self.log)

        def stop(self, graceful: bool = True) -> None:
            if job_worker is not None:
                job_worker.ask_to_stop()  # both stop at once; the HTTP workers finish their requests
            try:
                super().stop(graceful)
            finally:
                if job_worker is not None:
                    job_worker.stop(self.cfg.graceful_timeout)

    def when_ready(_arbiter: Arbiter) -> None:  # listening; the worker processes are about to start
        if job_worker is not None:
            job_worker.start()
        where = f"[{host}]" if ":" in host else host
        click.echo(f"Muster is serving on http://{where}:{port}/ with {processes} process(es) x {threads} "
                   f"thread(s); " + ("no job worker (--no-worker)" if job_worker is None or job_worker.proc is None
                                     else f"job worker pid {job_worker.proc.pid}"))

    def post_worker_init(worker: Any) -> None:  # Ctrl-C in the terminal reaches every process: be graceful
        signal.signal(signal.SIGINT, worker.handle_exit)

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            settings = {
                "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
                "worker_class": "gthread", "workers": processes, "threads": threads,
                "preload_app": False,  # the app (its engine and pool) is created in each worker, after fork
                "proc_name": "muster", "loglevel": "warning",
                "forwarded_allow_ips": "",  # proxies are the app's business (MUSTER_PROXY_FIX), in one place
                "control_socket_disable": True,
                # API clients reuse connections; gunicorn's 2 s default closes them between calls, and a
                # request sent as the server closes its connection is lost. Idle connections wait in the
                # poller, not in a thread, so a longer keep-alive costs no worker.
                "keepalive": 75,
                "when_ready": when_ready, "post_worker_init": post_worker_init,
            }
            if os.path.isdir("/dev/shm"):
                settings["worker_tmp_dir"] = "/dev/shm"  # heartbeat files in memory, never on a slow disk
            for name, value in settings.items():
                self.cfg.set(name, value)

        def load(self) -> Any:
            from web import create_app

            return create_app()

        def run(self) -> None:
            try:
                MusterArbiter(self).run()
            except RuntimeError as exc:
                click.echo(f"error: {exc}", err=True)
                sys.exit(1)

    master = os.getpid()
    try:
        Server(prog="muster run").run()
    finally:
        if os.getpid() == master and job_worker is not None:  # gunicorn's workers unwind through here too
            job_worker.stop(30.0)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--processes", default=None, type=click.IntRange(1, 64),
              help="Server processes. Default: one per CPU, at most 4, on PostgreSQL; 1 on SQLite (one "
                   "database file takes one writer at a time).")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Threads per process. Keep it small: threads of one process contend for Python's GIL, "
                   "so add processes rather than threads.")
@click.option("--no-worker", is_flag=True,
              help="Do not start the job worker (run `muster worker` instead).")
@_guard
def run(host: str, port: int, processes: int | None, threads: int, no_worker: bool) -> None:
    """Serve Muster with gunicorn (processes x threads), plus one job worker process.

    The job worker (timers, reminders, escalations, email) runs once per `muster run`, however many
    server processes there are. SIGTERM or Ctrl-C stops gracefully: requests in progress and the job in
    hand are finished first."""
    processes = processes or _default_processes(database_url())
    _check_address(host, port)
    _settle_shared_config()
    _serve(host, port, processes, threads, None if no_worker else _JobWorker())


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
