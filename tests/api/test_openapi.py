"""The OpenAPI document: generated from the schemas, covering every endpoint, and true to the API —
schemathesis fuzzes every operation from it (a bounded run) and no call may answer 500."""
from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from web import create_app
from web.api.openapi import build_document

from .conftest import Api

DOCUMENT = build_document(create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x"}))
OPERATIONS = sorted(f"{m.upper()} {p}" for p, ops in DOCUMENT["paths"].items() for m in ops)
WITH_INPUT = {f"{m.upper()} {p}" for p, ops in DOCUMENT["paths"].items() for m, op in ops.items()
              if op.get("parameters") or op.get("requestBody")}
EXAMPLES = 12  # per operation and mode: a bounded run of a few seconds per endpoint


@pytest.fixture
def bearer(api: Api) -> dict[str, str]:
    """A token of someone who may deploy and approve (so calls get past 401 and 403)."""
    return {"Authorization": f"Bearer {api.token('designer')}"}


def test_every_api_route_is_documented(app: Flask, api: Api) -> None:
    served = api.get("/openapi.json", None).get_json()
    documented = {(m.upper(), p) for p, ops in served["paths"].items() for m in ops}
    routes = {(m, r.rule) for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")
              for m in (r.methods or set()) - {"HEAD", "OPTIONS"}}
    assert len(documented) == len(routes) == 14
    assert served == build_document(app)
    assert served["openapi"].startswith("3.")


def test_work_items_document_the_required_fields(api: Api) -> None:
    item = api.get("/openapi.json", None).get_json()["components"]["schemas"]["WorkItem"]
    assert set(item["properties"]) >= {"id", "instance_id", "process", "task", "title", "lane", "assignee",
                                       "candidate_role", "force", "form_key", "created_at", "due_at",
                                       "priority", "status"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("label", OPERATIONS)
def test_fuzzing_from_the_document_finds_no_server_errors(
        app: Flask, bearer: dict[str, str], label: str, mode: GenerationMode) -> None:
    if mode is GenerationMode.NEGATIVE and label not in WITH_INPUT:
        pytest.skip("no input to make invalid")
    # "Schema-valid data must be accepted" is not checked: the engine validates form data and BPMN beyond
    # the document, and every text field refuses NUL characters and unpaired surrogates (400), which JSON
    # Schema cannot express. What is checked: no 5xx, and every response matches the document.
    excluded = [positive_data_acceptance]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema.find_operation_by_label(label)
    assert operation is not None

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate])
    def fuzz(case: Any) -> None:
        # A valid token replaces the generated one, except where a negative case made the header itself
        # invalid (the token is the only header): a valid token would make that request valid, and accepted.
        header = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
        dropped = header is not None and header.mode is GenerationMode.NEGATIVE
        case.call_and_validate(headers={} if dropped else bearer, excluded_checks=excluded)

    fuzz()
