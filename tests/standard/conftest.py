"""Session plumbing for the langchain-tests standard suites."""

from __future__ import annotations

from collections.abc import Iterator

import lc_std_support
import pytest


@pytest.fixture(scope="session", autouse=True)
def _stop_standard_emulator() -> Iterator[None]:
    """The suites' emulator starts on first use (see ``lc_std_support.emulator``); stop it once
    the session is over."""
    yield
    lc_std_support.stop()
