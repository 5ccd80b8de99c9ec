"""Argon2id password hashes (argon2-cffi)."""
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# A password the server generated has ~96 bits of entropy: no slow hash is needed to protect it, and a
# CSV of 144 volunteers must import in well under a second. It is rehashed at full cost on first login.
GENERATED_PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@cache
def _hasher(time_cost: int, memory_cost: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=2)


def password_hasher() -> PasswordHasher:
    config = current_app.config
    return _hasher(config["PASSWORD_TIME_COST"], config["PASSWORD_MEMORY_COST_KIB"])


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def generate_password() -> tuple[str, str]:
    """A new random password and its hash."""
    password = secrets.token_urlsafe(12)
    return password, GENERATED_PASSWORD_HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return password_hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return password_hasher().check_needs_rehash(password_hash)


def burn_verification_time(password: str) -> None:
    """Spend what a real check costs, so an unknown login answers as slowly as a wrong password."""
    verify_password(_dummy_hash(), password)


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))
