"""The `muster` command line: it works, and a user's mistake gets one clear line and exit 1, never a traceback."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from web.cli import main

from .conftest import FIXTURES

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with tiny costs: these tests are about the command line, not hash strength."""
    from argon2 import PasswordHasher

    from engine import passwords

    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def muster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MUSTER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        result = runner.invoke(main, list(args), input=input)
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result

    assert run("db", "upgrade").exit_code == 0
    return run


def one_error_line(result: Result, fragment: str) -> None:
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("error: ") and fragment in result.output, result.output


def test_forces_and_users(muster) -> None:  # type: ignore[no-untyped-def]
    assert "added force MFSS" in muster("forces", "add", "MFSS", "--name", "Shared Service").output
    assert muster("forces", "add", "CHES", "--name", "Cheshire", "--parent", "MFSS").exit_code == 0
    one_error_line(muster("forces", "add", "CHES", "--name", "Again"), "CHES")
    one_error_line(muster("forces", "add", "ZED", "--name", "Zed", "--parent", "NOPE"), "NOPE")
    one_error_line(muster("forces", "add", "bad code!", "--name", "X"), "code")
    ok = muster("users", "add", "sgt", "--force", "CHES", "--name", "Sam Sergeant", "--roles",
                "employee,line_manager", "--password-stdin", input="a long enough password\n")
    assert ok.exit_code == 0 and "added user sgt" in ok.output
    assert muster("users", "add", "pc", "--force", "CHES", "--name", "Pat", "--manager", "sgt").exit_code == 0
    one_error_line(muster("users", "add", "xavier", "--force", "NOPE", "--name", "X"), "NOPE")
    one_error_line(muster("users", "add", "yusuf", "--force", "CHES", "--name", "Y", "--roles", "wizard"), "wizard")
    one_error_line(muster("users", "add", "zara", "--force", "CHES", "--name", "Z", "--manager", "ghost"), "ghost")


def test_deploy_definitions_and_audit(muster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = muster("deploy", str(FIXTURES / "common"), str(FIXTURES / "forms"))
    assert first.exit_code == 0 and "new       process  approval3" in first.output
    again = muster("deploy", str(FIXTURES / "common"), str(FIXTURES / "forms"))
    assert "unchanged process  approval3" in again.output and " v1" in again.output
    listing = muster("definitions").output
    assert "approval3" in listing and "approval3_route" in listing
    bad = tmp_path / "bad.bpmn"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>')
    broken = muster("deploy", str(bad))
    assert broken.exit_code == 1 and "nothing was deployed" in broken.output and "bad.bpmn" in broken.output
    assert muster("definitions").output == listing
    one_error_line(muster("deploy", str(tmp_path / "missing")), "no such file or folder")
    one_error_line(muster("deploy", "--force", "NOPE", str(FIXTURES / "forms")), "Unknown force 'NOPE'")
    assert "audit trail intact" in muster("audit", "verify").output


def test_seed_demo_loads_people_and_every_definition(muster) -> None:  # type: ignore[no-untyped-def]
    result = muster("seed-demo")
    assert result.exit_code == 0 and "seeded 5 forces" in result.output
    again = muster("seed-demo")
    assert "seeded 0 forces, 0 org units, 0 users; 0 definitions deployed" in again.output
