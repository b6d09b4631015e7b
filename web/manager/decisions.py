"""Quick decisions from the team queue: which of an approval form's ``decision`` options mean approve or
reject, and the data to complete the item with. The item's own form still validates it (a rejection
needs a comment because the form's if/then says so)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..formkit.schema import options

APPROVE = ("approve", "authorise", "accept", "support", "agree", "grant")
REJECT = ("reject", "refuse", "decline")


@dataclass(frozen=True)
class QuickOptions:
    """The approve-like and reject-like ``decision`` values of one form (None when it has none)."""

    approve: tuple[str, str] | None
    reject: tuple[str, str] | None

    @property
    def any(self) -> bool:
        return self.approve is not None or self.reject is not None


def quick_options(schema: Mapping[str, Any] | None) -> QuickOptions:
    """(value, label) of the form's approve and reject choices."""
    prop = ((schema or {}).get("properties") or {}).get("decision")
    choices = [(str(v), label) for v, label in options(prop)] if isinstance(prop, Mapping) else []
    return QuickOptions(_first(choices, APPROVE), _first(choices, REJECT))


def _first(choices: list[tuple[str, str]], wanted: tuple[str, ...]) -> tuple[str, str] | None:
    for word in wanted:
        for value, label in choices:
            if value == word:
                return value, label
    return None


def decision_data(decision: str, comment: str) -> dict[str, Any]:
    """The data a quick decision submits: the decision and, when given, the comment."""
    data: dict[str, Any] = {"decision": decision}
    if comment.strip():
        data["comment"] = comment.strip()
    return data
