"""Imported first by the package: without its framework, importing ``langchain_azoai`` fails
with one line naming the extra to install, not a ``ModuleNotFoundError`` from deep inside."""

from importlib.util import find_spec

import azoai  # noqa: F401  (first: it refuses a Python older than 3.11 in one sentence)

try:
    _found = find_spec("langchain_core")
except (ModuleNotFoundError, ValueError):  # an import hook refused it, or a stub module
    _found = None
if _found is None:
    raise ModuleNotFoundError(
        "langchain_azoai needs langchain-core: pip install 'azoai[langchain]'",
        name="langchain_core",
    )
