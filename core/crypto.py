"""Encryption at rest of what the server must read back: the customers' vendor credentials
(`ZtpAccount.secrets`) and desk phones' SIP passwords (`PhoneLine.password_sealed`).

Each is a Fernet token (AES-128-CBC with HMAC-SHA256, from the `cryptography` package) of
a JSON object. The keys come from `ZTP_ENCRYPTION_KEYS`
(settings), newest first, through `MultiFernet`: the first key encrypts, every key decrypts.
To retire a key the operator puts a new one in front, runs `manage.py ztp rekey` (which
re-encrypts every such value with the first key) and then removes the old key.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from core.errors import Unavailable


class EncryptionUnavailable(Unavailable):
    """No key is configured, or the stored value was encrypted with a key no longer listed."""

    code = "encryption_unavailable"


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _keys() -> tuple[str, ...]:
    keys = tuple(getattr(settings, "ZTP_ENCRYPTION_KEYS", ()) or ())
    if not keys:
        raise EncryptionUnavailable(
            "Encryption keys not configured in this environment: set ZTP_ENCRYPTION_KEYS "
            "(or ZTP_ENCRYPTION_KEYS_FILE) and restart, then try again."
        )
    return keys


def cipher() -> MultiFernet:
    return _cipher(_keys())


def seal(data: dict[str, Any]) -> str:
    """Encrypt a JSON object with the first key."""
    return cipher().encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def unseal(token: str) -> dict[str, Any]:
    try:
        data = cipher().decrypt(token.encode())
    except InvalidToken:
        raise EncryptionUnavailable(
            "A stored secret cannot be decrypted with ZTP_ENCRYPTION_KEYS: "
            "a key was removed before `manage.py ztp rekey` re-encrypted them. Put the old "
            "key back (after the new one) and run the rekey."
        ) from None
    return json.loads(data)


def reseal(token: str) -> str:
    """The same data encrypted with the first key (MultiFernet.rotate)."""
    try:
        return cipher().rotate(token.encode()).decode()
    except InvalidToken:
        raise EncryptionUnavailable(
            "A stored value cannot be decrypted with any key in ZTP_ENCRYPTION_KEYS."
        ) from None


def needs_reseal(token: str) -> bool:
    """Whether the token was encrypted with a key other than the first one."""
    primary = Fernet(_keys()[0].encode())
    try:
        primary.decrypt(token.encode())
    except InvalidToken:
        return True
    return False


def new_key() -> str:
    """A fresh key for ZTP_ENCRYPTION_KEYS."""
    return Fernet.generate_key().decode()
