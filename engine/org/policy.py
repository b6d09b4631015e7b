"""Who may administer what: platform administrators everything, force managers their own forces.

Pure rules over the acting user; the web and API layers call them before the org use cases."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..errors import NotAllowedError, NotFoundError
from ..models import Force, User
from .forces import list_forces
from .grants import KNOWN_ROLES, forces_where, is_platform_admin

ADMIN_ROLES = frozenset({"platform_admin", "force_manager"})


def is_administrator(actor: User) -> bool:
    """True when ``actor`` may use the admin pages at all."""
    return is_platform_admin(actor) or bool(forces_where(actor, "force_manager"))


def can_administer(actor: User, force: str) -> bool:
    """True when ``actor`` may manage the users, roles and units of ``force``."""
    return is_platform_admin(actor) or force in forces_where(actor, "force_manager")


def administered_forces(session: Session, actor: User) -> list[Force]:
    """The forces ``actor`` may manage, ordered by code."""
    return [force for force in list_forces(session) if can_administer(actor, force.code)]


def assignable_roles(actor: User, force: str) -> frozenset[str]:
    """The roles ``actor`` may grant or revoke in ``force`` (only a platform admin makes platform admins)."""
    if is_platform_admin(actor):
        return KNOWN_ROLES
    if can_administer(actor, force):
        return KNOWN_ROLES - {"platform_admin"}
    return frozenset()


def check_can_administer(actor: User, force: str) -> None:
    """NotFoundError (never a hint that it exists) unless ``actor`` may manage ``force``."""
    if not can_administer(actor, force):
        raise NotFoundError(f"There is no force {force!r}.")


def check_can_manage_user(actor: User, target: User) -> None:
    """Refuse changes to ``target`` by ``actor``: NotFoundError outside their forces, NotAllowedError
    when a force manager touches a platform administrator."""
    check_can_administer(actor, target.force_code)
    if is_platform_admin(target) and not is_platform_admin(actor):
        raise NotAllowedError("Only a platform administrator can change a platform administrator's account.")


def get_managed_user(session: Session, actor: User, user_id: int) -> User:
    """The user ``user_id`` if ``actor`` may manage them; NotFoundError when missing or outside
    ``actor``'s forces, NotAllowedError for a force manager reaching a platform administrator."""
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not can_administer(actor, user.force_code):
        raise NotFoundError(f"There is no user {user_id}.")
    check_can_manage_user(actor, user)
    return user


def check_can_deactivate(actor: User, target: User) -> None:
    """Refuse deactivating oneself (an administrator could lock everyone out) or someone unmanaged."""
    check_can_manage_user(actor, target)
    if actor.id == target.id:
        raise NotAllowedError("You cannot deactivate your own account; ask another administrator.")


def check_can_grant(actor: User, role: str, force: str) -> None:
    """Refuse granting or revoking ``role`` in ``force`` unless ``actor`` may."""
    check_can_administer(actor, force)
    if role not in assignable_roles(actor, force):
        raise NotAllowedError(f"You cannot grant or remove the role {role}.")
