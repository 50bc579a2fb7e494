"""langchain-tests integration suites, run against the azoai emulator over loopback."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import lc_std_support
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_tests.integration_tests import ChatModelIntegrationTests, EmbeddingsIntegrationTests

from langchain_azoai import AzureChatOpenAI, AzureOpenAIEmbeddings

# The files langchain-tests downloads for its multimodal tests, served from local copies so the
# suites run offline (the bytes differ; the point of those tests is the content-block handling).
_IMAGE_URL = (
    "https://raw.githubusercontent.com/langchain-ai/docs/4d11d08b6b0e210bd456943f7a22febbd168b543"
    "/src/images/agentic-rag-output.png"
)
_PDF_URL = "https://www.w3.org/WAI/ER/tests/xhtml/testfiles/resources/pdf/dummy.pdf"


@pytest.fixture(autouse=True)
def _offline_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        _IMAGE_URL: (lc_std_support.png(), "image/png"),
        _PDF_URL: (lc_std_support.pdf(), "application/pdf"),
    }
    monkeypatch.setattr(httpx, "get", lc_std_support.offline_get(files))


def _connection() -> dict[str, Any]:
    emu = lc_std_support.emulator()
    return {"azure_endpoint": emu.endpoint, "api_key": emu.api_key}


def _aggregate(model: AzureChatOpenAI, prompt: Any, *, stream: bool) -> AIMessage:
    if not stream:
        return model.invoke(prompt)
    full: BaseMessage | None = None
    for chunk in model.stream(prompt):
        full = chunk if full is None else full + chunk
    assert isinstance(full, AIMessageChunk)
    return full


class TestAzureChatOpenAIChatCompletions(ChatModelIntegrationTests):
    """Chat Completions (the default API) on a gpt-4o deployment."""

    @property
    def chat_model_class(self) -> type[AzureChatOpenAI]:
        return AzureChatOpenAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {**_connection(), "azure_deployment": "chat", "model": "gpt-4o"}

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        # The URL is passed on as an image part; Azure (and the emulator) take http(s) URLs.
        return True

    @property
    def supports_pdf_inputs(self) -> bool:
        # Chat Completions file parts: the emulator's Chat Completions accepts only text and
        # image_url parts. PDF input runs in the Responses API class below.
        return False

    @property
    def model_override_value(self) -> str:
        return "gpt-4o-mini"

    @property
    def supported_usage_metadata_details(self) -> dict[str, list[Any]]:
        return {
            "invoke": ["reasoning_output", "cache_read_input"],
            "stream": ["reasoning_output", "cache_read_input"],
        }

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        model = AzureChatOpenAI(**_connection(), azure_deployment="reasoner", model="o4-mini")
        msg = _aggregate(model, "Think step by step: what is 17 * 23?", stream=stream)
        assert msg.usage_metadata is not None
        assert msg.usage_metadata["output_token_details"]["reasoning"] > 0  # a real count
        return msg

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        # Azure caches prompts of 1,024+ tokens; the second identical long prompt reads the cache.
        model = AzureChatOpenAI(**self.chat_model_params)
        long_prompt = "Here is some background to keep in mind. " * 200 + f"stream={stream}"
        _aggregate(model, long_prompt, stream=stream)
        msg = _aggregate(model, long_prompt, stream=stream)
        assert msg.usage_metadata is not None
        assert msg.usage_metadata["input_token_details"]["cache_read"] > 0  # a real count
        return msg


class TestAzureChatOpenAIResponses(TestAzureChatOpenAIChatCompletions):
    """The same suite on the Responses API (``use_responses_api=True``)."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {**super().chat_model_params, "use_responses_api": True}

    @property
    def supports_pdf_inputs(self) -> bool:
        return True


class TestAzureOpenAIEmbeddings(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[AzureOpenAIEmbeddings]:
        return AzureOpenAIEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {**_connection(), "azure_deployment": "embed"}


def test_offline_copies_are_what_the_suites_expect() -> None:
    """The stand-ins are real files of the advertised types."""
    png = httpx.get(_IMAGE_URL).content
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert httpx.get(_PDF_URL).content.startswith(b"%PDF-")
    assert base64.b64decode(base64.b64encode(png)) == png
    with pytest.raises(RuntimeError, match="offline"):
        httpx.get("https://example.org/other")
