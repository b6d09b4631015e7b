"""Managers: the team queue of approvals (decide one, or bulk-approve), reassigning an item, out-of-office
delegation and the force dashboard."""
from __future__ import annotations

from flask import Blueprint

from ..requests import display

bp = Blueprint("manager", __name__, url_prefix="/manager")
display.register(bp)

from . import dashboard, delegations, queue, reassign  # noqa: E402,F401  (register the routes on bp)
