"""pytest plugin (registered as the ``azoai`` ``pytest11`` entry point): the ``azoai_emulator``
fixture.

``azoai_emulator`` yields a started :class:`~azoai_emulator.Emulator` with
:data:`~azoai_emulator.DEFAULT_DEPLOYMENTS` on a free port, and stops it after the test. The
``azoai_emulator`` marker passes keyword arguments to the emulator::

    @pytest.mark.azoai_emulator(deployments=[EmulatorDeployment("chat", model="gpt-4o", tpm=1000)])
    def test_quota(azoai_emulator): ...

This module imports only pytest; the emulator (and starlette/uvicorn) load when the fixture runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from azoai_emulator import Emulator

__all__ = ["azoai_emulator"]

MARKER = "azoai_emulator"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**kwargs): keyword arguments for the Emulator the azoai_emulator fixture starts "
        "(deployments=, api_key=, token_lifetime=, clock=, ...)",
    )


@pytest.fixture
def azoai_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A running Azure OpenAI emulator for one test (see the module docstring)."""
    from azoai_emulator import Emulator

    marker = request.node.get_closest_marker(MARKER)
    kwargs = dict(marker.kwargs) if marker is not None else {}
    with Emulator(**kwargs) as emulator:
        yield emulator
