"""Argon2id password hashes (argon2-cffi), generated passwords, and what a chosen password must be."""
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128
# zxcvbn 0-4; 3 is "safely unguessable" (about 10^8 guesses and more): refused below.
MIN_PASSWORD_SCORE = 3
ZXCVBN_MAX_LENGTH = 72  # zxcvbn refuses longer input; the first 72 characters decide

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


@cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of leaked-password corpora, as zxcvbn ships them (lowercase)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # see password_weakness

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_weakness(password: str) -> str | None:
    """Why a password someone chose may not be used (translated), or None when it may.

    At least MIN_PASSWORD_LENGTH characters (at most MAX_PASSWORD_LENGTH); not one of the commonly used
    passwords; and not easy to guess for zxcvbn (keyboard walks, repeats, dates, common words with digits).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return str(_l("A password needs at least %(count)s characters.", count=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        return str(_l("A password may have at most %(count)s characters.", count=MAX_PASSWORD_LENGTH))
    # zxcvbn (~13 MB of word lists) is loaded by the first password someone chooses, not by every worker.
    from zxcvbn import zxcvbn

    if password.lower() in _common_passwords():
        return str(_l("This password is one of the most commonly used ones; choose another."))
    if zxcvbn(password[:ZXCVBN_MAX_LENGTH])["score"] < MIN_PASSWORD_SCORE:
        return str(_l("This password is easy to guess (a pattern, a repeated character or common words with "
                      "digits); choose a longer or less predictable one."))
    return None
