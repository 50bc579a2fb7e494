"""Secrets that cross a pickle without being readable in it.

Frameworks pickle models to hand them to worker processes (LlamaIndex's
``IngestionPipeline(num_workers=...)`` spawns a process pool). A pickled
:class:`pydantic.SecretStr` holds its value in plain text, so a pickle written to disk or a cache
would carry the key. :func:`seal` encrypts a secret (Fernet, from the ``cryptography`` package)
with a random key made once per process tree: it lives only in this process's environment as
``AZOAI_SEAL_KEY``, which worker processes (forked or spawned) inherit. Only processes of the
same tree can :func:`unseal`; a pickle found anywhere else holds ciphertext.
"""

from __future__ import annotations

import base64
import logging
import os
from typing import Any

from pydantic import SecretStr

__all__ = ["SEAL_KEY_ENV", "LocalHandle", "SealedSecret", "keep", "recall", "seal", "unseal"]

log = logging.getLogger("azoai.secrets")

#: The environment variable holding this process tree's sealing key (not an Azure credential).
SEAL_KEY_ENV = "AZOAI_SEAL_KEY"


class SealedSecret:
    """An encrypted secret; pickles as ciphertext only."""

    __slots__ = ("ciphertext",)

    def __init__(self, ciphertext: bytes) -> None:
        self.ciphertext = ciphertext

    def __repr__(self) -> str:
        return "SealedSecret('**********')"

    def __reduce__(self) -> tuple[Any, ...]:
        return (SealedSecret, (self.ciphertext,))


def _fernet(create: bool) -> Any:
    try:
        from cryptography.fernet import Fernet
    except ImportError:
        return None
    key = os.environ.get(SEAL_KEY_ENV)
    if not key:
        if not create:
            return None
        key = Fernet.generate_key().decode("ascii")
        # Set in this process's environment so worker processes started later inherit it.
        os.environ[SEAL_KEY_ENV] = key
    try:
        return Fernet(key.encode("ascii"))
    except ValueError:
        return None


def prepare() -> None:
    """Make sure this process tree has a sealing key before any worker process starts. Cheap:
    the key is made in Fernet's format (32 random bytes, URL-safe base64) without loading
    ``cryptography``, which only :func:`seal` and :func:`unseal` need."""
    if not os.environ.get(SEAL_KEY_ENV):
        os.environ[SEAL_KEY_ENV] = base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def seal(secret: SecretStr | None) -> SealedSecret | None:
    """Encrypt ``secret`` for a pickle; ``None`` (with a warning) when encryption is not
    available, so plain text never reaches the pickle."""
    if secret is None:
        return None
    fernet = _fernet(create=True)
    if fernet is None:
        log.warning(
            "azoai: the cryptography package is missing; a pickled copy carries no credentials"
        )
        return None
    return SealedSecret(fernet.encrypt(secret.get_secret_value().encode("utf-8")))


def unseal(value: Any) -> SecretStr | None:
    """The secret behind a sealed value, or ``None`` outside the process tree that sealed it."""
    if isinstance(value, SealedSecret):
        fernet = _fernet(create=False)
        if fernet is None:
            return None
        try:
            return SecretStr(fernet.decrypt(value.ciphertext).decode("utf-8"))
        except Exception:  # another tree's key, or tampering: behave as if absent
            return None
    return value if isinstance(value, SecretStr) else None


# --- objects that must not be pickled at all (credentials, token providers) ---------------------

_kept: dict[str, Any] = {}
_kept_lock = __import__("threading").Lock()


class LocalHandle:
    """Stands in a pickle for an object that stays in this process's memory (a credential).
    This process and its forked children get the object back; any other process gets ``None``."""

    __slots__ = ("handle",)

    def __init__(self, handle: str) -> None:
        self.handle = handle

    def __repr__(self) -> str:
        return "LocalHandle(...)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (LocalHandle, (self.handle,))


def keep(obj: Any) -> LocalHandle | None:
    if obj is None:
        return None
    import secrets as _random

    handle = _random.token_hex(16)
    with _kept_lock:
        _kept[handle] = obj
    return LocalHandle(handle)


def recall(value: Any) -> Any:
    if isinstance(value, LocalHandle):
        with _kept_lock:
            return _kept.get(value.handle)
    return value
