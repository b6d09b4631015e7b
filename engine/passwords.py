"""Password hashing with Argon2id (argon2-cffi). Owns the hash format; knows nothing of users or Flask."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults are Argon2id with the RFC 9106 "low memory" profile; changing them later
# is safe because ``needs_rehash`` lets sign-in upgrade old hashes.
_HASHER = PasswordHasher()


def hash_password(plain: str) -> str:
    """Return an Argon2id hash (salt and parameters included) of ``plain``."""
    return _HASHER.hash(plain)


def verify_password(hash: str, plain: str) -> bool:  # noqa: A002 - the name callers use
    """True when ``plain`` matches ``hash``; False for a mismatch or a malformed hash (never raises)."""
    try:
        return _HASHER.verify(hash, plain)
    except (VerificationError, InvalidHashError, ValueError, TypeError):
        return False


def needs_rehash(hash: str) -> bool:  # noqa: A002
    """True when ``hash`` was made with weaker parameters than today's (re-hash at next sign-in)."""
    try:
        return _HASHER.check_needs_rehash(hash)
    except (InvalidHashError, ValueError):
        return True
