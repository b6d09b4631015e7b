"""API benchmark: `muster run` (gunicorn) on PostgreSQL, driven over HTTP on 127.0.0.1 through a
3-user-task approval (approval3): token, then per instance start, and for each of the three steps the
approver lists their tasks and completes one; with 1 and with 8 concurrent clients.

Usage: .venv/bin/python bench/api_bench.py [--instances N] [--clients 1,8] [--servers 1] [--processes P]
    [--threads 4] [--floor SECONDS] [--py-spy OUT]
Creates and drops its own database (muster_api_bench) on the PostgreSQL server given by --postgres.
Prints instances/s, calls/s, p50/p95 ms per call type and the CPU spent per instance by the servers, the
load generator and PostgreSQL; asserts nothing.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine import org  # noqa: E402
from engine.artefacts import collect_files  # noqa: E402
from engine.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from engine.deploy import deploy  # noqa: E402
from engine.schema import upgrade  # noqa: E402

DEFS = REPO / "tests" / "fixtures" / "defs"
PASSWORD = "bench-password-1"
DATABASE = "muster_api_bench"
START = {"process": "approval3", "data": {"amount_pence": 60000, "purpose": "bench"}}
STEPS = [("mgr", "mine", {"decision": "approve"}), ("bh", "group", {"decision": "approve"}),
         ("ap", "group", {"paid_on": "2026-12-01"})]


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


@contextmanager
def bench_database(admin_url: str) -> Iterator[str]:
    """A fresh, migrated database for the run, dropped afterwards."""
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + DATABASE
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        admin.dispose()


def seed(url: str, clients: int) -> None:
    """MFSS over CHES; per client a requester, their line manager, a budget holder and an AP officer;
    the approval3 process, decision and forms in common."""
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as s:
        org.add_force(s, "MFSS", "Multi-Force Shared Service")
        org.add_force(s, "CHES", "Cheshire Constabulary", parent="MFSS")
        s.flush()
        for c in range(clients):
            for name, roles in (("mgr", ["line_manager"]), ("req", []), ("bh", ["budget_holder"]),
                                ("ap", ["ssc_ap_officer"])):
                org.add_user(s, f"{name}{c}", "CHES", f"{name} {c}", roles=["employee", *roles],
                             password=PASSWORD, manager=f"mgr{c}" if name == "req" else None)
                s.flush()
        deploy(s, collect_files([DEFS / "common", DEFS / "forms"]), "common", deployed_by="bench")
    engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(url: str, port: int, processes: int, threads: int, py_spy: Path | None) -> Iterator[tuple[str, int]]:
    """`muster run` on 127.0.0.1:port (optionally under py-spy), until the block ends; yields its base URL
    and the pid of `muster run` (gunicorn's master, whose worker processes serve the requests)."""
    cmd = [sys.executable, "-m", "web.cli", "run", "--host", "127.0.0.1", "--port", str(port),
           "--processes", str(processes), "--threads", str(threads), "--no-worker"]
    if py_spy is not None:
        cmd = [str(Path(sys.executable).parent / "py-spy"), "record", "--rate", "200", "--format", "raw",
               "--subprocesses", "--output", str(py_spy), "--"] + cmd
    env = {**os.environ, "MUSTER_DATABASE_URL": url, "MUSTER_SECRET_KEY": "api-bench"}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        _wait_until_up(base, proc)
        # under py-spy, measure `muster run` (py-spy's child), not py-spy's own sampling
        yield base, (children(proc.pid) or [proc.pid])[0] if py_spy is not None else proc.pid
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"muster run exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if requests.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError("muster run did not start within 60 s")


class Client:
    """One API client (a thread) playing four people; records the latency of every call by type.

    It speaks HTTP/1.1 with keep-alive through ``http.client`` rather than ``requests``: the load generator
    shares the machine's cores with the server and PostgreSQL, and ``requests`` costs several times more
    CPU per call. A GET is retried once on a fresh connection if the server closed an idle one."""

    def __init__(self, base: str, index: int, timings: dict[str, list[float]], errors: Counter[str]) -> None:
        self.base, self.index, self.timings, self.errors = base, index, timings, errors
        parts = urlsplit(base)
        self.host, self.port, self.prefix = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        self.tokens: dict[str, str] = {}

    def _send(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                self.conn.request(method, self.prefix + path, body=body, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if method != "GET" or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def call(self, kind: str, method: str, path: str, who: str | None, body: Any = None) -> Any:
        headers = {"Accept": "application/json"}
        if who:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        status, raw = self._send(method, path, payload, headers)
        self.timings[kind].append((time.perf_counter() - started) * 1000)
        if status >= 300:
            self.errors[f"{kind} {status}"] += 1
            raise RuntimeError(f"{method} {path}: {status} {raw[:300]!r}")
        return json.loads(raw)

    def sign_in(self) -> None:
        for role in ("req", "mgr", "bh", "ap"):
            user = f"{role}{self.index}"
            body = self.call("token", "POST", "/auth/token", None, {"username": user, "password": PASSWORD})
            self.tokens[user] = body["token"]

    def one_instance(self) -> None:
        inst = self.call("start", "POST", "/instances", f"req{self.index}", START)
        for role, scope, data in STEPS:
            who = f"{role}{self.index}"
            items = self.call("list", "GET", f"/tasks?scope={scope}", who)["items"]
            item = next(i for i in items if i["instance_id"] == inst["id"])
            self.call("complete", "POST", f"/tasks/{item['id']}/complete", who, {"data": data})


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), or NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux /proc: the children of each of its threads)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(c) for c in task.read_text().split()]
        except OSError:
            pass
    return found


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += children(p)
    return tree


def postgres_pids() -> list[int]:
    """Every PostgreSQL process on this machine (postmaster, background processes, backends)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if "postgres" in (proc / "comm").read_text():
                    pids.append(int(proc.name))
            except OSError:
                pass
    return pids


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    return {p: c for p in pids if (c := cpu_seconds(p)) == c}  # NaN: the process has gone


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two snapshots; a process that started meanwhile counts from 0, one that
    ended meanwhile is lost (its last interval is not counted)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


class CpuMeter:
    """CPU spent by the servers (each `muster run` and all its descendant processes), this process (the
    load generator: all its threads) and PostgreSQL (all its processes, whoever they work for)."""

    def __init__(self, server_pids: list[int]) -> None:
        self.server_pids = server_pids

    def snapshot(self) -> tuple[dict[int, float], float, dict[int, float]]:
        servers = cpu_by_pid([p for root in self.server_pids for p in process_tree(root)])
        return servers, time.process_time(), cpu_by_pid(postgres_pids())

    @staticmethod
    def spent(before: tuple[dict[int, float], float, dict[int, float]],
              after: tuple[dict[int, float], float, dict[int, float]]) -> dict[str, float]:
        return {"server": cpu_spent(before[0], after[0]), "bench": after[1] - before[1],
                "postgres": cpu_spent(before[2], after[2])}


def run_clients(target: Callable[[Any], None], args: list[Any], pids: list[int]) -> tuple[float, dict[str, float]]:
    """Run ``target(arg)`` in one thread per arg until all end; the wall seconds and the CPU spent (CpuMeter)."""
    meter = CpuMeter(pids)
    cpu_before = meter.snapshot()
    started = time.perf_counter()
    threads = [threading.Thread(target=target, args=(a,)) for a in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, meter.spent(cpu_before, meter.snapshot())


def drive(bases: list[str], clients: int, instances: int, pids: list[int]) -> dict[str, Any]:
    """Run ``instances`` instances split over ``clients`` threads (spread over the servers ``bases``)."""
    timings: dict[str, list[float]] = defaultdict(list)
    errors: Counter[str] = Counter()
    workers = [Client(bases[c % len(bases)], c, timings, errors) for c in range(clients)]
    for w in workers:
        w.sign_in()
    share = [instances // clients + (1 if c < instances % clients else 0) for c in range(clients)]
    done = [0] * clients

    def run(c: int) -> None:
        for _ in range(share[c]):
            try:
                workers[c].one_instance()
                done[c] += 1
            except Exception as exc:  # counted and reported; the run goes on
                print(f"client {c}: {exc}", file=sys.stderr)

    before = sum(len(v) for k, v in timings.items() if k != "token")
    seconds, cpu = run_clients(run, list(range(clients)), pids)
    calls = sum(len(v) for k, v in timings.items() if k != "token") - before
    return {"servers": len(bases), "clients": clients, "instances": sum(done), "seconds": seconds,
            "calls": calls, "cpu": cpu, "timings": dict(timings), "errors": dict(errors)}


FLOORS = [  # (label, path, signed in): the cheapest calls, to show what a call costs before any workflow work
    ("refused without a token (401; no database)", "/tasks", False),
    ("GET /instances?mine=1 (token check + one indexed query, empty list)", "/instances?mine=1", True),
]


def floor(bases: list[str], clients: int, seconds: float, pids: list[int]) -> None:
    """Drive each of the cheapest calls from ``clients`` threads for ``seconds``; print calls/s and CPU per
    call. These bound what any mix of heavier calls can reach on this machine."""
    for label, path, signed_in in FLOORS:
        timings: dict[str, list[float]] = defaultdict(list)
        errors: Counter[str] = Counter()
        workers = [Client(bases[c % len(bases)], c, timings, errors) for c in range(clients)]
        if signed_in:
            for w in workers:
                w.sign_in()
        stop = time.perf_counter() + seconds

        def run(w: Client) -> None:
            who = f"mgr{w.index}" if signed_in else None  # managers start nothing: their list stays empty
            while time.perf_counter() < stop:
                try:
                    w.call("floor", "GET", path, who)
                except RuntimeError:
                    pass  # the 401 is the answer being measured; other statuses are counted in errors
        elapsed, cpu = run_clients(run, workers, pids)
        calls = len(timings["floor"])
        ms = {k: 1000 * v / max(calls, 1) for k, v in cpu.items()}
        unexpected = {k: v for k, v in errors.items() if not (k == "floor 401" and not signed_in)}
        print(f"\nfloor, {clients} client(s): {label}: {calls / elapsed:.0f} calls/s; CPU per call: server "
              f"{ms['server']:.2f} ms + load generator {ms['bench']:.2f} ms + PostgreSQL {ms['postgres']:.2f} ms"
              f" = {sum(ms.values()):.2f} ms; p50 {pct(timings['floor'], 50):.1f} ms"
              + (f"; errors {unexpected}" if unexpected else ""))


def report(result: dict[str, Any]) -> None:
    print(f"\n{result['servers']} server(s), {result['clients']} client(s): "
          f"{result['instances']} instances in {result['seconds']:.1f} s = "
          f"{result['instances'] / result['seconds']:.1f} instances/s, "
          f"{result['calls'] / result['seconds']:.0f} API calls/s (token calls excluded); "
          f"server CPU {1000 * result['cpu']['server'] / max(result['instances'], 1):.0f} ms per instance")
    ms = {k: 1000 * v / max(result["instances"], 1) for k, v in result["cpu"].items()}
    total, cores = sum(ms.values()), os.cpu_count() or 1
    print(f"  CPU per instance: server {ms['server']:.0f} ms + load generator {ms['bench']:.0f} ms + "
          f"PostgreSQL {ms['postgres']:.0f} ms = {total:.0f} ms; ceiling {cores} cores x 1000 / {total:.0f} ms "
          f"= {cores * 1000 / max(total, 1e-9):.1f} instances/s")
    print(f"  {'call':10} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for kind in ("token", "start", "list", "complete"):
        values = result["timings"].get(kind, [])
        if values:
            print(f"  {kind:10} {len(values):6d} {pct(values, 50):8.1f} {pct(values, 95):8.1f} "
                  f"{statistics.mean(values):8.1f}")
    if result["errors"]:
        print(f"  errors: {result['errors']}")


PARTS = [  # (label, a frame marker); shares are inclusive, of the samples inside a request
    ("engine: instances.start (POST /instances)", "start (engine/instances.py"),
    ("  of which catalog.bundle_for", "bundle_for (engine/catalog.py"),
    ("engine: workitems.complete (POST /tasks/{id}/complete)", "complete (engine/workitems.py"),
    ("  of which the item lock and instance read", "_open_item_and_instance (engine/workitems.py"),
    ("engine: instances.save_progress (start and complete)", "save_progress (engine/instances.py"),
    ("  of which sla.after_save (notifications, reminders)", "after_save (engine/sla.py"),
    ("  of which audit.record", "record (engine/audit.py"),
    ("engine: SpiffWorkflow load/run/dump (all)", "(SpiffWorkflow/"),
    ("engine: workitems.inbox (GET /tasks)", "inbox (engine/workitems.py"),
    ("api: tokens.verify (every call; its transaction's first statement)", "verify (engine/tokens.py"),
    ("api: marshmallow load/dump", "(marshmallow/"),
    ("api: JSON parse/encode", "(json/"),
    ("unit of work commit", "Session.commit (sqlalchemy/orm/session.py"),
    ("SQLAlchemy (all, incl. psycopg below it)", "(sqlalchemy/"),
    ("psycopg client (all)", "(psycopg/"),
]


def summarise_profile(path: Path) -> None:
    """Where the server's CPU went while handling requests (py-spy samples, idle threads excluded)."""
    shares: Counter[str] = Counter()
    total = requests_total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        if "Flask.wsgi_app" not in stack:
            continue
        requests_total += int(count)
        for label, marker in PARTS:
            if marker in stack:
                shares[label] += int(count)
    print(f"\nserver profile: {requests_total} of {total} samples inside requests (py-spy, idle excluded)")
    for label, _ in PARTS:
        print(f"  {100 * shares[label] / max(requests_total, 1):5.1f}%  {label}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--instances", type=int, default=200, help="instances per run (default 200)")
    ap.add_argument("--clients", default="1,8", help="concurrent clients per run, comma-separated")
    ap.add_argument("--threads", type=int, default=4,
                    help="threads per server process (default 4, as `muster run`)")
    ap.add_argument("--postgres", default=os.environ.get("MUSTER_BENCH_POSTGRES_URL",
                                                         "postgresql://postgres@127.0.0.1:5432/postgres"),
                    help="a PostgreSQL URL whose server may get a scratch database")
    ap.add_argument("--servers", type=int, default=1,
                    help="`muster run` instances (clients are spread over them; default 1)")
    ap.add_argument("--processes", type=int, default=min(os.cpu_count() or 1, 4),
                    help="server processes per `muster run` (default: one per CPU up to 4, as `muster run` "
                         "on PostgreSQL)")
    ap.add_argument("--py-spy", type=Path, default=None, help="profile the (first) server into this raw file")
    ap.add_argument("--floor", type=float, default=0, metavar="SECONDS",
                    help="also drive the cheapest calls (a 401; a token check plus one query) for SECONDS each")
    args = ap.parse_args()
    runs = [int(c) for c in args.clients.split(",")]
    if not 0 < args.instances <= 5000 or not all(0 < c <= 32 for c in runs) or not 0 < args.servers <= 4 \
            or not 0 < args.processes <= 8 or not 0 < args.threads <= 32:
        ap.error("keep the load bounded: 1-5000 instances, 1-32 clients, 1-4 servers, 1-8 processes, 1-32 threads")
    with bench_database(args.postgres) as url:
        seed(url, max(runs))
        with ExitStack() as stack:
            spy = [args.py_spy] + [None] * (args.servers - 1)
            started = [stack.enter_context(server(url, free_port(), args.processes, args.threads, spy[i]))
                       for i in range(args.servers)]
            print(f"{args.servers} x `muster run --processes {args.processes} --threads {args.threads}`")
            bases, pids = [b for b, _ in started], [p for _, p in started]
            warm_clients = min(max(runs), 2 * args.processes)  # connections reach each process (likely)
            for base in bases:  # warm-up: imports, parsed-spec cache, connection pools
                drive([base], warm_clients, min(10 * args.processes, args.instances), pids)
            for clients in runs:
                report(drive(bases, clients, args.instances, pids))
            if args.floor > 0:
                floor(bases, max(runs), min(args.floor, 120), pids)
    if args.py_spy is not None and args.py_spy.exists():
        summarise_profile(args.py_spy)


if __name__ == "__main__":
    main()
