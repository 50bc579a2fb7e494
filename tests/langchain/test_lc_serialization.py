"""LangChain serialization: secrets never appear in dumpd/dumps, and load() round-trips with the
secrets read back from the environment."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from langchain_core.load import dumpd, dumps, load, loads

from langchain_azoai import AzureChatOpenAI, AzureOpenAIEmbeddings

ENDPOINT = "https://test.openai.azure.com"
KEY = "sk-very-secret-key"
TOKEN = "eyJ-very-secret-token"


def _model(**kw: object) -> AzureChatOpenAI:
    return AzureChatOpenAI(
        azure_endpoint=ENDPOINT,
        api_key=KEY,
        azure_deployment="prod-4o",
        api_version="2024-10-21",
        model="gpt-4o",
        temperature=0.2,
        **kw,
    )


def test_dumps_never_contain_secrets() -> None:
    llm = _model(azure_ad_token=TOKEN)
    text = dumps(llm) + json.dumps(dumpd(llm))
    assert KEY not in text and TOKEN not in text
    kwargs = dumpd(llm)["kwargs"]
    assert kwargs["openai_api_key"] == {"lc": 1, "type": "secret", "id": ["AZURE_OPENAI_API_KEY"]}
    assert kwargs["azure_ad_token"] == {"lc": 1, "type": "secret", "id": ["AZURE_OPENAI_AD_TOKEN"]}
    assert kwargs["deployment_name"] == "prod-4o" and kwargs["model_name"] == "gpt-4o"


def test_callables_credentials_clients_and_settings_are_not_dumped() -> None:
    llm = AzureChatOpenAI(
        azure_endpoint=ENDPOINT,
        azure_ad_token_provider=lambda: TOKEN,
        azure_deployment="d",
        http_client=httpx.Client(),
    )
    kwargs = dumpd(llm)["kwargs"]
    for name in ("azure_ad_token_provider", "http_client", "settings", "credential"):
        assert name not in kwargs
    assert TOKEN not in dumps(llm)


@pytest.mark.filterwarnings("ignore:The function `loads?` is in beta")
def test_load_round_trips_with_secrets_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm = _model()
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "key-from-env")
    loaded = load(
        dumpd(llm),
        allowed_objects=[AzureChatOpenAI],
        valid_namespaces=["langchain_azoai"],
        secrets_from_env=True,
    )
    assert isinstance(loaded, AzureChatOpenAI)
    assert loaded.asdict() == llm.asdict()
    assert loaded.settings.auth.api_key is not None
    assert loaded.settings.auth.api_key.get_secret_value() == "key-from-env"
    again = loads(
        dumps(llm),
        allowed_objects=[AzureChatOpenAI],
        valid_namespaces=["langchain_azoai"],
        secrets_from_env=True,
    )
    assert again.asdict() == llm.asdict()


def test_the_committed_standard_snapshot_holds_no_secret() -> None:
    snapshot = (
        Path(__file__).parents[1] / "standard" / "__snapshots__" / "test_lc_standard_unit.ambr"
    )
    text = snapshot.read_text()
    assert "AZURE_OPENAI_API_KEY" in text  # the key is a reference to the environment ...
    assert "test-api-key" not in text  # ... never the value the model was built with


def test_embeddings_repr_hides_the_key() -> None:
    emb = AzureOpenAIEmbeddings(azure_endpoint=ENDPOINT, api_key=KEY, azure_deployment="e")
    assert KEY not in repr(emb) and KEY not in str(emb.model_dump())
