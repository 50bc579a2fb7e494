"""The ``quota_store`` setting: the Redis URL a fleet of processes shares its quota through.

The URL may carry a password (``redis://:secret@host:6379/0``), so it is a :class:`SecretStr`
from the first line that reads it, and messages show it only as :func:`shown_store`
(scheme, host, port and database).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from azoai.errors import ConfigError

__all__ = ["QUOTA_STORE_SCHEMES", "parse_quota_store", "shown_store"]

#: What redis-py's ``from_url`` takes: plain, TLS, and a Unix socket.
QUOTA_STORE_SCHEMES = ("redis", "rediss", "unix")


def shown_store(url: SecretStr) -> str:
    """The store's URL without its credentials and query, fit for a message."""
    try:
        parts = urlsplit(url.get_secret_value())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unparsable URL)"
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def parse_quota_store(raw: Any, source: str | None) -> SecretStr | None:
    """``raw`` (an argument, the config file's ``quota_store`` or ``AZOAI_QUOTA_STORE``) as a
    secret URL, checked for a scheme Redis speaks and a host; ``None`` or ``""``: no store."""
    if raw is None:
        return None
    if not isinstance(raw, str | SecretStr):
        raise ConfigError(
            f"quota_store must be a Redis URL string, got {type(raw).__name__} ({source})",
            setting="quota_store",
        )
    url = raw if isinstance(raw, SecretStr) else SecretStr(raw.strip())
    text = url.get_secret_value().strip()
    if not text:
        return None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        raise ConfigError(
            f"quota_store is not a valid URL ({source})",
            setting="quota_store",
            fix="give a Redis URL such as redis://redis.internal:6379/0",
        ) from None
    if (
        parts.scheme not in QUOTA_STORE_SCHEMES
        or (parts.scheme != "unix" and not parts.hostname)
        or (parts.scheme == "unix" and not parts.path)
    ):
        raise ConfigError(
            f"quota_store must be a Redis URL (redis://, rediss:// or unix://), got "
            f"{shown_store(SecretStr(text))!r} ({source})",
            setting="quota_store",
            fix="give a Redis URL such as redis://redis.internal:6379/0",
        )
    return SecretStr(text)
