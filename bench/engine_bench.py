"""Engine benchmark: a 3-user-task approval, (a) raw SpiffWorkflow in memory, (b) Muster on SQLite,
(c) Muster on PostgreSQL; plus the cost of one completion with 10 vs 400 completed tasks in history.

Usage: .venv/bin/python bench/engine_bench.py [--instances N] [--postgres URL]
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import text  # noqa: E402

from engine import instances, org, workitems  # noqa: E402
from engine.artefacts import SourceFile, collect_files  # noqa: E402
from engine.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from engine.deploy import deploy  # noqa: E402
from engine.runtime import SourceDoc, parse_docs  # noqa: E402

DEFS = REPO / "tests" / "fixtures" / "defs"
DATA = {"amount_pence": 60000, "purpose": "bench"}
STEPS = [("sgt", {"decision": "approve"}), ("bh", {"decision": "approve"}), ("ap", {"paid_on": "2026-12-01"})]

LOOP = """<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="dloop">
  <bpmn:process id="loop_user" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="requester"><bpmn:flowNodeRef>work</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="init"><bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing>
      <bpmn:script>n = 0</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="join"><bpmn:incoming>b</bpmn:incoming><bpmn:incoming>back</bpmn:incoming>
      <bpmn:outgoing>c</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="work" name="Do one more">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formKey" value="approval3_payment"/></spiffworkflow:properties>
      </bpmn:extensionElements><bpmn:incoming>c</bpmn:incoming><bpmn:outgoing>d</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="count"><bpmn:incoming>d</bpmn:incoming><bpmn:outgoing>e</bpmn:outgoing>
      <bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="more" default="done"><bpmn:incoming>e</bpmn:incoming>
      <bpmn:outgoing>back</bpmn:outgoing><bpmn:outgoing>done</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>done</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="init"/>
    <bpmn:sequenceFlow id="b" sourceRef="init" targetRef="join"/>
    <bpmn:sequenceFlow id="c" sourceRef="join" targetRef="work"/>
    <bpmn:sequenceFlow id="d" sourceRef="work" targetRef="count"/>
    <bpmn:sequenceFlow id="e" sourceRef="count" targetRef="more"/>
    <bpmn:sequenceFlow id="back" sourceRef="more" targetRef="join">
      <bpmn:conditionExpression>n &lt; 1000</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="done" sourceRef="more" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def raw_spiff(n: int, sandbox: bool) -> tuple[float, list[float]]:
    """Start + 3 completions per instance, in memory, no persistence."""
    docs = [SourceDoc("process", "process.bpmn", (DEFS / "common/approval3/process.bpmn").read_text()),
            SourceDoc("decision", "r.dmn", (DEFS / "common/approval3/approval3_route.dmn").read_text())]
    parsed = parse_docs("approval3", docs)
    from engine.sandbox import make_script_engine

    per_step: list[float] = []
    t0 = time.perf_counter()
    for _ in range(n):
        wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs,
                          **({"script_engine": make_script_engine()} if sandbox else {}))
        wf.get_tasks(state=TaskState.READY)[0].data.update(DATA)
        wf.do_engine_steps()
        for _who, data in STEPS:
            s = time.perf_counter()
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data.update(data)
            task.run()
            wf.do_engine_steps()
            per_step.append((time.perf_counter() - s) * 1000)
        assert wf.is_completed()
    return n / (time.perf_counter() - t0), per_step


def setup_db(url: str) -> Callable[..., object]:
    from engine.schema import upgrade

    if url.startswith("postgresql"):
        eng = make_engine(url)
        with eng.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        eng.dispose()
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    with unit_of_work(factory) as s:
        org.add_force(s, "CHES", "Cheshire")
        org.add_user(s, "sgt", "CHES", "Sergeant", roles=["line_manager"])
        org.add_user(s, "pc", "CHES", "Constable", roles=["employee"], manager="sgt")
        org.add_user(s, "bh", "CHES", "Budget", roles=["budget_holder"])
        org.add_user(s, "ap", "CHES", "AP", roles=["ssc_ap_officer"])
    with unit_of_work(factory) as s:
        deploy(s, collect_files([DEFS / "common", DEFS / "forms"]))
        deploy(s, [SourceFile("loop.bpmn", LOOP.encode())])
    return factory


def muster(factory: Callable[..., object], n: int) -> tuple[float, list[float]]:
    """Start + 3 completions per instance through the use cases, one transaction per command."""
    per_step: list[float] = []
    t0 = time.perf_counter()
    for _ in range(n):
        with unit_of_work(factory) as s:
            inst = instances.start_instance(s, user=org.get_user_by_username(s, "pc"), process_key="approval3",
                                            data=DATA)
            iid = inst.id
        for who, data in STEPS:
            st = time.perf_counter()
            with unit_of_work(factory) as s:
                user = org.get_user_by_username(s, who)
                item = next(i for i in workitems.inbox(s, user=user) if i.instance_id == iid)
                workitems.complete(s, user=user, item_id=item.id, data=data)
            per_step.append((time.perf_counter() - st) * 1000)
    return n / (time.perf_counter() - t0), per_step


def history_cost(factory: Callable[..., object]) -> dict[int, float]:
    """Median ms of one completion when the instance already holds ~10 and ~400 completed tasks."""
    with unit_of_work(factory) as s:
        iid = instances.start_instance(s, user=org.get_user_by_username(s, "pc"), process_key="loop_user",
                                       data={}).id
    out: dict[int, list[float]] = {}
    for i in range(1, 106):
        st = time.perf_counter()
        with unit_of_work(factory) as s:
            user = org.get_user_by_username(s, "pc")
            item = next(x for x in workitems.inbox(s, user=user) if x.instance_id == iid)
            workitems.complete(s, user=user, item_id=item.id, data={"paid_on": "2026-12-01"})
        ms = (time.perf_counter() - st) * 1000
        tasks_done = 2 + 4 * (i - 1)  # start + init, then 4 per iteration (join, work, count, more)
        for mark in (10, 400):
            if mark - 8 <= tasks_done <= mark + 12:
                out.setdefault(mark, []).append(ms)
    return {k: statistics.median(v) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--instances", type=int, default=200)
    ap.add_argument("--postgres", default=os.environ.get("MUSTER_BENCH_POSTGRES_URL",
                                                         "postgresql://postgres@127.0.0.1:5432/test"))
    args = ap.parse_args()
    n = args.instances
    rows = []
    for label, sandbox in (("(a) raw SpiffWorkflow, default engine", False),
                           ("(a') raw SpiffWorkflow + sandbox", True)):
        ips, steps = raw_spiff(n, sandbox)
        rows.append((label, ips, steps, None))
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("(b) Muster on SQLite", f"sqlite:///{tmp}/bench.db")]
        if args.postgres:
            backends.append(("(c) Muster on PostgreSQL", args.postgres))
        for label, url in backends:
            try:
                factory = setup_db(url)
            except Exception as exc:  # a missing PostgreSQL is reported, not fatal
                print(f"{label}: skipped ({exc.__class__.__name__}: {exc})")
                continue
            ips, steps = muster(factory, n)
            rows.append((label, ips, steps, history_cost(factory)))
    print(f"\n3-user-task approval, {n} instances each (start + 3 completions)\n")
    print(f"{'setup':42} {'inst/s':>8} {'median ms':>10} {'p95 ms':>8}  completion @10 / @400 tasks")
    base = statistics.median(rows[0][2])
    for label, ips, steps, hist in rows:
        h = f"{hist.get(10, float('nan')):.2f} / {hist.get(400, float('nan')):.2f} ms" if hist else "-"
        print(f"{label:42} {ips:8.1f} {statistics.median(steps):10.3f} {pct(steps, 95):8.3f}  {h}"
              f"   ({statistics.median(steps) / base:.1f}x raw per step)")


if __name__ == "__main__":
    main()
