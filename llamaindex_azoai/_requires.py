"""Imported first by the package: without its framework, importing ``llamaindex_azoai`` fails
with one line naming the extra to install, not a ``ModuleNotFoundError`` from deep inside."""

from importlib.util import find_spec

import azoai  # noqa: F401  (first: it refuses a Python older than 3.11 in one sentence)

try:
    _found = find_spec("llama_index.core")
except (ModuleNotFoundError, ValueError):  # no llama_index namespace at all, or a stub module
    _found = None
if _found is None:
    raise ModuleNotFoundError(
        "llamaindex_azoai needs llama-index-core: pip install 'azoai[llamaindex]'",
        name="llama_index",
    )
