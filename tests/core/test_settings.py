"""Settings: sources and precedence, environment names, booleans, auth-mode selection, config files."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from azoai.config.deployments import DeploymentRecord
from azoai.config.settings import ENV_VARS, RetryPolicy, Settings, Timeouts, parse_bool
from azoai.errors import ConfigError

EP = "https://myres.openai.azure.com"


def build(env: dict[str, str] | None = None, **kw: Any) -> Settings:
    kw.setdefault("config_file", "")
    return Settings.build(env=env or {}, **kw)


# --- booleans -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["false", "False", "0", "no", "off", "", "  "])
def test_false_strings(value: str) -> None:
    assert parse_bool(value, setting="x") is False


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes", "on", True])
def test_true_strings(value: object) -> None:
    assert parse_bool(value, setting="x") is True


@pytest.mark.parametrize("value", ["ture", "2", "enabled", "nope", None, 3.5])
def test_unknown_boolean_strings_are_errors_not_true(value: object) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_bool(value, setting="AZURE_USE_MANAGED_IDENTITY")
    assert exc.value.setting == "AZURE_USE_MANAGED_IDENTITY"


def test_env_flag_false_does_not_enable_managed_identity() -> None:
    s = build(
        {
            "AZURE_OPENAI_ENDPOINT": EP,
            "AZURE_OPENAI_API_KEY": "k",
            "AZURE_USE_MANAGED_IDENTITY": "false",
        }
    )
    assert s.auth.mode == "api_key"


def test_env_flag_garbage_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="AZURE_USE_MANAGED_IDENTITY"):
        build({"AZURE_OPENAI_ENDPOINT": EP, "AZURE_USE_MANAGED_IDENTITY": "sure"})


# --- environment names --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_BASE_URL"])
def test_endpoint_env_names(name: str) -> None:
    s = build({name: EP + "/openai/v1/", "AZURE_OPENAI_API_KEY": "k"})
    assert s.endpoint.base == EP
    assert s.source_of("endpoint") == f"env {name}"


def test_endpoint_env_precedence() -> None:
    s = build(
        {
            "AZURE_OPENAI_ENDPOINT": EP,
            "AZURE_OPENAI_BASE_URL": "https://other.openai.azure.com",
            "AZURE_OPENAI_API_KEY": "k",
        }
    )
    assert s.endpoint.base == EP


@pytest.mark.parametrize("name", ["AZURE_OPENAI_API_KEY", "AZURE_OPENAI_KEY"])
def test_key_env_names(name: str) -> None:
    s = build({"AZURE_OPENAI_ENDPOINT": EP, name: "the-key"})
    assert s.auth.mode == "api_key"
    assert s.auth.api_key is not None and s.auth.api_key.get_secret_value() == "the-key"
    assert s.source_of("api_key") == f"env {name}"


def test_openai_api_key_never_shadows_the_azure_key() -> None:
    s = build(
        {"AZURE_OPENAI_ENDPOINT": EP, "AZURE_OPENAI_API_KEY": "azure", "OPENAI_API_KEY": "openai"}
    )
    assert s.auth.api_key is not None and s.auth.api_key.get_secret_value() == "azure"
    with pytest.raises(ConfigError, match="no credentials"):
        build({"AZURE_OPENAI_ENDPOINT": EP, "OPENAI_API_KEY": "openai"})


@pytest.mark.parametrize(
    ("env", "expected", "source"),
    [
        ({"AZURE_OPENAI_API_VERSION": "2024-10-21"}, "2024-10-21", "env AZURE_OPENAI_API_VERSION"),
        ({"OPENAI_API_VERSION": "2024-06-01"}, "2024-06-01", "env OPENAI_API_VERSION"),
        (
            {"AZURE_OPENAI_API_VERSION": "2024-10-21", "OPENAI_API_VERSION": "2024-06-01"},
            "2024-10-21",
            "env AZURE_OPENAI_API_VERSION",
        ),
        ({}, "v1", "default"),
    ],
)
def test_api_version_env_names(env: dict[str, str], expected: str, source: str) -> None:
    s = build({"AZURE_OPENAI_ENDPOINT": EP, "AZURE_OPENAI_API_KEY": "k", **env})
    assert s.api_version.value == expected
    assert s.source_of("api_version") == source


@pytest.mark.parametrize("name", ["AZURE_OPENAI_DEPLOYMENT", "AZURE_OPENAI_DEFAULT_DEPLOYMENT"])
def test_deployment_env_names(name: str) -> None:
    s = build({"AZURE_OPENAI_ENDPOINT": EP, "AZURE_OPENAI_API_KEY": "k", name: "prod-4o"})
    assert s.deployment == "prod-4o"


def test_static_token_env() -> None:
    s = build({"AZURE_OPENAI_ENDPOINT": EP, "AZURE_OPENAI_AD_TOKEN": "tok"})
    assert s.auth.mode == "token" and s.auth.token is not None
    assert s.source_of("azure_ad_token") == "env AZURE_OPENAI_AD_TOKEN"


@pytest.mark.parametrize(
    ("env", "mode", "client_id"),
    [
        ({"AZURE_USE_MANAGED_IDENTITY": "true"}, "managed_identity", None),
        (
            {"AZURE_USE_MANAGED_IDENTITY": "1", "AZURE_MANAGED_IDENTITY_CLIENT_ID": "cid"},
            "managed_identity",
            "cid",
        ),
        ({"AZURE_USE_DEFAULT_CREDENTIAL": "yes"}, "default_credential", None),
        (
            {
                "AZURE_FEDERATED_TOKEN_FILE": "/var/run/token",
                "AZURE_CLIENT_ID": "c",
                "AZURE_TENANT_ID": "t",
            },
            "workload_identity",
            "c",
        ),
    ],
)
def test_entra_env_flags(env: dict[str, str], mode: str, client_id: str | None) -> None:
    s = build({"AZURE_OPENAI_ENDPOINT": EP, **env})
    assert s.auth.mode == mode and s.auth.is_entra
    assert s.auth.client_id == client_id
    assert s.auth.scope == "https://cognitiveservices.azure.com/.default"


def test_every_env_var_read_by_the_code_is_documented_in_env_vars() -> None:
    import re

    import azoai.config

    # Every module of the config layer (settings, sources, auth_settings, files, secrets, ...):
    # reading the environment is configuration, so no variable is read outside it.
    config_dir = Path(azoai.config.__file__).parent
    files = sorted(config_dir.glob("*.py"))
    assert {"settings.py", "sources.py", "auth_settings.py", "files.py"} <= {f.name for f in files}
    source = "".join(f.read_text() for f in files)
    used = set(re.findall(r'"((?:AZURE|OPENAI|AZOAI)_[A-Z_]+)"', source))
    assert {"AZURE_OPENAI_ENDPOINT", "AZOAI_CONFIG", "AZURE_USE_MANAGED_IDENTITY"} <= used
    assert used <= set(ENV_VARS) | {"OPENAI_API_KEY"}, used - set(ENV_VARS)
    assert "OPENAI_API_KEY" not in ENV_VARS


def test_settings_module_still_exports_what_it_did_before_the_split() -> None:
    """The policies, the environment table and the auth settings moved to their own config
    modules; ``azoai.config.settings`` stays the import path for them (adapters, users)."""
    import azoai.config.auth_settings as auth_settings
    import azoai.config.policies as policies
    import azoai.config.settings as settings
    import azoai.config.sources as sources

    for name, home in (
        ("ENV_VARS", sources),
        ("AuthMode", auth_settings),
        ("AuthSettings", auth_settings),
        ("AUTH_MODES", auth_settings),
        ("ENTRA_MODES", auth_settings),
        ("Limits", policies),
        ("RetryPolicy", policies),
        ("Timeouts", policies),
        ("Transport", policies),
        ("KeyAuth", policies),
        ("WebSocketOptions", policies),
        ("parse_bool", policies),
        ("MAX_SECONDS", policies),
        ("MIB", policies),
    ):
        assert getattr(settings, name) is getattr(home, name), name
    assert {"Settings", "ENV_VARS", "RetryPolicy", "Timeouts", "Limits", "parse_bool"} <= set(
        settings.__all__
    )
    # A moved dataclass is still a dataclass (its fields are the config file's [retry] keys).
    assert RetryPolicy(max_retries=1) == RetryPolicy(max_retries=1)


# --- precedence: argument > file > environment --------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "azoai.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_precedence_argument_file_env(tmp_path: Path) -> None:
    cfg = write(
        tmp_path,
        """
endpoint = "https://fromfile.openai.azure.com"
deployment = "file-dep"
api_version = "2024-06-01"
[auth]
api_key = "file-key"
""",
    )
    env = {
        "AZURE_OPENAI_ENDPOINT": "https://fromenv.openai.azure.com",
        "AZURE_OPENAI_DEPLOYMENT": "env-dep",
        "AZURE_OPENAI_API_KEY": "env-key",
    }
    s = Settings.build(env=env, config_file=cfg, deployment="arg-dep")
    assert s.endpoint.base == "https://fromfile.openai.azure.com"
    assert s.deployment == "arg-dep"
    assert s.auth.api_key is not None and s.auth.api_key.get_secret_value() == "file-key"
    assert s.api_version.value == "2024-06-01" and s.route == "deployments"
    assert s.source_of("deployment") == "argument"
    assert s.source_of("endpoint") == f"file {cfg}"
    assert s.source_of("api_key") == f"file {cfg}"
    s2 = Settings.build(env=env, config_file="")
    assert s2.endpoint.base == "https://fromenv.openai.azure.com" and s2.deployment == "env-dep"


def test_config_file_from_env_and_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write(tmp_path, f'endpoint = "{EP}"\n[auth]\napi_key = "k"\n', "custom.toml")
    s = Settings.build(env={"AZOAI_CONFIG": str(cfg)})
    assert s.config_file == str(cfg)
    monkeypatch.chdir(tmp_path)
    write(tmp_path, f'endpoint = "{EP}"\ndeployment = "cwd"\n[auth]\napi_key = "k"\n')
    assert Settings.build(env={}).deployment == "cwd"
    with pytest.raises(ConfigError, match="AZOAI_CONFIG points to"):
        Settings.build(env={"AZOAI_CONFIG": str(tmp_path / "missing.toml")})
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.build(env={}, config_file=tmp_path / "missing.toml")


def test_config_file_with_azoai_table_and_full_sections(tmp_path: Path) -> None:
    cfg = write(
        tmp_path,
        f"""
[azoai]
endpoint = "{EP}"
api = "responses"
deployment = "azure-openai/prod/eu"
model = "gpt-5-mini"
strict = true

[azoai.auth]
mode = "managed_identity"
client_id = "mi-client"
scope = "https://ai.azure.com/.default"

[azoai.deployment_map]
"gpt-4o" = "prod-4o"

[[azoai.deployments]]
name = "prod-4o"
model = "gpt-4o"
version = "2024-08-06"
capacity = 30

[azoai.retry]
max_retries = 5
max_retry_after = 30

[azoai.timeout]
read = 30
stream_idle = 5
""",
    )
    s = Settings.build(env={}, config_file=cfg)
    assert s.api == "responses" and s.route == "v1"
    assert s.deployment == "prod/eu"
    assert s.auth.mode == "managed_identity" and s.auth.client_id == "mi-client"
    assert s.auth.scope == "https://ai.azure.com/.default"
    assert dict(s.deployment_map) == {"gpt-4o": "prod-4o"}
    assert s.deployments == (DeploymentRecord("prod-4o", "gpt-4o", "2024-08-06", capacity=30),)
    assert s.retry == RetryPolicy(max_retries=5, max_retry_after=30)
    assert s.timeout == Timeouts(read=30, stream_idle=5)
    assert s.strict is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('endpont = "x"', r"unknown key\(s\) endpont"),
        ('[auth]\napikey = "x"', r"unknown key\(s\) auth.apikey"),
        ("[retry]\nmax_retries = 'three'", "retry.max_retries must be a number"),
        ("endpoint = ", "not valid TOML"),
        ("auth = 3", "must be a table"),
    ],
)
def test_config_file_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.build(env={}, config_file=write(tmp_path, text))


def test_unknown_key_message_lists_known_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        Settings.build(env={}, config_file=write(tmp_path, 'endpont = "x"'))
    assert "unknown key(s) endpont" in str(exc.value) and "known keys:" in str(exc.value)
    assert exc.value.setting == "endpont"


# --- auth-mode selection ------------------------------------------------------------------------


class FakeCredential:
    def get_token(self, *scopes: str, **kw: Any) -> Any:
        raise AssertionError("not called at build time")


def test_explicit_mode_wins() -> None:
    s = build({"AZURE_OPENAI_API_KEY": "k"}, endpoint=EP, auth_mode="default_credential")
    assert s.auth.mode == "default_credential"


def test_key_then_token_then_credential_order_within_a_level(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert build(endpoint=EP, api_key="k").auth.mode == "api_key"
    assert build(endpoint=EP, azure_ad_token="t").auth.mode == "token"
    assert build(endpoint=EP, credential=FakeCredential()).auth.mode == "credential"
    assert build(endpoint=EP, token_provider=lambda: "t").auth.mode == "token_provider"
    assert build(endpoint=EP, azure_ad_token="t", credential=FakeCredential()).auth.mode == "token"
    with caplog.at_level(logging.WARNING, logger="azoai.settings"):
        s = build(endpoint=EP, api_key="k", credential=FakeCredential())
    assert s.auth.mode == "credential" and s.auth.api_key is None
    assert "using Entra ID (credential) and ignoring the key" in caplog.text


def test_higher_source_level_decides_auth() -> None:
    # an argument credential beats an environment key, silently
    s = build({"AZURE_OPENAI_API_KEY": "k"}, endpoint=EP, credential=FakeCredential())
    assert s.auth.mode == "credential"
    # an argument key beats an environment managed-identity flag
    s = build({"AZURE_USE_MANAGED_IDENTITY": "true"}, endpoint=EP, api_key="k")
    assert s.auth.mode == "api_key"


def test_key_and_entra_in_the_env_prefers_entra(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="azoai.settings"):
        s = build(
            {
                "AZURE_OPENAI_ENDPOINT": EP,
                "AZURE_OPENAI_API_KEY": "k",
                "AZURE_USE_DEFAULT_CREDENTIAL": "true",
            }
        )
    assert s.auth.mode == "default_credential"
    assert "ignoring the key" in caplog.text


def test_async_provider_passed_as_token_provider_is_recognised() -> None:
    async def provider() -> str:
        return "t"

    s = build(endpoint=EP, token_provider=provider)
    assert s.auth.token_provider is None and s.auth.async_token_provider is provider


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({}, "no credentials for Azure OpenAI"),
        ({"api_key": ""}, "api_key is empty"),
        ({"api_key": SecretStr("  ")}, "api_key is empty"),
        ({"credential": "a-key-string"}, "must be an azure-identity credential"),
        ({"auth_mode": "magic"}, "auth_mode 'magic' is not valid"),
        ({"auth_mode": "api_key"}, "needs api_key"),
        ({"auth_mode": "client_secret"}, "missing: tenant_id (AZURE_TENANT_ID), client_id"),
        ({"auth_mode": "workload_identity"}, "needs AZURE_FEDERATED_TOKEN_FILE"),
        ({"token_provider": 3}, "must be callable"),
    ],
)
def test_auth_errors(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        build(endpoint=EP, **kw)
    assert message in str(exc.value)


def test_client_secret_mode_from_env() -> None:
    s = build(
        {"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s3cret"},
        endpoint=EP,
        auth_mode="client_secret",
    )
    assert (s.auth.tenant_id, s.auth.client_id) == ("t", "c")
    assert "s3cret" not in repr(s)


def test_entra_on_a_regional_endpoint_is_refused() -> None:
    with pytest.raises(ConfigError, match="custom-subdomain"):
        build(endpoint="https://eastus.api.cognitive.microsoft.com", credential=FakeCredential())
    assert (
        build(endpoint="https://eastus.api.cognitive.microsoft.com", api_key="k").auth.mode
        == "api_key"
    )


def test_sovereign_cloud_scopes() -> None:
    assert (
        build(endpoint="https://r.openai.azure.us", credential=FakeCredential()).auth.scope
        == "https://cognitiveservices.azure.us/.default"
    )
    assert (
        build(endpoint="https://r.openai.azure.cn", credential=FakeCredential()).auth.scope
        == "https://cognitiveservices.azure.cn/.default"
    )
    assert (
        build(
            endpoint=EP, credential=FakeCredential(), scope="https://ai.azure.com/.default"
        ).auth.scope
        == "https://ai.azure.com/.default"
    )


# --- other settings -----------------------------------------------------------------------------


def test_resource_name_builds_the_endpoint() -> None:
    s = build(resource_name="myres", api_key="k")
    assert s.endpoint.base == EP and "resource_name" in s.source_of("endpoint")


def test_missing_endpoint_message() -> None:
    with pytest.raises(ConfigError, match="AZURE_OPENAI_ENDPOINT") as exc:
        build(api_key="k")
    assert exc.value.setting == "endpoint"


def test_model_id_prefix_in_deployment() -> None:
    assert build(endpoint=EP, api_key="k", deployment="azure-openai/a/b").deployment == "a/b"
    with pytest.raises(ConfigError, match="expected format azure-openai/<deployment-name>"):
        build(endpoint=EP, api_key="k", deployment="azure-openai/")


def test_deployment_map_and_static_list_validation() -> None:
    with pytest.raises(ConfigError, match="deployment_map entries"):
        build(endpoint=EP, api_key="k", deployment_map={"gpt-4o": ""})
    with pytest.raises(ConfigError, match="listed twice"):
        build(endpoint=EP, api_key="k", deployments=["a", "a"])
    s = build(endpoint=EP, api_key="k", deployments=["a", {"name": "b", "model": "gpt-4o"}])
    assert [d.name for d in s.deployments] == ["a", "b"] and s.deployments[
        1
    ].info.family == "gpt-4o"


def test_default_headers_cannot_carry_credentials() -> None:
    with pytest.raises(ConfigError, match="must not carry credentials"):
        build(endpoint=EP, api_key="k", default_headers={"api-key": "x"})
    assert dict(
        build(endpoint=EP, api_key="k", default_headers={"x-team": "a"}).default_headers
    ) == {"x-team": "a"}


def test_retry_and_timeout_arguments() -> None:
    s = build(
        endpoint=EP, api_key="k", max_retries=0, timeout=5, connect_timeout=1, stream_idle_timeout=2
    )
    assert s.retry.max_retries == 0
    assert s.timeout == Timeouts(connect=1, read=5, stream_idle=2)
    with pytest.raises(ConfigError, match="max_retries must be"):
        build(endpoint=EP, api_key="k", max_retries=-1)
    with pytest.raises(ConfigError, match="timeout must be > 0"):
        build(endpoint=EP, api_key="k", timeout=0)


def test_settings_are_frozen_and_repr_hides_secrets() -> None:
    s = build(endpoint=EP, api_key="super-secret-key", deployment="d")
    with pytest.raises(AttributeError):
        s.deployment = "x"  # type: ignore[misc]
    assert "super-secret-key" not in repr(s) and "super-secret-key" not in str(s.auth)
    assert s.replace(deployment="x").deployment == "x"


def test_discovery_settings_from_env_and_endpoint() -> None:
    s = build(
        {"AZURE_SUBSCRIPTION_ID": "sub", "AZURE_RESOURCE_GROUP": "rg"},
        endpoint=EP,
        api_key="k",
        discovery=True,
    )
    assert s.discovery is not None
    assert (s.discovery.subscription_id, s.discovery.resource_group, s.discovery.account) == (
        "sub",
        "rg",
        "myres",
    )
    assert s.discovery.list_url.startswith(
        "https://management.azure.com/subscriptions/sub/resourceGroups/rg/"
    )
    with pytest.raises(ConfigError, match="missing: subscription_id, resource_group"):
        build(endpoint=EP, api_key="k", discovery=True)


def test_static_list_wins_over_discovery(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        s = build(
            endpoint=EP,
            api_key="k",
            deployments=["a"],
            discovery={"subscription_id": "s", "resource_group": "g"},
        )
    assert s.discovery is None and "using the static list" in caplog.text


@pytest.mark.parametrize(
    "text",
    [
        "endpoint = []",
        "endpoint = 3",
        'endpoint = "https://r.openai.azure.com"\napi_version = 2024',
        'endpoint = "https://r.openai.azure.com"\ndeployment = {a = 1}',
    ],
)
def test_non_string_file_values_are_config_errors(tmp_path: Path, text: str) -> None:
    # found by tests/core/test_fuzz.py: a list endpoint reached the URL parser
    with pytest.raises(ConfigError, match="must be a string"):
        Settings.build(env={}, config_file=write(tmp_path, text + '\n[auth]\napi_key = "k"\n'))


def test_retry_as_a_mapping_is_the_config_files_retry_table() -> None:
    s = Settings.build(
        endpoint="https://r.openai.azure.com",
        api_key="k",
        retry={"max_retries": 0, "initial_delay": 0.1},
        env={},
        config_file="",
    )
    assert s.retry.max_retries == 0 and s.retry.initial_delay == 0.1
    with pytest.raises(ConfigError, match="finite") as exc:
        Settings.build(
            endpoint="https://r.openai.azure.com",
            api_key="k",
            retry={"max_delay": float("nan")},
            env={},
            config_file="",
        )
    assert exc.value.setting == "retry.max_delay"
    with pytest.raises(ConfigError, match="unknown retry setting") as exc:
        Settings.build(
            endpoint="https://r.openai.azure.com",
            api_key="k",
            retry={"retries": 1},
            env={},
            config_file="",
        )
    assert exc.value.setting == "retry"
