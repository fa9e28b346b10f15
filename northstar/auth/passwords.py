"""Password hashing (Argon2id through argon2-cffi) and the password policy.

Cost: `time_cost=2, memory_cost=19 MiB, parallelism=1` is OWASP's recommended minimum
for Argon2id (Password Storage Cheat Sheet). It is chosen over argon2-cffi's default
(3 passes over 64 MiB, 4 lanes) because the api verifies passwords on a small shared
machine: 19 MiB per concurrent sign-in bounds memory under a burst of logins, one lane
keeps a verification on one core, and login throttling (not hashing cost) is what stops
online guessing. The measured sign-in latency is in docs/performance.md. Hashes are PHC
strings that carry their parameters, so raising the cost later re-hashes each password
at its owner's next sign-in (`needs_rehash`).

The policy follows NIST SP 800-63B: length matters, composition rules do not. A
password is refused when it is short, absurdly long, one repeated character, a
well-known password, or contains the person's email name.
"""

from __future__ import annotations

import asyncio
import functools
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 256

_HASHER = PasswordHasher(
    time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID
)

# Passwords long enough to pass the length rule that still top every breach list.
_COMMON = frozenset(
    {
        "password1234",
        "password12345",
        "password123456",
        "123456789012",
        "1234567890123",
        "qwertyuiopas",
        "qwerty123456",
        "iloveyou1234",
        "letmein12345",
        "administrator",
        "welcome12345",
        "changeme1234",
        "passwordpassword",
        "northstar123",
        "northstar1234",
    }
)


def password_problems(password: str, *, email: str | None = None) -> list[str]:
    """What is wrong with `password` under the policy, as messages a person can act on
    (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters long")
    if password and len(set(password)) == 1:
        problems.append("must not be one character repeated")
    if password.lower() in _COMMON:
        problems.append("is a well-known password; choose another")
    if email:
        local = email.split("@", 1)[0].lower()
        if len(local) >= 3 and local in password.lower():
            problems.append("must not contain the name part of your email address")
    return problems


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's."""
    return _HASHER.check_needs_rehash(password_hash)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so a failed sign-in takes as long
    whether or not the account exists."""
    return _HASHER.hash(secrets.token_urlsafe(16))


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    """`verify_password` off the event loop (argon2 releases the GIL while it hashes);
    with `password_hash=None` it does the same work and answers False."""
    if password_hash is None:
        await asyncio.to_thread(verify_password, _dummy_hash(), password)
        return False
    return await asyncio.to_thread(verify_password, password_hash, password)


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)
