"""Sealing channel targets at rest.

A channel's target (a Slack webhook URL, a Teams connector, an Apprise URL with a token,
an email address) grants whoever reads it the right to post as Northstar, so the database
holds it only as a Fernet token (AES-128-CBC + HMAC-SHA256, from `cryptography`). The key
comes from `NORTHSTAR_SECRETS_KEY`: one or more comma-separated Fernet keys, the first
seals and all open, so a key can be rotated by prepending the new one.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretsKeyMissing(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "NORTHSTAR_SECRETS_KEY is not set: notification channels need it to seal their "
            "targets (generate one with `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`)"
        )


class SealedSecretUnreadable(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "a sealed channel target cannot be opened with any key in NORTHSTAR_SECRETS_KEY "
            "(was the key rotated without keeping the old one?)"
        )


def parse_keys(value: str) -> list[str]:
    """The keys of a `NORTHSTAR_SECRETS_KEY` value; raises ValueError naming what is wrong."""
    keys = [k.strip() for k in value.split(",") if k.strip()]
    if not keys:
        raise ValueError("must hold at least one Fernet key")
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise ValueError(
                "each comma-separated key must be a Fernet key (32 url-safe base64 bytes)"
            ) from None
    return keys


class SecretBox:
    """Seals and opens secrets with the configured keys."""

    def __init__(self, keys: str | None) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in parse_keys(keys)]) if keys else None

    @property
    def configured(self) -> bool:
        return self._fernet is not None

    def seal(self, secret: str) -> bytes:
        if self._fernet is None:
            raise SecretsKeyMissing()
        return self._fernet.encrypt(secret.encode())

    def open(self, sealed: bytes) -> str:
        if self._fernet is None:
            raise SecretsKeyMissing()
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken:
            raise SealedSecretUnreadable() from None
