"""``muster tokens``: list a user's tokens, revoke one (by token or id) or all of a user's, purge old ones."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask import Flask

from web.cli import main

from .conftest import Api


@pytest.fixture
def muster(app: Flask, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MUSTER_DATABASE_URL", app.config["DATABASE_URL"])
    return CliRunner()


def test_revoking_a_token_by_value_stops_it_at_once(api: Api, muster: CliRunner) -> None:
    token = api.token("pc")
    result = muster.invoke(main, ["tokens", "revoke", token])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("revoked token ")
    assert api.get("/tasks", "pc").status_code == 401


def test_revoking_by_id_and_listing_show_the_status(api: Api, muster: CliRunner) -> None:
    api.token("pc")
    listed = muster.invoke(main, ["tokens", "list", "--user", "pc"])
    token_id = listed.output.splitlines()[1].split()[0]
    assert "live" in listed.output
    assert muster.invoke(main, ["tokens", "revoke", token_id]).exit_code == 0
    assert "revoked" in muster.invoke(main, ["tokens", "list", "--user", "pc"]).output


def test_revoking_all_of_a_users_tokens(api: Api, muster: CliRunner) -> None:
    api.token("pc")
    result = muster.invoke(main, ["tokens", "revoke", "--user", "pc"])
    assert result.exit_code == 0 and "revoked 1 token(s) of pc" in result.output
    assert api.get("/tasks", "pc").status_code == 401


def test_mistakes_get_one_clear_line(muster: CliRunner) -> None:
    unknown = muster.invoke(main, ["tokens", "revoke", "mst_unknown"])
    assert unknown.exit_code == 1 and unknown.output.strip() == "error: No such API token."
    nobody = muster.invoke(main, ["tokens", "list", "--user", "nobody"])
    assert nobody.exit_code == 1 and nobody.output.startswith("error: ")
    both = muster.invoke(main, ["tokens", "revoke"])
    assert both.exit_code == 2


def test_purge_reports_what_it_deleted(muster: CliRunner) -> None:
    result = muster.invoke(main, ["tokens", "purge"])
    assert result.exit_code == 0 and result.output.startswith("purged 0 old token(s)")
