"""azoai_emulator: a local server that speaks Azure OpenAI.

It serves both URL families (``/openai/deployments/{d}/...?api-version=`` and ``/openai/v1/...``),
API keys and Entra tokens (with the App Service and IMDS managed-identity protocols, and an
Entra token service over HTTPS for service principals and workload identity), the ARM
deployment listing, Chat Completions, Embeddings and the Responses API, with Azure's error
bodies, headers, stream quirks and per-model parameter rules, and faults on demand.

    from azoai_emulator import Emulator, EmulatorDeployment, Fault

    with Emulator() as emu:                      # DEFAULT_DEPLOYMENTS, a free port
        emu.endpoint, emu.api_key                # point any client here
        emu.inject("chat", Fault.status(503))    # the next chat request fails
        emu.requests                             # what clients sent (secrets redacted)

Run it from a shell with ``python -m azoai_emulator --port 8000``, and in pytest with the
``azoai_emulator`` fixture. Importing this package does not import starlette or uvicorn.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Names load lazily so that importing a submodule (the pytest plugin) stays cheap.
_LAZY = {
    "DEFAULT_ACCOUNT": "azoai_emulator.config",
    "DEFAULT_API_KEY": "azoai_emulator.config",
    "DEFAULT_DEPLOYMENTS": "azoai_emulator.config",
    "DEFAULT_IDENTITY_HEADER": "azoai_emulator.config",
    "DEFAULT_REGION": "azoai_emulator.config",
    "DEFAULT_RESOURCE_GROUP": "azoai_emulator.config",
    "DEFAULT_SUBSCRIPTION_ID": "azoai_emulator.config",
    "EmulatorConfig": "azoai_emulator.config",
    "EmulatorDeployment": "azoai_emulator.config",
    "load_config": "azoai_emulator.config",
    "FAULT_HEADER": "azoai_emulator.faults",
    "Fault": "azoai_emulator.faults",
    "RequestRecord": "azoai_emulator.protocol",
    "Emulator": "azoai_emulator.server",
}

if TYPE_CHECKING:
    from azoai_emulator.config import (
        DEFAULT_ACCOUNT,
        DEFAULT_API_KEY,
        DEFAULT_DEPLOYMENTS,
        DEFAULT_IDENTITY_HEADER,
        DEFAULT_REGION,
        DEFAULT_RESOURCE_GROUP,
        DEFAULT_SUBSCRIPTION_ID,
        EmulatorConfig,
        EmulatorDeployment,
        load_config,
    )
    from azoai_emulator.faults import FAULT_HEADER, Fault
    from azoai_emulator.protocol import RequestRecord
    from azoai_emulator.server import Emulator


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'azoai_emulator' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_API_KEY",
    "DEFAULT_DEPLOYMENTS",
    "DEFAULT_IDENTITY_HEADER",
    "DEFAULT_REGION",
    "DEFAULT_RESOURCE_GROUP",
    "DEFAULT_SUBSCRIPTION_ID",
    "FAULT_HEADER",
    "Emulator",
    "EmulatorConfig",
    "EmulatorDeployment",
    "Fault",
    "RequestRecord",
    "load_config",
]
