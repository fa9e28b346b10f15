"""Secrets kept encrypted at rest (webhook signing secrets, notification targets).

A signing secret must be readable by the server (HMAC needs it), so it cannot be hashed
like an API key; it is encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from
`cryptography`) under a key from the settings, so a copy of the database (a backup, a
dashboard's SQL access) does not hand out the secrets. `MultiFernet` takes several keys:
the first encrypts, all decrypt, so a key is rotated by prepending the new one.

Keys in the settings are any strings of 16+ characters; each is stretched to a Fernet key
by SHA-256, so operators need not produce Fernet's exact base64 format.
"""

from __future__ import annotations

import base64
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)

# Rows written before secrets were encrypted (migration 0005) carry this prefix; the api
# encrypts them at start-up.
LEGACY_PLAINTEXT = "plain:"


class SecretUnreadable(Exception):
    """A stored secret that none of the configured keys decrypts (a key was removed)."""


def _fernet(key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([_fernet(k) for k in keys])

    @classmethod
    def from_settings(cls, encryption_keys: str | None, database_url: str) -> SecretBox:
        """The box for `NORTHSTAR_ENCRYPTION_KEYS`; without it, one keyed by the database
        URL (its password is not in the database, so a dump alone does not open the box —
        but set a real key: docs/security.md)."""
        if encryption_keys:
            return cls([k.strip() for k in encryption_keys.split(",")])
        log.warning(
            "NORTHSTAR_ENCRYPTION_KEYS is not set: stored secrets are encrypted under a key "
            "derived from the database URL; set a real key in production"
        )
        return cls(["northstar secret box\0" + database_url])

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, stored: str) -> str:
        if stored.startswith(LEGACY_PLAINTEXT):
            return stored[len(LEGACY_PLAINTEXT) :]
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable(
                "a stored secret cannot be decrypted with NORTHSTAR_ENCRYPTION_KEYS; was the "
                "key that encrypted it removed?"
            ) from None
