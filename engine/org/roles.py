"""Use cases over role grants: who holds a role in a force, and setting, granting or revoking roles."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ..models import RoleGrant, User
from .forces import get_force
from .grants import CrossForceRoles, check_role_name, grants_of, replace_grants, resolve_grants
from .users import get_user


def holders_query(force: str, role: str) -> Select[User]:
    """The query of active users holding ``role`` in ``force`` (own-force and cross-force grants), by name;
    narrow it with ``.with_only_columns(...)`` when only some columns are needed."""
    return (
        select(User)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.force_code == force, RoleGrant.role == role, User.active.is_(True))
        .order_by(User.full_name, User.username)
    )


def role_holders(session: Session, force: str, role: str) -> list[User]:
    """Active users holding ``role`` in ``force``, own-force and cross-force grants alike, by name.

    An unknown role (a lane name nobody holds) simply has no holders."""
    return list(session.scalars(holders_query(force, role)))


def set_roles(
    session: Session,
    force: str,
    user_id: int,
    roles: Iterable[str],
    *,
    cross_force_roles: CrossForceRoles | None = None,
) -> User:
    """Make ``roles`` the user's grants in their own force ``force``.

    Grants in other forces are left alone unless ``cross_force_roles`` is given, which then replaces
    them all. Raises NotFoundError (user not in ``force``) or InvalidInputError (unknown role, or a
    platform administrator with task roles)."""
    user = get_user(session, force, user_id)
    grants = resolve_grants(session, force, roles, cross_force_roles or ())
    if cross_force_roles is None:
        grants |= {(role, code) for role, code in grants_of(user) if code != force}
    replace_grants(user, grants)
    session.flush()
    return user


def grant_role(session: Session, force: str, user_id: int, role: str, in_force: str | None = None) -> User:
    """Grant ``role`` to a user of ``force``, in ``in_force`` (default: their own force)."""
    user = get_user(session, force, user_id)
    check_role_name(role)
    target = get_force(session, in_force or force).code
    replace_grants(user, grants_of(user) | {(role, target)})
    session.flush()
    return user


def revoke_role(session: Session, force: str, user_id: int, role: str, in_force: str | None = None) -> User:
    """Take ``role`` in ``in_force`` (default: their own force) away from a user of ``force``."""
    user = get_user(session, force, user_id)
    replace_grants(user, grants_of(user) - {(role, in_force or force)})
    session.flush()
    return user
