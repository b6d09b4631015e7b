"""`muster run` as a user runs it: a real process serving HTTP with several worker processes, one job worker
child, graceful stop on SIGTERM and Ctrl-C, and one clear line when the port is taken.

Each test starts `muster run` on a free port against a migrated SQLite file and waits a bounded time for
it; children are read from Linux's /proc (the tests are skipped where that is missing)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from web.cli import _default_processes

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


needs_proc_children = pytest.mark.skipif(
    not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(),
    reason="needs Linux's /proc/<pid>/task/<pid>/children")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running `muster run` subprocess."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"muster run exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/openapi.json", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        pytest.fail(f"muster run did not answer within {START_TIMEOUT:.0f} s:\n{self.output()}")

    def wait_stopped(self) -> int:
        try:
            return self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"muster run did not stop within {STOP_TIMEOUT:.0f} s:\n{self.output()}")


@pytest.fixture
def start_server(database_url: str, tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    """``start_server(*args, own_group=False)``: `muster run --port <free> *args` on this test's database."""
    started: list[Server] = []

    def start(*args: str, own_group: bool = False) -> Server:
        port = _free_port()
        log = tmp_path / f"run-{port}.log"
        env = {**os.environ, "MUSTER_DATABASE_URL": database_url, "MUSTER_SECRET_KEY": "test"}
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "web.cli", "run", "--port", str(port), *args],
                                    cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, process_group=0 if own_group else None)
        server = Server(proc, port, log)
        started.append(server)
        return server

    yield start
    for server in started:  # a failed test must not leave servers behind
        if server.proc.poll() is None:
            server.proc.terminate()
            try:
                server.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()


def _assert_port_released(port: int) -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    with socket.socket() as sock:  # the next server can listen there (as servers do, with SO_REUSEADDR)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()


def _wait_gone(pids: list[int]) -> list[int]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


@needs_proc_children
def test_serves_with_two_processes_and_stops_on_sigterm(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server("--processes", "2", "--threads", "2", "--no-worker")
    server.wait_until_up()

    workers = _children(server.proc.pid)
    assert len(workers) == 2 and len(set(workers)) == 2, workers
    assert all("web.cli run" in _cmdline(p) for p in workers), [_cmdline(p) for p in workers]
    assert f"http://127.0.0.1:{server.port}/ with 2 process(es) x 2 thread(s)" in server.output()
    for _ in range(6):  # the processes take turns; every answer is whole
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/api/v1/openapi.json", timeout=10) as r:
            assert r.status == 200 and b'"openapi"' in r.read()

    server.proc.send_signal(signal.SIGTERM)
    assert server.wait_stopped() == 0, server.output()
    assert _wait_gone(workers) == []
    _assert_port_released(server.port)
    assert "Traceback" not in server.output()


@needs_proc_children
@pytest.mark.parametrize("how", ["sigterm", "ctrl-c"])
def test_one_job_worker_child_stopped_with_the_server(start_server, how: str) -> None:  # type: ignore[no-untyped-def]
    server = start_server("--processes", "2", "--threads", "1", own_group=how == "ctrl-c")
    server.wait_until_up()

    children = _children(server.proc.pid)
    job_workers = [p for p in children if "web.cli worker" in _cmdline(p)]
    http_workers = [p for p in children if "web.cli run" in _cmdline(p)]
    assert len(job_workers) == 1 and len(http_workers) == 2, [_cmdline(p) for p in children]
    assert f"job worker pid {job_workers[0]}" in server.output()
    assert _children(http_workers[0]) == []  # the server processes start no job worker of their own

    if how == "ctrl-c":  # a terminal sends SIGINT to the whole foreground process group
        os.killpg(server.proc.pid, signal.SIGINT)
    else:
        server.proc.send_signal(signal.SIGTERM)
    assert server.wait_stopped() == 0, server.output()
    assert _wait_gone(job_workers + http_workers) == [], "orphans left behind"
    _assert_port_released(server.port)
    assert "Traceback" not in server.output()


def test_port_in_use_is_one_clear_line(database_url: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "MUSTER_DATABASE_URL": database_url, "MUSTER_SECRET_KEY": "test"}
        done = subprocess.run([sys.executable, "-m", "web.cli", "run", "--port", str(port), "--no-worker"],
                              cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=STOP_TIMEOUT)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"error: cannot listen on 127.0.0.1:{port}: Address already in use"]


def test_default_processes() -> None:
    assert _default_processes("sqlite:////tmp/muster.db") == 1  # one writer on one file
    assert 1 <= _default_processes("postgresql://muster@db/muster") <= 4
