"""Input rules shared by the organisation use cases (codes, names, usernames, passwords, emails)."""
from __future__ import annotations

import re

from ..errors import ConflictError, InvalidInputError

FORCE_CODE = re.compile(r"[A-Z0-9]{2,16}")
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,79}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256


def invalid(field: str, message: str) -> InvalidInputError:
    """An ``InvalidInputError`` whose details name the one field at fault."""
    return InvalidInputError(message, details={field: [message]})


def conflict(field: str, message: str) -> ConflictError:
    """A ``ConflictError`` whose details name the one field at fault."""
    return ConflictError(message, details={field: [message]})


def clean_text(value: object, field: str, what: str, max_length: int = 200) -> str:
    """Strip ``value``; refuse it when empty or longer than ``max_length``."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise invalid(field, f"Enter {what}.")
    if len(text) > max_length:
        raise invalid(field, f"{what[0].upper()}{what[1:]} must be {max_length} characters or fewer.")
    return text


def clean_force_code(value: object, field: str = "code") -> str:
    """A force code: 2 to 16 upper-case letters or digits (``CHES``, ``MFSS``)."""
    code = value.strip() if isinstance(value, str) else ""
    if not FORCE_CODE.fullmatch(code):
        raise invalid(field, "A force code is 2 to 16 capital letters or digits, for example CHES.")
    return code


def clean_username(value: object) -> str:
    """A username, lower-cased: 2 to 80 letters, digits, dots, hyphens or underscores."""
    name = value.strip().lower() if isinstance(value, str) else ""
    if not USERNAME.fullmatch(name):
        raise invalid(
            "username",
            "A username is 2 to 80 letters, digits, dots, hyphens or underscores, "
            "starting with a letter or digit.",
        )
    return name


def clean_email(value: object) -> str | None:
    """An optional email address; empty means none."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return None
    if len(text) > 254 or not EMAIL.fullmatch(text):
        raise invalid("email", "Enter an email address like name@example.police.uk.")
    return text


def check_password(value: object) -> str:
    """A new password: at least 8 and at most 256 characters."""
    if not isinstance(value, str) or len(value) < MIN_PASSWORD_LENGTH:
        raise invalid("password", f"A password must be at least {MIN_PASSWORD_LENGTH} characters long.")
    if len(value) > MAX_PASSWORD_LENGTH:
        raise invalid("password", f"A password must be {MAX_PASSWORD_LENGTH} characters or fewer.")
    return value
