"""azoai: Azure OpenAI for LangChain and LlamaIndex, one shared core.

The core knows Azure (endpoints, auth, api-versions, deployments, content filtering, retries);
``langchain_azoai`` and ``llamaindex_azoai`` put it behind each framework's interfaces. Names are
imported lazily so that ``import azoai`` stays cheap.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import TYPE_CHECKING, Any

# Before anything that needs Python 3.11 (tomllib, typing.Self, the modules' syntax): an older
# Python gets this sentence, not a SyntaxError or an ImportError from deep inside.
if sys.version_info < (3, 11):  # noqa: UP036
    raise ImportError(
        "azoai needs Python 3.11 or newer; this is Python "
        f"{sys.version_info[0]}.{sys.version_info[1]} ({sys.executable}). Install azoai into a "
        "virtual environment made with a newer Python, e.g. `python3.11 -m venv .venv`."
    )

from azoai.errors import (
    APIConnectionError,
    APIStatusError,
    ApiVersionError,
    AuthenticationError,
    AzoaiError,
    BadRequestError,
    BatchCancelledError,
    BatchDeploymentError,
    BatchError,
    BatchExpiredError,
    BatchInputRejectedError,
    ConfigError,
    ContentFilterError,
    ContextLengthError,
    CorruptResponseError,
    DeploymentNotFoundError,
    DeploymentPausedError,
    FineTuningJobError,
    InputTooLargeError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    QuotaStoreError,
    RateLimitError,
    ResponsesRequiredError,
    ResponseTooLargeError,
    ServiceUnavailableError,
    StreamInterruptedError,
    TimeoutError,
    TrainingDataError,
    UnprocessableEntityError,
    UnsupportedParameterError,
)

__version__ = "0.1.0"

_LAZY = {
    "Batches": "azoai.batch",
    "BatchOptions": "azoai.batch",
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
    "Completions": "azoai.completions",
    "CompletionResult": "azoai.completions",
    "CompletionDelta": "azoai.completions",
    "Images": "azoai.images",
    "ImageResult": "azoai.images",
    "GeneratedImage": "azoai.images",
    "Audio": "azoai.audio",
    "Speech": "azoai.wire.audio",
    "Transcription": "azoai.wire.audio",
    "FineTuning": "azoai.fine_tuning",
    "FineTuningJob": "azoai.wire.fine_tuning",
}

if TYPE_CHECKING:
    from azoai.audio import Audio
    from azoai.batch import Batches, BatchOptions
    from azoai.client import CallOptions, Client
    from azoai.completions import CompletionDelta, CompletionResult, Completions
    from azoai.config.catalog import ModelInfo, lookup_model
    from azoai.config.deployments import DeploymentRecord, DiscoverySettings
    from azoai.config.settings import AuthSettings, RetryPolicy, Settings, Timeouts
    from azoai.content_filter import ContentFilterResults
    from azoai.embeddings import EmbeddingBatchError
    from azoai.fine_tuning import FineTuning
    from azoai.images import GeneratedImage, ImageResult, Images
    from azoai.io.websocket import WebSocketBusyError
    from azoai.wire.audio import Speech, Transcription
    from azoai.wire.fine_tuning import FineTuningJob


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
    "Audio",
    "AuthSettings",
    "AuthenticationError",
    "AzoaiError",
    "BadRequestError",
    "BatchCancelledError",
    "BatchDeploymentError",
    "BatchError",
    "BatchExpiredError",
    "BatchInputRejectedError",
    "BatchOptions",
    "Batches",
    "CallOptions",
    "Client",
    "CompletionDelta",
    "CompletionResult",
    "Completions",
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
    "FineTuning",
    "FineTuningJob",
    "FineTuningJobError",
    "GeneratedImage",
    "ImageResult",
    "Images",
    "InputTooLargeError",
    "InvalidResponseError",
    "ModelInfo",
    "NotFoundError",
    "PermissionDeniedError",
    "QuotaStoreError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ResponsesRequiredError",
    "RetryPolicy",
    "ServiceUnavailableError",
    "Settings",
    "Speech",
    "StreamInterruptedError",
    "TimeoutError",
    "Timeouts",
    "TrainingDataError",
    "Transcription",
    "UnprocessableEntityError",
    "UnsupportedParameterError",
    "WebSocketBusyError",
    "__version__",
    "lookup_model",
]
