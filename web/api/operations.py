"""What each API view accepts and returns, declared next to it with ``@operation(...)``.

The declarations drive the OpenAPI document (``web.api.openapi``) and mark the public (token-free)
endpoints for ``web.api.auth``; they hold schemas and status codes only, no behaviour.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from marshmallow import Schema

View = TypeVar("View", bound=Callable[..., Any])
ATTRIBUTE = "api_operation"


@dataclass(frozen=True)
class Operation:
    """One documented API call."""

    summary: str
    tag: str
    responses: Mapping[int, type[Schema] | None]
    errors: tuple[int, ...] = ()
    body: type[Schema] | None = None
    multipart: bool = False
    query: type[Schema] | None = None
    public: bool = False
    idempotent: bool = False
    description: str = ""
    path_params: Mapping[str, str] = field(default_factory=dict)


def operation(**kwargs: Any) -> Callable[[View], View]:
    """Attach an ``Operation`` to a view function."""
    op = Operation(**kwargs)

    def decorate(view: View) -> View:
        setattr(view, ATTRIBUTE, op)
        return view

    return decorate


def operation_of(view: Callable[..., Any] | None) -> Operation | None:
    """The ``Operation`` declared on ``view``, if any."""
    return getattr(view, ATTRIBUTE, None)
