"""Stateless reasoning on the Responses API: reasoning items sent back with ``store: false``,
and the opaque ``encrypted_content`` that makes that possible.

Azure keeps nothing of a ``store: false`` response, so a reasoning item sent back by bare id
cannot be found: the 400 users quote ("Item with id 'rs_…' not found. Items are not persisted
when `store` is set to false. …", openclaw/openclaw#21782, twentyhq/twenty#23182). With
``include: ["reasoning.encrypted_content"]`` each reasoning item carries its content sealed by
the service; sent back, the item needs nothing stored. Here the content is sealed with the
emulator's key and bound to the item's id, so a client that alters it, or moves it to another
item, gets ``invalid_encrypted_content``. Reasoning items also need an ``id`` (Azure refuses
them without one, openai/codex#3528) and a ``summary``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

from azoai_emulator import azure_errors
from azoai_emulator.rules import invalid_type

__all__ = ["ENCRYPTED_REASONING", "check_reasoning_item", "seal_reasoning", "wants_encrypted"]

#: What the service's encrypted content starts with (a Fernet token); the rest is the emulator's.
_SEALED = "gAAAAA"
_TAG = 16
_NONCE = 12
ENCRYPTED_REASONING = "reasoning.encrypted_content"


def _keystream(key: bytes, nonce: bytes, size: int) -> bytes:
    blocks = (size + 31) // 32
    return b"".join(
        hashlib.sha256(key + nonce + n.to_bytes(4, "big")).digest() for n in range(blocks)
    )[:size]


def seal_reasoning(key: bytes, item_id: str) -> str:
    """Opaque encrypted content for reasoning item ``item_id``: only this emulator (``key``) can
    open it, and only for that item."""
    nonce = secrets.token_bytes(_NONCE)
    plain = json.dumps({"id": item_id}).encode()
    cipher = bytes(a ^ b for a, b in zip(plain, _keystream(key, nonce, len(plain)), strict=True))
    tag = hmac.new(key, nonce + cipher, hashlib.sha256).digest()[:_TAG]
    return _SEALED + base64.urlsafe_b64encode(nonce + tag + cipher).decode("ascii")


def _opened_id(key: bytes, sealed: str) -> str | None:
    """The item id ``sealed`` was issued for, or ``None`` when it is not this emulator's."""
    if not sealed.startswith(_SEALED):
        return None
    try:
        raw = base64.urlsafe_b64decode(sealed[len(_SEALED) :].encode("ascii"))
    except (binascii.Error, ValueError):
        return None
    nonce, tag, cipher = raw[:_NONCE], raw[_NONCE : _NONCE + _TAG], raw[_NONCE + _TAG :]
    expected = hmac.new(key, nonce + cipher, hashlib.sha256).digest()[:_TAG]
    if len(raw) <= _NONCE + _TAG or not hmac.compare_digest(tag, expected):
        return None
    plain = bytes(a ^ b for a, b in zip(cipher, _keystream(key, nonce, len(cipher)), strict=True))
    try:
        found = json.loads(plain).get("id")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def check_reasoning_item(item: Mapping[str, Any], i: int, stateless: bool, key: bytes) -> None:
    """A reasoning item of an earlier turn: by id when the store has it, else with the encrypted
    content the service issued for it."""
    item_id = item.get("id")
    if not isinstance(item_id, str) or not item_id:
        raise azure_errors.missing_parameter(f"input[{i}].id")
    if "summary" not in item:
        raise azure_errors.missing_parameter(f"input[{i}].summary")
    sealed = item.get("encrypted_content")
    if sealed is None:
        if stateless:
            raise azure_errors.invalid_request(
                f"Item with id '{item_id}' not found. Items are not persisted when `store` is "
                "set to false. Try again with `store` set to true, or remove this item from "
                "your input.",
                param="input",
            )
        return
    if not isinstance(sealed, str) or _opened_id(key, sealed) != item_id:
        shown = f"{sealed[:4]}...{sealed[-4:]}" if isinstance(sealed, str) else repr(sealed)
        raise azure_errors.invalid_request(
            f"The encrypted content {shown} could not be verified. Reason: Encrypted content "
            "could not be decrypted or parsed.",
            code="invalid_encrypted_content",
        )


def wants_encrypted(body: Mapping[str, Any], reasoning: bool) -> bool:
    """Whether ``include`` asks for the reasoning's encrypted content (refused, as Azure does,
    on a model that does not reason: microsoft/agent-framework#7483)."""
    include = body.get("include")
    if include is None:
        return False
    if not isinstance(include, list):
        raise invalid_type("include", "an array", include)
    if ENCRYPTED_REASONING not in include:
        return False
    if not reasoning:
        raise azure_errors.invalid_request(
            "Encrypted content is not supported with this model.", param="include"
        )
    return True
