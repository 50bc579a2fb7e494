"""azoai: Azure OpenAI for LangChain and LlamaIndex, one shared core.

The core knows Azure (endpoints, auth, api-versions, deployments, content filtering, retries);
``langchain_azoai`` and ``llamaindex_azoai`` put it behind each framework's interfaces. Names are
imported lazily so that ``import azoai`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from azoai.errors import (
    APIConnectionError,
    APIStatusError,
    ApiVersionError,
    AuthenticationError,
    AzoaiError,
    BadRequestError,
    ConfigError,
    ContentFilterError,
    ContextLengthError,
    CorruptResponseError,
    DeploymentNotFoundError,
    DeploymentPausedError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponsesRequiredError,
    ResponseTooLargeError,
    ServiceUnavailableError,
    StreamInterruptedError,
    TimeoutError,
    UnsupportedParameterError,
)

__version__ = "0.1.0"

_LAZY = {
    "Client": "azoai.client",
    "CallOptions": "azoai.client",
    "EmbeddingBatchError": "azoai.embeddings",
    "WebSocketBusyError": "azoai.io.websocket",
    "Settings": "azoai.config.settings",
    "AuthSettings": "azoai.config.settings",
    "RetryPolicy": "azoai.config.settings",
    "Timeouts": "azoai.config.settings",
    "ModelInfo": "azoai.config.catalog",
    "lookup_model": "azoai.config.catalog",
    "DeploymentRecord": "azoai.config.deployments",
    "DiscoverySettings": "azoai.config.deployments",
    "ContentFilterResults": "azoai.content_filter",
}

if TYPE_CHECKING:
    from azoai.client import CallOptions, Client
    from azoai.config.catalog import ModelInfo, lookup_model
    from azoai.config.deployments import DeploymentRecord, DiscoverySettings
    from azoai.config.settings import AuthSettings, RetryPolicy, Settings, Timeouts
    from azoai.content_filter import ContentFilterResults
    from azoai.embeddings import EmbeddingBatchError
    from azoai.io.websocket import WebSocketBusyError


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'azoai' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "ApiVersionError",
    "AuthSettings",
    "AuthenticationError",
    "AzoaiError",
    "BadRequestError",
    "CallOptions",
    "Client",
    "ConfigError",
    "ContentFilterError",
    "ContentFilterResults",
    "ContextLengthError",
    "CorruptResponseError",
    "DeploymentNotFoundError",
    "DeploymentPausedError",
    "DeploymentRecord",
    "DiscoverySettings",
    "EmbeddingBatchError",
    "InvalidResponseError",
    "ModelInfo",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ResponsesRequiredError",
    "RetryPolicy",
    "ServiceUnavailableError",
    "Settings",
    "StreamInterruptedError",
    "TimeoutError",
    "Timeouts",
    "UnsupportedParameterError",
    "WebSocketBusyError",
    "__version__",
    "lookup_model",
]
