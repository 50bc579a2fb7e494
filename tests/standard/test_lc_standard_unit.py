"""langchain-tests unit suites (no network: sockets are disabled for every test here)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import pytest_socket
from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from langchain_azoai import AzureChatOpenAI, AzureOpenAIEmbeddings

# A syntactically valid endpoint that is never contacted.
ENDPOINT = "https://test.openai.azure.com"
ENV = {
    "AZURE_OPENAI_ENDPOINT": ENDPOINT,
    "AZURE_OPENAI_API_KEY": "env-api-key",
    "OPENAI_API_VERSION": "2024-10-21",
}


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    pytest_socket.disable_socket(allow_unix_socket=True)
    try:
        yield
    finally:
        pytest_socket.enable_socket()


class TestAzureChatOpenAIUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[AzureChatOpenAI]:
        return AzureChatOpenAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "azure_endpoint": ENDPOINT,
            "api_key": "test-api-key",
            "azure_deployment": "test-deployment",
            "api_version": "2024-10-21",
        }

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return ENV, {"azure_deployment": "d"}, {"deployment_name": "d"}

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "gpt-4o-mini"

    @pytest.mark.xfail(
        strict=True,
        raises=ValueError,
        reason=(
            "not an adapter or emulator limit: the suite reloads with load(allowed_objects='all'), "
            "which admits only the classes in langchain-core's built-in serialization mapping "
            "(langchain_core.load.mapping), where no third-party package can be listed. The dumpd "
            "snapshot is still checked before that point, and the same round trip with "
            "allowed_objects=[AzureChatOpenAI] passes in tests/langchain/test_lc_serialization.py."
        ),
    )
    def test_serdes(self, model: Any, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)


class TestAzureOpenAIEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[AzureOpenAIEmbeddings]:
        return AzureOpenAIEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"azure_endpoint": ENDPOINT, "api_key": "test-api-key", "azure_deployment": "embed"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            ENV,
            {"azure_deployment": "e", "dimensions": 256},
            {"deployment": "e", "dimensions": 256},
        )
