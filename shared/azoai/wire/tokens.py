"""Offline token counting: tiktoken when its encoding file is already on disk, else an estimate.

tiktoken downloads its encodings on first use; azoai never triggers that download (it fails
offline and behind proxies, and a library should not fetch files at run time). When the
encoding is cached locally (``TIKTOKEN_CACHE_DIR``, ``DATA_GYM_CACHE_DIR`` or tiktoken's default
temp folder), counts are exact; otherwise they are a deliberately high estimate of one token per
three UTF-8 bytes, so splitting decisions err on the safe side.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

__all__ = ["TokenCounter", "counter_for", "estimate_tokens"]

_URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}
_lock = threading.Lock()


def estimate_tokens(text: str) -> int:
    """A high estimate: one token per three UTF-8 bytes (English averages about four). A lone
    surrogate counts as the three bytes it would take; it is refused where a request is built."""
    n = len(text.encode("utf-8", "surrogatepass"))
    return (n + 2) // 3


def _cached_locally(encoding: str) -> bool:
    url = _URLS.get(encoding)
    if url is None:
        return False
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        cache_dir = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        cache_dir = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not cache_dir:
        return False
    return os.path.exists(os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest()))


@lru_cache(maxsize=4)
def _tiktoken_encoding(encoding: str) -> Any:
    with _lock:
        if not _cached_locally(encoding):
            return None
        try:
            import tiktoken
        except ImportError:
            return None
        try:
            return tiktoken.get_encoding(encoding)
        except Exception:  # a corrupt cache must not break counting
            return None


class TokenCounter:
    """Counts tokens for one encoding; ``exact`` says whether tiktoken is doing the counting."""

    def __init__(self, encoding: str) -> None:
        self.encoding_name = encoding
        self._enc = _tiktoken_encoding(encoding)
        self.exact = self._enc is not None

    def count(self, text: str) -> int:
        if self._enc is not None:
            return len(self._enc.encode(text, disallowed_special=()))
        return estimate_tokens(text)

    def split(self, text: str, limit: int) -> list[str]:
        """Split ``text`` into pieces of at most ``limit`` tokens (by tokens when exact, else by
        characters sized from the estimate), keeping every character."""
        if self._enc is not None:
            ids = self._enc.encode(text, disallowed_special=())
            return [self._enc.decode(ids[i : i + limit]) for i in range(0, len(ids), limit)]
        data = text.encode("utf-8")
        budget = max(1, 3 * limit - 2)  # bytes whose estimate stays within the limit
        pieces: list[str] = []
        start = 0
        while start < len(data):
            end = min(len(data), start + budget)
            while end < len(data) and end > start + 1 and (data[end] & 0xC0) == 0x80:
                end -= 1  # never cut inside a multi-byte character
            pieces.append(data[start:end].decode("utf-8"))
            start = end
        return pieces


@lru_cache(maxsize=8)
def counter_for(encoding: str) -> TokenCounter:
    return TokenCounter(encoding)


def count_messages(texts: Sequence[str], encoding: str, per_message: int = 4) -> int:
    """Tokens of a chat prompt: each message's text plus a small per-message overhead."""
    c = counter_for(encoding)
    return sum(c.count(t) + per_message for t in texts) + 3


CountFn = Callable[[str], int]
