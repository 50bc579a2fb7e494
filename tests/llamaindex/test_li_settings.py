"""Constructor arguments: llama-index's names and aliases, azoai's own, secrets, serialisation."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import pytest
from li_helpers import ISOLATED
from pydantic import SecretStr

from azoai.errors import ConfigError
from llamaindex_azoai import AzureOpenAI, AzureOpenAIEmbedding

ENDPOINT = "https://myres.openai.azure.com"
KEY = "sk-very-secret-key-123"


def make(**kw: object) -> AzureOpenAI:
    args: dict[str, object] = {"azure_endpoint": ENDPOINT, "api_key": KEY, **ISOLATED}
    args.update(kw)
    return AzureOpenAI(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "alias", ["engine", "deployment_name", "deployment_id", "deployment", "azure_deployment"]
)
def test_every_engine_alias_names_the_deployment(alias: str) -> None:
    llm = make(**{alias: "prod-4o"})
    assert llm.engine == "prod-4o"
    assert llm.settings.deployment == "prod-4o"


def test_conflicting_aliases_raise_naming_both() -> None:
    with pytest.raises(ConfigError, match=r"engine='a'.*deployment_name='b'"):
        make(engine="a", deployment_name="b")


def test_same_value_under_two_aliases_is_fine() -> None:
    assert make(engine="a", azure_deployment="a").engine == "a"


def test_model_is_the_real_model_and_engine_the_deployment() -> None:
    llm = make(engine="prod-4o", model="gpt-4o")
    assert (llm.settings.deployment, llm.settings.model) == ("prod-4o", "gpt-4o")


def test_use_azure_ad_without_provider_means_default_credential_bearer_tokens() -> None:
    llm = AzureOpenAI(engine="d", azure_endpoint=ENDPOINT, use_azure_ad=True, **ISOLATED)
    assert llm.settings.auth.mode == "default_credential"
    assert llm.settings.auth.api_key is None


def test_token_provider_is_used_as_a_provider() -> None:
    llm = AzureOpenAI(
        engine="d",
        azure_endpoint=ENDPOINT,
        use_azure_ad=True,
        azure_ad_token_provider=lambda: "tok",
        **ISOLATED,
    )
    assert llm.settings.auth.mode == "token_provider"


def test_credential_is_azoais_own_argument() -> None:
    class Cred:
        def get_token(self, *scopes: str, **kw: object) -> object:
            raise AssertionError("not called at construction")

    llm = AzureOpenAI(engine="d", azure_endpoint=ENDPOINT, credential=Cred(), **ISOLATED)
    assert llm.settings.auth.mode == "credential"


def test_api_base_is_accepted_as_a_proxy_endpoint() -> None:
    llm = AzureOpenAI(
        engine="d", api_base="https://gateway.example.com/aoai", api_key=KEY, **ISOLATED
    )
    assert llm.settings.endpoint.base.startswith("https://gateway.example.com")


def test_api_version_max_retries_timeout_and_headers_reach_the_core() -> None:
    llm = make(
        engine="d",
        api_version="2024-10-21",
        max_retries=7,
        timeout=12.5,
        default_headers={"x-team": "search"},
    )
    s = llm.settings
    assert s.api_version.value == "2024-10-21"
    assert s.route == "deployments"
    assert s.retry.max_retries == 7
    assert s.timeout.read == 12.5
    assert dict(s.default_headers) == {"x-team": "search"}


def test_responses_flag_selects_the_responses_api() -> None:
    llm = make(engine="d", use_responses_api=True)
    assert llm.settings.api == "responses"


def test_track_previous_responses_turns_store_on() -> None:
    assert make(engine="d", use_responses_api=True, track_previous_responses=True).store is True


def test_core_options_pass_through() -> None:
    llm = make(
        engine="d",
        deployment_map={"gpt-4o": "prod-4o"},
        deployments=[{"name": "prod-4o", "model": "gpt-4o", "model_version": "2024-11-20"}],
        stream_idle_timeout=9.0,
    )
    assert llm.settings.deployment_map == {"gpt-4o": "prod-4o"}
    assert llm.settings.deployments[0].model == "gpt-4o"
    assert llm.settings.timeout.stream_idle == 9.0


def test_environment_is_read_by_the_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", ENDPOINT)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "from-env")
    llm = AzureOpenAI(config_file="")
    assert llm.settings.endpoint.base == ENDPOINT
    assert llm.settings.deployment == "from-env"
    assert llm.settings.api_version.value == "2024-10-21"
    assert llm.settings.source_of("api_key") == "env AZURE_OPENAI_API_KEY"


def test_missing_credentials_raise_a_config_error_naming_the_setting() -> None:
    # llama-index checks the key when it calls, not when it constructs: so does this
    llm = AzureOpenAI(engine="d", azure_endpoint=ENDPOINT, **ISOLATED)
    with pytest.raises(ConfigError) as err:
        llm.complete("hi")
    assert err.value.setting == "api_key"


def test_unknown_arguments_raise_instead_of_vanishing() -> None:
    with pytest.raises(TypeError, match="temprature"):
        make(engine="d", temprature=0.5)


def test_audio_output_is_refused_clearly() -> None:
    with pytest.raises(NotImplementedError, match="audio"):
        make(engine="d", modalities=["text", "audio"])


def _secret_free(text: str) -> None:
    assert KEY not in text
    assert "static-token-xyz" not in text


def test_secrets_never_appear_in_to_dict_to_json_repr_or_payload() -> None:
    llm = make(engine="d", azure_ad_token="static-token-xyz")
    assert isinstance(llm.api_key, SecretStr)
    dumped = llm.to_dict()
    for name in ("api_key", "azure_ad_token", "azure_ad_token_provider", "credential", "env"):
        assert name not in dumped
    _secret_free(json.dumps(dumped))
    _secret_free(llm.to_json())
    _secret_free(repr(llm))
    _secret_free(str(llm.settings))
    _secret_free(json.dumps(llm.to_payload(), default=str))


def test_embedding_secrets_never_appear_in_to_dict_or_to_json() -> None:
    embed = AzureOpenAIEmbedding(
        deployment_name="embed", azure_endpoint=ENDPOINT, api_key=KEY, **ISOLATED
    )
    assert "api_key" not in embed.to_dict()
    _secret_free(embed.to_json())
    _secret_free(repr(embed))


def test_to_dict_round_trips_with_the_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm = make(engine="prod", model="gpt-4o", temperature=0.3, deployments=["prod"])
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    data = json.loads(llm.to_json())
    data.pop("class_name")
    data.pop("env", None)
    again = AzureOpenAI.from_dict(data)
    assert (again.engine, again.model, again.temperature) == ("prod", "gpt-4o", 0.3)
    assert again.settings.auth.api_key is not None
    assert again.settings.auth.api_key.get_secret_value() == KEY


def test_pickling_rebuilds_the_client_and_keeps_this_object_intact() -> None:
    provider_calls: list[int] = []
    llm = make(engine="d", azure_ad_token_provider=lambda: provider_calls.append(1) or "t")
    _ = llm.client
    copy = pickle.loads(pickle.dumps(llm))
    assert copy.engine == "d"
    # in this process (and forked workers) the provider comes back from memory, never the pickle
    assert copy.settings.auth.mode == "token_provider"
    assert llm.azure_ad_token_provider is not None  # still here on the original


def test_unknown_model_names_never_raise_in_metadata() -> None:
    meta = make(engine="gpt-4.1-global", model="my-finetune-xyz").metadata
    assert meta.model_name == "my-finetune-xyz"
    assert meta.is_chat_model is True
    assert meta.context_window > 0
    assert 0 < meta.num_output <= meta.context_window // 2


def test_metadata_comes_from_the_catalogue() -> None:
    meta = make(engine="prod", model="gpt-4o").metadata
    assert meta.context_window == 128_000
    assert meta.num_output == 16_384
    assert meta.is_function_calling_model is True


def test_metadata_from_a_deployment_record_when_model_is_not_given() -> None:
    meta = make(engine="prod", deployments=[{"name": "prod", "model": "o3-mini"}]).metadata
    assert meta.model_name == "o3-mini"
    assert meta.context_window == 200_000


def test_metadata_without_model_reports_the_deployment() -> None:
    meta = make(engine="prod-unknown").metadata
    assert meta.model_name == "prod-unknown"


def test_max_tokens_and_context_window_overrides() -> None:
    meta = make(engine="p", model="gpt-4o", max_tokens=256, context_window=50_000).metadata
    assert (meta.num_output, meta.context_window) == (256, 50_000)


def test_embedding_uses_model_as_deployment_when_no_deployment_is_named() -> None:
    embed = AzureOpenAIEmbedding(
        model="text-embedding-3-small", azure_endpoint=ENDPOINT, api_key=KEY, **ISOLATED
    )
    assert embed.settings.deployment == "text-embedding-3-small"
    assert embed.embed_batch_size == 2048


def test_embedding_dimensions_from_additional_kwargs() -> None:
    embed = AzureOpenAIEmbedding(
        deployment_name="e",
        additional_kwargs={"dimensions": 256},
        azure_endpoint=ENDPOINT,
        api_key=KEY,
        **ISOLATED,
    )
    assert embed.dimensions == 256


# The standing review check: the adapter holds no Azure knowledge.
FORBIDDEN = re.compile(r"api-version|/deployments/|openai\.azure\.com|retry-after|innererror", re.I)


def test_adapter_sources_hold_no_azure_knowledge() -> None:
    package = Path(__file__).resolve().parents[2] / "llamaindex_azoai"
    offenders = [
        f"{path.name}:{n}: {line.strip()}"
        for path in package.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if FORBIDDEN.search(line)
    ]
    assert offenders == []
