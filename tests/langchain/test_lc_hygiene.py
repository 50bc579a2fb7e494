"""The adapter holds no Azure knowledge: none of the review's forbidden patterns appear in it."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "langchain_azoai"
FORBIDDEN = re.compile(r"api-version|/deployments/|openai\.azure\.com|retry-after|innererror")


def test_no_azure_knowledge_in_the_adapter() -> None:
    sources = sorted(PACKAGE.glob("*.py"))
    assert sources
    hits = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sources
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if FORBIDDEN.search(line)
    ]
    assert hits == []


def test_public_api() -> None:
    import langchain_azoai

    assert langchain_azoai.__all__ == [
        "AzureChatOpenAI",
        "AzureImageGenerationTool",
        "AzureOpenAI",
        "AzureOpenAIEmbeddings",
        "AzureSpeechToTextParser",
        "AzureTextToSpeechTool",
    ]
    for name in langchain_azoai.__all__:  # each lazy name resolves to its class
        assert getattr(langchain_azoai, name).__name__ == name
    assert (PACKAGE / "py.typed").is_file()
