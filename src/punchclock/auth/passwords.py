"""Password hashing: argon2 for new hashes; bcrypt (Kimai's ``$2y$``) verified and upgraded on use."""

from __future__ import annotations

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

_hasher = PasswordHash((Argon2Hasher(), BcryptHasher()))


def hash_password(plain: str) -> str:
    return _hasher.hash(plain)


def verify_password(plain: str, hashed: str) -> tuple[bool, str | None]:
    """Whether ``plain`` matches, and a replacement hash when the stored one is outdated."""
    try:
        return _hasher.verify_and_update(plain, hashed)
    except Exception:  # an unreadable stored hash is a failed login, not a server error
        return False, None
