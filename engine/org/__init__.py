"""Organisation use cases: forces, org units, users, roles, delegations and signing in.

Pure SQLAlchemy: every function takes a ``Session`` and the force explicitly; nothing here imports
Flask. Callers commit through ``engine.db.unit_of_work``.
"""
from __future__ import annotations

from .delegations import active_delegate, add_delegation, cancel_delegation, list_delegations
from .forces import (
    add_force,
    add_org_unit,
    force_chain,
    get_force,
    get_org_unit,
    known_force,
    list_forces,
    list_org_units,
    org_unit_paths,
    update_force,
)
from .grants import KNOWN_ROLES, PLATFORM_ADMIN_COMPANIONS, forces_where, has_role, is_platform_admin
from .policy import (
    administered_forces,
    assignable_roles,
    can_administer,
    check_can_administer,
    check_can_deactivate,
    check_can_grant,
    check_can_manage_user,
    get_managed_user,
    is_administrator,
)
from .roles import grant_role, revoke_role, role_holders, set_roles
from .signin import authenticate, lock_period
from .users import (
    add_user,
    deactivate_user,
    find_active_user,
    get_user,
    get_user_by_username,
    line_manager_of,
    list_users,
    reactivate_user,
    reassignment_counts,
    update_user,
)

__all__ = [
    "KNOWN_ROLES", "PLATFORM_ADMIN_COMPANIONS", "active_delegate", "add_delegation", "add_force",
    "add_org_unit", "add_user", "administered_forces", "assignable_roles", "authenticate",
    "can_administer", "cancel_delegation", "check_can_administer", "check_can_deactivate",
    "check_can_grant", "check_can_manage_user", "deactivate_user", "find_active_user", "force_chain",
    "forces_where", "get_force", "get_managed_user", "get_org_unit", "get_user", "get_user_by_username", "known_force",
    "grant_role", "has_role", "is_administrator", "is_platform_admin", "line_manager_of",
    "list_delegations", "list_forces", "list_org_units", "list_users", "lock_period", "org_unit_paths",
    "reactivate_user", "reassignment_counts", "revoke_role", "role_holders", "set_roles",
    "update_force", "update_user",
]
