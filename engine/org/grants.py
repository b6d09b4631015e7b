"""Role names and role grants: which roles exist, how a set of grants is checked, who holds what.

Pure rules over ``User.roles``; the use cases that change grants live in ``roles.py`` and ``users.py``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy.orm import Session

from ..models import RoleGrant, User
from ..roles import ROLES
from .forces import get_force
from .validation import invalid

# domain.md §10.3. ``requester`` is not a role: it is whoever started an instance.
KNOWN_ROLES: frozenset[str] = ROLES  # the one role catalogue lives in engine/roles.py

# Separation of duties (domain.md §2.5, the S-09 audit finding): a platform administrator holds no
# finance, HR or approval role, in any force.
PLATFORM_ADMIN_COMPANIONS: frozenset[str] = frozenset(
    {"platform_admin", "employee", "process_designer", "auditor_readonly"}
)

Grant = tuple[str, str]  # (role, force code)
CrossForceRoles = Iterable[tuple[str, str]] | Mapping[str, Iterable[str]]


def has_role(user: User, role: str, force: str) -> bool:
    """True when ``user`` holds ``role`` in ``force`` (own-force or cross-force grant)."""
    return any(grant.role == role and grant.force_code == force for grant in user.roles)


def is_platform_admin(user: User) -> bool:
    """True when ``user`` holds ``platform_admin`` (a platform-wide role, granted in their own force)."""
    return any(grant.role == "platform_admin" for grant in user.roles)


def forces_where(user: User, role: str) -> set[str]:
    """The force codes in which ``user`` holds ``role``."""
    return {grant.force_code for grant in user.roles if grant.role == role}


def grants_of(user: User) -> set[Grant]:
    """``{(role, force code)}`` for every grant ``user`` holds."""
    return {(grant.role, grant.force_code) for grant in user.roles}


def resolve_grants(
    session: Session, force: str, roles: Iterable[str] = (), cross_force_roles: CrossForceRoles = ()
) -> set[Grant]:
    """Check role names and forces and return the grants as ``{(role, force)}``.

    ``roles`` are granted in ``force``; ``cross_force_roles`` are ``(role, force)`` pairs or a
    mapping ``{force: [roles]}``. Raises InvalidInputError (unknown role) or NotFoundError (force)."""
    grants = {(role, force) for role in _names(roles)}
    pairs = (
        [(role, code) for code, names in cross_force_roles.items() for role in _names(names)]
        if isinstance(cross_force_roles, Mapping)
        else list(cross_force_roles)
    )
    for role, code in pairs:
        check_role_name(role, "cross_force_roles")
        get_force(session, code)
        grants.add((role, code))
    for role, _code in grants:
        check_role_name(role, "roles")
    return grants


def check_role_name(role: object, field: str = "roles") -> str:
    """Refuse a role name that is not in ``KNOWN_ROLES``."""
    if not isinstance(role, str) or role not in KNOWN_ROLES:
        raise invalid(field, f"{role!r} is not a role Muster knows.")
    return role


def check_separation(grants: Iterable[Grant]) -> None:
    """Refuse a platform administrator who would also hold a finance, HR or approval role."""
    names = {role for role, _force in grants}
    if "platform_admin" in names and not names <= PLATFORM_ADMIN_COMPANIONS:
        extra = ", ".join(sorted(names - PLATFORM_ADMIN_COMPANIONS))
        raise invalid("roles", f"A platform administrator cannot also hold task roles ({extra}).")


def replace_grants(user: User, grants: set[Grant]) -> None:
    """Make ``user.roles`` exactly ``grants``, keeping unchanged rows."""
    check_separation(grants)
    keep = [grant for grant in user.roles if (grant.role, grant.force_code) in grants]
    have = {(grant.role, grant.force_code) for grant in keep}
    user.roles[:] = keep + [RoleGrant(role=role, force_code=code) for role, code in sorted(grants - have)]


def _names(roles: Iterable[str] | str) -> list[str]:
    if isinstance(roles, str):  # a single name given where a list was meant
        return [roles]
    return [role.strip() if isinstance(role, str) else role for role in roles]
