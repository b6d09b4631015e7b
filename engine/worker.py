"""The background worker: claim due jobs, dispatch them by kind (timer, scheduled, reminder, escalation,
send_email), commit, repeat; stop gracefully when asked. ``muster worker`` runs one in the foreground;
``muster run`` supervises one ``muster worker`` process beside its web processes. Any number of workers
may run against one database.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from . import jobs, mailer, sla, timers
from .calendar import utcnow
from .db import unit_of_work
from .models import Job

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
SCHEDULE_EVERY = dt.timedelta(seconds=60)


def install_handlers() -> None:
    """Register the engine's job handlers (idempotent)."""
    timers.register()
    sla.register()
    mailer.register()


def default_worker_id() -> str:
    """host:pid:random, unique per worker (the lease owner recorded on jobs)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Worker:
    """One worker's state. ``run_once`` claims a batch of due jobs and runs each in its own transaction."""

    session_factory: sessionmaker[Session]
    worker_id: str = field(default_factory=default_worker_id)
    clock: Clock = utcnow
    batch: int = 10
    lease: dt.timedelta = jobs.LEASE
    stop_event: threading.Event = field(default_factory=threading.Event)
    _next_sync: dt.datetime | None = None

    def __post_init__(self) -> None:
        install_handlers()

    def kinds(self) -> list[str]:
        """Job kinds this worker runs: every registered kind, except email while no SMTP is configured."""
        return [k for k in jobs.HANDLERS if k != "send_email" or mailer.configured()]

    def sync_schedules(self, force: bool = False) -> None:
        """Create or update ``scheduled`` jobs for timer start events (at most once a minute)."""
        now = self.clock()
        if not force and self._next_sync is not None and now < self._next_sync:
            return
        self._next_sync = now + SCHEDULE_EVERY
        with unit_of_work(self.session_factory) as s:
            timers.sync_schedules(s, now)

    def run_once(self) -> int:
        """Claim and run the due jobs once; returns how many were claimed."""
        try:
            self.sync_schedules()
        except Exception:  # noqa: BLE001 - a schedule problem must not stop the jobs
            log.exception("worker %s: syncing schedules failed", self.worker_id)
        claimed = jobs.claim(self.session_factory, self.worker_id, now=self.clock(), limit=self.batch,
                             lease=self.lease, kinds=self.kinds())
        for n, job in enumerate(claimed):
            if self.stop_event.is_set():
                release(self.session_factory, claimed[n:], self.worker_id)
                break
            outcome = jobs.run_claimed(self.session_factory, job, self.worker_id, self.clock)
            log.info("worker %s: job %s (%s) %s", self.worker_id, job.id, job.kind, outcome)
        return len(claimed)

    def run_until_idle(self, max_rounds: int = 1000) -> int:
        """Run batches until nothing is due (tests, ``muster worker --once``); returns jobs claimed."""
        total = 0
        for _ in range(max_rounds):
            n = self.run_once()
            total += n
            if n == 0:
                break
        return total


def release(session_factory: sessionmaker[Session], claimed: list[jobs.Claimed], worker_id: str) -> None:
    """Give back jobs claimed but not started (graceful stop): due again at once, attempt not counted."""
    with unit_of_work(session_factory) as s:
        for job in claimed:
            s.execute(update(Job).where(Job.id == job.id, Job.locked_by == worker_id, Job.status == "pending")
                      .values(locked_by=None, locked_until=None, attempts=Job.attempts - 1)
                      .execution_options(synchronize_session=False))


def run_worker(session_factory: sessionmaker[Session], worker_id: str | None = None,
               stop_event: threading.Event | None = None, poll_interval: float = 2.0,
               clock: Clock = utcnow) -> None:
    """Run jobs until ``stop_event`` is set; sleeps ``poll_interval`` seconds only when nothing was due.

    The job in hand is finished before stopping; claimed jobs not yet started are released."""
    stop = stop_event or threading.Event()
    worker = Worker(session_factory, worker_id or default_worker_id(), clock, stop_event=stop)
    log.info("worker %s started", worker.worker_id)
    while not stop.is_set():
        try:
            busy = worker.run_once()
        except Exception:  # noqa: BLE001 - e.g. the database restarting: keep going
            log.exception("worker %s: round failed", worker.worker_id)
            busy = 0
        if not busy:
            stop.wait(poll_interval)
    log.info("worker %s stopped", worker.worker_id)


def run_once(session_factory: sessionmaker[Session], worker_id: str = "test-worker",
             clock: Clock = utcnow) -> int:
    """Run every due job once over (until idle); returns how many jobs were claimed. For tests and scripts."""
    return Worker(session_factory, worker_id, clock).run_until_idle()
