"""Credentials where they enter, and secrets that cross a pickle without being readable in it.

**Entry.** :func:`credential` is the one gate every key and token passes on its way in
(arguments, the config file, the environment, route targets): surrounding whitespace is stripped
(a key read from a file ends in a newline) and a character an HTTP header cannot carry is
refused with a :class:`~azoai.errors.ConfigError` that names the setting and where the value came
from, never the value. :func:`header_problem` is the check itself, also applied to the tokens a
credential returns at run time (see :mod:`azoai.io.auth`).

**Pickles.** Frameworks pickle models to hand them to worker processes (LlamaIndex's
``IngestionPipeline(num_workers=...)`` starts a process pool). A pickled
:class:`pydantic.SecretStr` holds its value in plain text, so a pickle written to disk or a cache
would carry the key. :func:`seal` encrypts a secret (Fernet, from the ``cryptography`` package)
with a key derived from :mod:`multiprocessing`'s ``authkey``: 32 random bytes made once per
process tree, which multiprocessing hands to the children it starts (fork, spawn and forkserver,
so ``Pool`` and ``ProcessPoolExecutor`` workers) through its own pipe, never through the
environment. Those workers can :func:`unseal`; a process started any other way (``subprocess``,
a job runner) and a pickle read back after the process tree is gone hold only ciphertext. Nothing
is written to ``os.environ``.

Credential objects (azure-identity credentials, token providers) are never pickled: :func:`keep`
registers them in this process's memory and a :class:`LocalHandle` stands in for them in the
pickle; :func:`recall` gives them back in this process and in children forked after they were
registered. The registry holds each object once (by identity) and only as long as the object
lives (weakly; an object that cannot be weakly referenced lives as long as the model that
registered it), so it never grows with the number of pickles.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets as _random
import threading
import weakref
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from azoai.errors import ConfigError

__all__ = [
    "LocalHandle",
    "SealedSecret",
    "credential",
    "header_problem",
    "keep",
    "kept",
    "recall",
    "seal",
    "unseal",
]

log = logging.getLogger("azoai.secrets")


# --- credentials where they enter ---------------------------------------------------------------


def header_problem(text: str) -> str | None:
    """What makes ``text`` unfit for an HTTP header value (described without the value), or
    ``None``. Visible ASCII and inner spaces are fine; control characters and anything beyond
    ASCII are not (httpx encodes header values as ASCII; h11 refuses control characters)."""
    for i, ch in enumerate(text):
        code = ord(ch)
        if 0x20 <= code < 0x7F:
            continue
        if ch in "\r\n":
            what = "a line break"
        elif ch == "\ufeff":
            what = "a byte-order mark (U+FEFF)"
        elif code < 0x20 or code == 0x7F:
            what = "a control character"
        else:
            what = "a non-ASCII character"
        return f"contains {what} at position {i}, which an HTTP header cannot carry"
    return None


def credential(
    value: str | SecretStr, *, setting: str, source: str | None = None, header: bool = True
) -> SecretStr:
    """A key, token or secret as it enters: surrounding whitespace stripped; refused when empty
    or (``header=True``, for what goes into a header) when it holds a character a header cannot
    carry. The :class:`ConfigError` names ``setting`` and ``source`` (``"argument"``,
    ``"env AZURE_OPENAI_API_KEY"``, ``"file azoai.toml"``), never the value."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    origin = f" (from {source})" if source else ""
    if not isinstance(raw, str):
        raise ConfigError(f"{setting} must be a string{origin}", setting=setting)
    text = raw.strip()
    if not text:
        raise ConfigError(f"{setting} is empty{origin}", setting=setting)
    problem = header_problem(text) if header else None
    if problem is not None:
        raise ConfigError(
            f"{setting} {problem}{origin}",
            setting=setting,
            fix="copy the value again from its source (the Azure portal's Keys and Endpoint, or "
            "the token issuer); surrounding whitespace is removed, other characters are not",
        )
    if isinstance(value, SecretStr) and text == raw:
        return value
    return SecretStr(text)


# --- sealing: a key per process tree, from multiprocessing's authkey ----------------------------

#: Domain separation: the sealing key is not the authkey itself (which multiprocessing uses to
#: authenticate its connections) but a one-way derivation of it.
_SEAL_INFO = b"azoai/seal/v1"
_fernet_slot: tuple[bytes, Any] | None = None  # (derived key, Fernet); one slot, never grows


class SealedSecret:
    """An encrypted secret; pickles as ciphertext only."""

    __slots__ = ("ciphertext",)

    def __init__(self, ciphertext: bytes) -> None:
        self.ciphertext = ciphertext

    def __repr__(self) -> str:
        return "SealedSecret('**********')"

    def __reduce__(self) -> tuple[Any, ...]:
        return (SealedSecret, (self.ciphertext,))


def _fernet() -> Any:
    """The Fernet for this process tree's key, or ``None`` without ``cryptography``. Derived on
    every use (an HMAC, microseconds) so a changed authkey is followed, cached in one slot."""
    global _fernet_slot
    try:
        from cryptography.fernet import Fernet
    except ImportError:
        return None
    from multiprocessing import process

    authkey = bytes(process.current_process().authkey)
    key = base64.urlsafe_b64encode(hmac.new(authkey, _SEAL_INFO, hashlib.sha256).digest())
    slot = _fernet_slot
    if slot is not None and slot[0] == key:
        return slot[1]
    fernet = Fernet(key)
    _fernet_slot = (key, fernet)
    return fernet


def seal(secret: SecretStr | None) -> SealedSecret | None:
    """Encrypt ``secret`` for a pickle; ``None`` (with a warning) when encryption is not
    available, so plain text never reaches the pickle."""
    if secret is None:
        return None
    fernet = _fernet()
    if fernet is None:
        log.warning(
            "azoai: the cryptography package is missing; a pickled copy carries no credentials"
        )
        return None
    return SealedSecret(fernet.encrypt(secret.get_secret_value().encode("utf-8")))


def unseal(value: Any) -> SecretStr | None:
    """The secret behind a sealed value, or ``None`` outside the process tree that sealed it."""
    if isinstance(value, SealedSecret):
        fernet = _fernet()
        if fernet is None:
            return None
        try:
            return SecretStr(fernet.decrypt(value.ciphertext).decode("utf-8"))
        except Exception:  # another tree's key, or tampering: behave as if absent
            return None
    return value if isinstance(value, SecretStr) else None


# --- objects that must not be pickled at all (credentials, token providers) ---------------------


class LocalHandle:
    """Stands in a pickle for an object that stays in this process's memory (a credential).
    This process and children forked after :func:`keep` get the object back while it lives; any
    other process gets ``None``."""

    __slots__ = ("handle",)

    def __init__(self, handle: str) -> None:
        self.handle = handle

    def __repr__(self) -> str:
        return "LocalHandle(...)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (LocalHandle, (self.handle,))


class _Entry:
    """One kept object: weakly referenced, or (when it cannot be) held while an owner lives."""

    __slots__ = ("obj_id", "owners", "pinned", "ref")

    def __init__(
        self,
        obj_id: int,
        ref: weakref.ref[Any] | None,
        pinned: Any = None,
    ) -> None:
        self.obj_id = obj_id
        self.ref = ref
        self.pinned = pinned
        self.owners: list[weakref.ref[Any]] = []

    def get(self) -> Any:
        if self.ref is not None:
            return self.ref()
        return self.pinned if any(o() is not None for o in self.owners) else None


# Weakref callbacks may run inside any allocation, also while the lock is held, so they never
# take it: they note the handle in ``_dead`` (list.append is atomic) and the next registry call
# drops the entry.
_lock = threading.Lock()
_entries: dict[str, _Entry] = {}
_by_id: dict[int, str] = {}
_dead: list[str] = []


def _reinit_lock() -> None:  # a fork child must not inherit a lock another thread held
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_lock)


def _notice(handle: str) -> Callable[[Any], None]:
    return lambda _ref: _dead.append(handle)


def _purge() -> None:
    """Under the lock: drop the entries whose object (or every owner) is gone."""
    while _dead:
        handle = _dead.pop()
        entry = _entries.get(handle)
        if entry is None:
            continue
        entry.owners = [o for o in entry.owners if o() is not None]
        if entry.get() is None:
            del _entries[handle]
            if _by_id.get(entry.obj_id) == handle:
                del _by_id[entry.obj_id]


def keep(obj: Any, owner: Any = None) -> LocalHandle | None:
    """A handle for ``obj`` in this process's memory. The same object always gets the same
    handle; the entry goes when the object does. An object that cannot be weakly referenced is
    held as long as ``owner`` (the model carrying it) lives; without an owner it is not kept
    (``None``: the copy is built without it)."""
    if obj is None:
        return None
    with _lock:
        _purge()
        handle = _by_id.get(id(obj))
        entry = _entries.get(handle) if handle is not None else None
        if entry is None or entry.get() is not obj:
            handle = _random.token_hex(16)  # random: a fork child's handles never collide
            try:
                entry = _Entry(id(obj), weakref.ref(obj, _notice(handle)))
            except TypeError:
                if owner is None:
                    log.debug(
                        "azoai: a %s cannot be weakly referenced; a pickled copy is built without it",
                        type(obj).__name__,
                    )
                    return None
                entry = _Entry(id(obj), None, obj)
            _entries[handle] = entry
            _by_id[id(obj)] = handle
        assert handle is not None
        if entry.ref is None and owner is not None and not any(o() is owner for o in entry.owners):
            try:
                entry.owners.append(weakref.ref(owner, _notice(handle)))
            except TypeError:  # an owner that cannot be weakly referenced cannot end the entry
                if not entry.owners:
                    del _entries[handle], _by_id[entry.obj_id]
                return None
    return LocalHandle(handle)


def recall(value: Any) -> Any:
    """The object behind a :class:`LocalHandle` (``None`` when this process does not hold it);
    any other value is returned as it is."""
    if isinstance(value, LocalHandle):
        with _lock:
            _purge()
            entry = _entries.get(value.handle)
            return entry.get() if entry is not None else None
    return value


def kept() -> int:
    """How many objects the registry holds now (for tests and diagnostics)."""
    with _lock:
        _purge()
        return len(_entries)
