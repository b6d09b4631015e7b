"""The engine's error hierarchy; the web layer maps each class to one HTTP status in one place."""
from __future__ import annotations

from typing import Any


class MusterError(Exception):
    """Root of every error the engine raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class NotFoundError(MusterError):
    """The object does not exist, or belongs to another force (we never say which)."""

    code = "not_found"


class NotAllowedError(MusterError):
    """The user lacks a role, or segregation of duties forbids the action."""

    code = "not_allowed"


class InvalidInputError(MusterError):
    """Input failed validation. ``details`` maps field paths to lists of messages."""

    code = "invalid_input"


class ConflictError(MusterError):
    """Somebody else changed the object first (stale version, already completed, already claimed)."""

    code = "conflict"


class DefinitionError(MusterError):
    """A BPMN, DMN or form definition is invalid. ``details`` is a list of DefinitionProblem dicts."""

    code = "definition_error"


class WorkflowRunError(MusterError):
    """A process step failed at run time (script error, depth limit); the instance is put in error."""

    code = "workflow_error"


class SandboxError(MusterError):
    """An expression or script was refused or failed inside the sandbox."""

    code = "sandbox_error"
