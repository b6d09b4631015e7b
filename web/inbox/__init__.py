"""The staff inbox (the home page) and the work item page: my items and my roles' claimable items,
claim and unclaim, and the item's form rendered from its JSON Schema."""
from __future__ import annotations

from flask import Blueprint

from ..requests import display

bp = Blueprint("inbox", __name__)
display.register(bp)

from . import items, views  # noqa: E402,F401  (register the routes on bp)
