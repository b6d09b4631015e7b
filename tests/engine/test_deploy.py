"""Deployment: versions, overrides along the force chain, pinning, and refusal of bad files (nothing stored)."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import workitems
from engine.artefacts import SourceFile, collect_files
from engine.catalog import bundle_for, startable_processes
from engine.db import unit_of_work
from engine.errors import DefinitionError, NotFoundError
from engine.models import Definition, Instance

from .conftest import FIXTURES, World, text_file
from .test_instances_and_work_items import complete, only_item, start

PROCESS = (FIXTURES / "common" / "approval3" / "process.bpmn").read_text()
DMN = (FIXTURES / "common" / "approval3" / "approval3_route.dmn").read_text()


def count_definitions(world: World) -> int:
    with unit_of_work(world.factory) as s:
        return int(s.execute(select(func.count()).select_from(Definition)).scalar() or 0)


def refused(world: World, files: list[SourceFile], scope: str = "common") -> list[dict]:
    before = count_definitions(world)
    with pytest.raises(DefinitionError) as err:
        world.deploy(files, scope)
    assert count_definitions(world) == before, "an invalid deployment stored something"
    return err.value.details


def test_redeploying_identical_content_is_a_no_op(world: World) -> None:
    again = world.deploy(collect_files([FIXTURES / "common", FIXTURES / "forms"]))
    assert {i.status for i in again} == {"unchanged"} and {i.version for i in again} == {1}


def test_changed_content_becomes_the_next_version_of_that_scope(world: World) -> None:
    [item] = world.deploy([text_file("process.bpmn", PROCESS.replace("Check and pay", "Check, then pay"))])
    assert (item.key, item.scope, item.version, item.status) == ("approval3", "common", 2, "new")
    [nthn] = world.deploy([text_file("process.bpmn", PROCESS.replace("Check and pay", "Pay"))], "NTHN")
    assert (nthn.scope, nthn.version) == ("NTHN", 1)


def test_force_override_of_a_decision_wins_for_that_force_only(world: World) -> None:
    world.deploy([text_file("approval3_route.dmn", DMN.replace("&gt;= 50000", "&gt;= 100"))], "NTHN")
    with unit_of_work(world.factory) as s:
        nthn = {(t["kind"], t["key"]): t["scope"] for t in bundle_for(s, "NTHN", "approval3").trace}
        ches = {(t["kind"], t["key"]): t["scope"] for t in bundle_for(s, "CHES", "approval3").trace}
    assert nthn[("decision", "approval3_route")] == "NTHN" and nthn[("process", "approval3")] == "common"
    assert ches[("decision", "approval3_route")] == "common"
    start(world, who="npc", amount=500)  # above NTHN's threshold of 100 pence: needs the budget step
    result = complete(world, "nsgt", only_item(world, "nsgt"), {"decision": "approve"})
    assert [i.title for i in result.next_items] == ["Confirm the budget"]


def test_a_resolved_bundle_is_not_reused_once_any_part_of_it_has_a_newer_version(world: World) -> None:
    def resolved(force: str) -> dict[tuple[str, str], tuple[str, int]]:
        with unit_of_work(world.factory) as s:
            return {(t["kind"], t["key"]): (t["scope"], t["version"]) for t in bundle_for(s, force, "approval3").trace}

    first = resolved("CHES")  # resolved and cached
    assert first[("decision", "approval3_route")] == ("common", 1)
    assert resolved("CHES") == first  # the cached bundle, still current
    world.deploy([text_file("approval3_route.dmn", DMN.replace("&gt;= 50000", "&gt;= 100"))], "NTHN")
    assert resolved("CHES") == first, "another force's override changed Cheshire's bundle"
    assert resolved("NTHN")[("decision", "approval3_route")] == ("NTHN", 1)
    form = (FIXTURES / "forms" / "approval3_payment.json").read_text().replace("Paid on", "Date paid")
    world.deploy([text_file("approval3_payment.json", form)], "CHES")  # a part deep in the bundle
    assert resolved("CHES")[("form", "approval3_payment")] == ("CHES", 1)
    world.deploy([text_file("approval3_route.dmn", DMN.replace("&gt;= 50000", "&gt;= 60000"))])
    assert resolved("CHES")[("decision", "approval3_route")] == ("common", 2)
    start(world, amount=55000)  # the new common rule (>= 60000) applies: no budget step
    result = complete(world, "sgt", only_item(world, "sgt"), {"decision": "approve"})
    assert [i.title for i in result.next_items] == ["Check and pay"]


def test_nearest_scope_wins_along_the_parent_chain(world: World) -> None:
    world.deploy([text_file("process.bpmn", PROCESS.replace("Approve the request", "Shared approval"))], "MFSS")
    world.deploy([text_file("process.bpmn", PROCESS.replace("Approve the request", "Cheshire approval"))], "CHES")
    with unit_of_work(world.factory) as s:
        assert bundle_for(s, "NTHN", "approval3").items[0].scope == "MFSS"
        assert bundle_for(s, "CHES", "approval3").items[0].scope == "CHES"
        assert [p.key for p in startable_processes(s, "CHES")] == ["approval3"]


def test_running_instance_stays_on_its_version_and_new_ones_use_the_next(world: World) -> None:
    old = start(world)
    world.deploy([text_file("process.bpmn", PROCESS.replace("Check and pay", "Pay (v2)"))])
    new = start(world)
    with unit_of_work(world.factory) as s:
        versions = {iid: s.get(Instance, iid).bundle[0]["version"] for iid in (old, new)}
        assert versions == {old: 1, new: 2}
        items = {i.instance_id: i.id for i in workitems.inbox(s, user=world.user(s, "sgt"))}
    titles = {iid: [i.title for i in complete(world, "sgt", items[iid], {"decision": "approve"}).next_items]
              for iid in (old, new)}
    assert titles == {old: ["Confirm the budget"], new: ["Confirm the budget"]}
    for iid in (old, new):
        complete(world, "bh", only_item_for(world, "bh", iid), {"decision": "approve"})
    with unit_of_work(world.factory) as s:
        got = {i.instance_id: i.title for i in workitems.inbox(s, user=world.user(s, "ap"))}
    assert got == {old: "Check and pay", new: "Pay (v2)"}


def only_item_for(world: World, who: str, iid: int) -> int:
    with unit_of_work(world.factory) as s:
        return next(i.id for i in workitems.inbox(s, user=world.user(s, who)) if i.instance_id == iid)


HOSTILE = {
    "xxe.bpmn": '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>'
                '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&xxe;</bpmn:definitions>',
    "laughs.dmn": '<?xml version="1.0"?>\n<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
                  '<definitions>&b;</definitions>',
    "param.bpmn": '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><x/>',
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_xml_is_refused_before_parsing(world: World, name: str) -> None:
    [p] = refused(world, [text_file(name, HOSTILE[name])])
    assert p["file"] == name and "DOCTYPE" in p["message"]


def test_oversized_file_is_refused(world: World) -> None:
    [p] = refused(world, [text_file("big.bpmn", "<a>" + "x" * (3 * 1024 * 1024) + "</a>")])
    assert "limit" in p["message"]


def test_malformed_xml_names_the_line(world: World) -> None:
    [p] = refused(world, [text_file("broken.bpmn", PROCESS.replace("</bpmn:userTask>", "</bpmn:userTsk>", 1))])
    assert p["file"] == "broken.bpmn" and p["line"] and "not well-formed" in p["message"]


@pytest.mark.parametrize("mutation,element,fragment", [
    (('<spiffworkflow:property name="formKey" value="approval3_payment"/>', ""), "finance_check", "no formKey"),
    (('name="ssc_ap_officer"', 'name="wizard"'), "finance_check", "not a known role"),
    (("outcome = \"paid\"", "import os"), "finish", "refused by the sandbox"),
    (("decision == \"approve\"", "().__class__.__bases__"), "f_ok", "refused by the sandbox"),
    (('value="3"/>', 'value="three"/>'), "manager_approve", "whole number"),
    (('value="3"/>', 'value="3"/><spiffworkflow:property name="dueIn" value="soon"/>'), "manager_approve",
     "ISO 8601 duration"),
    (('value="3"/>', 'value="3"/><spiffworkflow:property name="escalateTo" value="wizard"/>'),
     "manager_approve", "escalateTo role"),
])
def test_convention_and_sandbox_problems_name_file_element_and_line(
        world: World, mutation: tuple[str, str], element: str, fragment: str) -> None:
    problems = refused(world, [text_file("process.bpmn", PROCESS.replace(*mutation))])
    assert any(p["element"] == element and fragment in p["message"] and p["line"] for p in problems), problems


def test_refused_dmn_cell_names_the_row(world: World) -> None:
    problems = refused(world, [text_file("approval3_route.dmn", DMN.replace("True", "__import__('os')"))])
    assert problems[0]["element"] == "r1" and "row 1 output" in problems[0]["message"]


def test_unsupported_hit_policy_is_refused(world: World) -> None:
    problems = refused(world, [text_file("r.dmn", DMN.replace('hitPolicy="UNIQUE"', 'hitPolicy="PRIORITY"'))])
    assert "PRIORITY is not supported" in problems[0]["message"]


def test_missing_called_element_decision_and_form_are_reported_per_force(world: World) -> None:
    bad = PROCESS.replace("approval3_route</spiffworkflow", "no_such_table</spiffworkflow").replace(
        'value="approval3_payment"', 'value="no_such_form"')
    messages = [p["message"] for p in refused(world, [text_file("process.bpmn", bad)])]
    assert any("decision 'no_such_table' is not available" in m for m in messages)
    assert any("form 'no_such_form' is not available" in m for m in messages)


def test_force_override_that_breaks_resolution_is_refused(world: World) -> None:
    caller = PROCESS.replace('<bpmn:scriptTask id="finish" name="Record outcome">',
                             '<bpmn:callActivity id="finish" name="Record outcome" calledElement="ghost">').replace(
        "</bpmn:scriptTask>", "</bpmn:callActivity>").replace(
        '<bpmn:script>outcome = "paid"\ntotal_pence = amount_pence</bpmn:script>', "")
    messages = [p["message"] for p in refused(world, [text_file("process.bpmn", caller)], "CHES")]
    assert any("called process 'ghost' is not available to force CHES" in m for m in messages)


def test_unknown_force_scope_is_not_found(world: World) -> None:
    with pytest.raises(NotFoundError, match="Unknown force 'ZZZ'"):
        world.deploy([text_file("process.bpmn", PROCESS)], "ZZZ")


@pytest.mark.parametrize("content,fragment", [
    ("{not json", "not valid JSON"),
    ('{"type": "array"}', '"type": "object"'),
    ('{"type": "object", "properties": {"a": {"type": "colour"}}}', "invalid JSON Schema"),
])
def test_invalid_forms_are_refused(world: World, content: str, fragment: str) -> None:
    [p] = refused(world, [text_file("bad_form.json", content)])
    assert fragment in p["message"]


def test_two_processes_in_one_file_and_wrong_root_are_refused(world: World) -> None:
    two = PROCESS.replace("</bpmn:definitions>", '<bpmn:process id="other" isExecutable="true"/></bpmn:definitions>')
    assert "exactly one executable process" in refused(world, [text_file("two.bpmn", two)])[0]["message"]
    assert "not a BPMN 2.0 file" in refused(world, [text_file("x.bpmn", "<root/>")])[0]["message"]


def _chain(n: int) -> str:
    tasks = "".join(f'<bpmn:scriptTask id="t{i}"><bpmn:script>x = {i}</bpmn:script></bpmn:scriptTask>'
                    for i in range(n))
    flows = '<bpmn:sequenceFlow id="fs" sourceRef="s" targetRef="t0"/>' + "".join(
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="t{i}" targetRef="t{i + 1}"/>' for i in range(n - 1)) + \
        f'<bpmn:sequenceFlow id="fe" sourceRef="t{n - 1}" targetRef="e"/>'
    return ('<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            f'id="d"><bpmn:process id="long" isExecutable="true"><bpmn:startEvent id="s"/>{tasks}'
            f'<bpmn:endEvent id="e"/>{flows}</bpmn:process></bpmn:definitions>')


def test_long_process_is_handled_up_to_the_parser_limit(world: World) -> None:
    [item] = world.deploy([text_file("long.bpmn", _chain(300))])
    assert item.status == "new"


def test_too_long_process_is_refused_with_a_clear_message_not_a_crash(world: World) -> None:
    problems = refused(world, [text_file("long.bpmn", _chain(700))])
    assert "too long for SpiffWorkflow's parser" in problems[0]["message"]
    problems = refused(world, [text_file("huge.bpmn", _chain(1600))])
    assert "the limit is 1500" in problems[0]["message"]


def test_deploying_nothing_is_an_error(world: World) -> None:
    with pytest.raises(DefinitionError, match="Nothing to deploy"):
        world.deploy([])


def test_missing_path_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="no such file"):
        collect_files([tmp_path / "nope"])
