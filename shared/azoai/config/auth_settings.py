"""How a client authenticates: :class:`AuthSettings`, and how its mode is chosen from the
sources (an explicit ``auth_mode``, else inferred from what the highest source offers).
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import SecretStr

from azoai.config.endpoints import Endpoint
from azoai.config.secrets import credential
from azoai.config.sources import Sources, auth_env_offers
from azoai.errors import ConfigError

__all__ = [
    "AUTH_MODES",
    "ENTRA_MODES",
    "AuthMode",
    "AuthSettings",
    "found_credentials",
    "resolve_auth",
    "secret_header",
]

# The same logger as the rest of settings: users filter on "azoai.settings".
log = logging.getLogger("azoai.settings")

AuthMode = Literal[
    "api_key",
    "token",
    "token_provider",
    "credential",
    "managed_identity",
    "default_credential",
    "workload_identity",
    "client_secret",
    "azure_cli",
    "none",
]
AUTH_MODES: tuple[str, ...] = AuthMode.__args__  # type: ignore[attr-defined]
ENTRA_MODES = frozenset(AUTH_MODES) - {"api_key", "none"}


@dataclass(frozen=True, slots=True, eq=False)
class AuthSettings:
    """The chosen way to authenticate, and its inputs. Secrets are :class:`SecretStr`."""

    mode: AuthMode
    scope: str
    api_key: SecretStr | None = None
    token: SecretStr | None = None
    token_provider: Callable[[], str] | None = None
    async_token_provider: Callable[[], Awaitable[str]] | None = None
    credential: Any = None
    client_id: str | None = None
    tenant_id: str | None = None
    client_secret: SecretStr | None = None

    @property
    def is_entra(self) -> bool:
        return self.mode in ENTRA_MODES

    def __repr__(self) -> str:
        bits = [f"mode={self.mode!r}", f"scope={self.scope!r}"]
        if self.client_id:
            bits.append(f"client_id={self.client_id!r}")
        if self.api_key is not None:
            bits.append("api_key=SecretStr('**********')")
        if self.token is not None:
            bits.append("token=SecretStr('**********')")
        return f"AuthSettings({', '.join(bits)})"


# Header names that carry a credential: APIM's Ocp-Apim-Subscription-Key, api-key, x-api-key,
# (Proxy-)Authorization, cookies, tokens, secrets, signatures.
_SECRET_HEADER = re.compile(r"key|token|secret|auth|cookie|passw|signature|credential", re.I)


def secret_header(name: str) -> bool:
    """Whether a header named ``name`` carries a credential, so its value is a secret: kept out
    of reprs, LangChain ``dumpd``, LlamaIndex ``to_dict``, logs and pickles (by the adapters)."""
    return _SECRET_HEADER.search(name) is not None


def resolve_auth(
    src: Sources,
    endpoint: Endpoint,
    *,
    on_missing: Callable[[ConfigError], None] | None = None,
) -> AuthSettings:
    """The auth mode and its inputs from ``src``, recording where each came from.

    No credentials at all is a :class:`ConfigError`; with ``on_missing`` (drop-in mode for a
    framework that checks the key only when it calls) that error is handed to it instead and
    the mode is ``none`` (the first call raises it, see ``Settings.check``)."""
    fa = src.file_auth
    explicit = src.pick("auth_mode", file_key="mode", section=fa)
    scope = src.pick("scope", file_key="scope", section=fa) or endpoint.default_scope
    if "scope" not in src.sources:
        src.sources["scope"] = endpoint.scope_reason
    client_id = src.pick(
        "client_id", ("AZURE_MANAGED_IDENTITY_CLIENT_ID",), file_key="client_id", section=fa
    )

    # What each source level offers, highest first.
    levels: list[tuple[str, dict[str, Any]]] = []
    arg_level: dict[str, Any] = {
        k: src.args[k]
        for k in ("api_key", "token", "token_provider", "async_token_provider", "credential")
        if k in src.args
    }
    levels.append(("argument", arg_level))
    levels.append((f"file {src.path}", {k: fa[k] for k in ("api_key", "token") if k in fa}))
    env_level, env_names = auth_env_offers(src.env)
    levels.append(("env", env_level))

    def first(key: str) -> tuple[Any, str | None]:
        for where, offered in levels:
            if key in offered:
                return offered[key], (f"env {env_names[key]}" if where == "env" else where)
        return None, None

    mode: str | None
    if explicit is not None:
        mode = str(explicit)
        if mode not in AUTH_MODES:
            raise ConfigError(
                f"auth_mode {mode!r} is not valid; use one of {', '.join(AUTH_MODES)}",
                setting="auth_mode",
            )
        src.sources["auth_mode"] = src.sources.get("auth_mode", "argument")
    else:
        mode = None
        for where, offered in levels:
            if not offered:
                continue
            mode = _mode_from(offered)
            if "api_key" in offered and mode != "api_key":
                log.warning(
                    "azoai: both an API key and Entra ID credentials are given (%s); using Entra ID (%s) and ignoring the key",
                    where,
                    mode,
                )
            src.sources["auth_mode"] = f"inferred from {where}"
            break
        if mode is None:
            err = _no_credentials(src.env)
            if on_missing is None:
                raise err
            on_missing(err)
            src.sources["auth_mode"] = "none (no credentials: refused at the first call)"
            return AuthSettings(mode="none", scope=str(scope))

    if mode in ENTRA_MODES and not endpoint.supports_entra:
        raise ConfigError(
            f"Entra ID authentication needs a custom-subdomain endpoint (https://<resource>.openai.azure.com); "
            f"the regional endpoint {endpoint.host} accepts only API keys",
            setting="endpoint",
        )

    out: dict[str, Any] = {
        "mode": mode,
        "scope": str(scope),
        "client_id": str(client_id) if client_id else None,
    }
    if mode == "api_key":
        key, key_src = first("api_key")
        if key is None:
            raise ConfigError(
                "auth_mode 'api_key' needs api_key (or AZURE_OPENAI_API_KEY)", setting="api_key"
            )
        out["api_key"] = _secret(key, "api_key", key_src)
        src.sources["api_key"] = str(key_src)
    elif mode == "token":
        token, token_src = first("token")
        if token is None:
            raise ConfigError(
                "auth_mode 'token' needs azure_ad_token (or AZURE_OPENAI_AD_TOKEN)",
                setting="azure_ad_token",
            )
        out["token"] = _bearer_stripped(_secret(token, "azure_ad_token", token_src), token_src)
        src.sources["azure_ad_token"] = str(token_src)
    elif mode == "token_provider":
        sync_p, _ = first("token_provider")
        async_p, _ = first("async_token_provider")
        if sync_p is not None and _is_async_callable(sync_p):
            sync_p, async_p = None, async_p or sync_p
        if sync_p is None and async_p is None:
            raise ConfigError(
                "auth_mode 'token_provider' needs azure_ad_token_provider",
                setting="azure_ad_token_provider",
            )
        for p, name in (
            (sync_p, "azure_ad_token_provider"),
            (async_p, "azure_ad_async_token_provider"),
        ):
            if p is not None and not callable(p):
                raise ConfigError(
                    f"{name} must be callable (it returns a token string)", setting=name
                )
        if async_p is not None and not _is_async_callable(async_p):
            raise ConfigError(
                "azure_ad_async_token_provider must be an async function returning a token string",
                setting="azure_ad_async_token_provider",
            )
        out["token_provider"] = sync_p
        out["async_token_provider"] = async_p
    elif mode == "credential":
        cred, _ = first("credential")
        if cred is None:
            raise ConfigError(
                "auth_mode 'credential' needs credential=<azure-identity credential>",
                setting="credential",
            )
        if not callable(getattr(cred, "get_token", None)):
            raise ConfigError(
                f"credential must be an azure-identity credential (with get_token), got {type(cred).__name__}; "
                "for an API key use api_key=",
                setting="credential",
            )
        out["credential"] = cred
    elif mode == "client_secret":
        tenant = src.pick("tenant_id", ("AZURE_TENANT_ID",), file_key="tenant_id", section=fa)
        cid = client_id or src.pick("client_id", ("AZURE_CLIENT_ID",))
        secret = src.pick(
            "client_secret", ("AZURE_CLIENT_SECRET",), file_key="client_secret", section=fa
        )
        missing = [
            n
            for n, v in (
                ("tenant_id (AZURE_TENANT_ID)", tenant),
                ("client_id (AZURE_CLIENT_ID)", cid),
                ("client_secret (AZURE_CLIENT_SECRET)", secret),
            )
            if not v
        ]
        if missing:
            raise ConfigError(
                f"auth_mode 'client_secret' is missing: {', '.join(missing)}",
                setting=missing[0].split(" ")[0],
            )
        out.update(
            tenant_id=str(tenant),
            client_id=str(cid),
            client_secret=_secret(
                secret, "client_secret", src.sources.get("client_secret"), header=False
            ),
        )
    elif mode == "workload_identity":
        missing = [
            n for n in ("AZURE_FEDERATED_TOKEN_FILE", "AZURE_TENANT_ID") if not src.env.get(n)
        ]
        if not (client_id or src.env.get("AZURE_CLIENT_ID")):
            missing.append("AZURE_CLIENT_ID")
        if missing:
            raise ConfigError(
                f"auth_mode 'workload_identity' needs {', '.join(missing)} in the environment",
                setting=missing[0],
            )
        out["client_id"] = client_id or src.env.get("AZURE_CLIENT_ID")
        out["tenant_id"] = src.env.get("AZURE_TENANT_ID")
    return AuthSettings(**out)


def _no_credentials(env: Mapping[str, str]) -> ConfigError:
    """The "no credentials" error; it says so when OPENAI_API_KEY is set, which azoai never
    reads as an Azure key (by design: an OpenAI key cannot sign in to Azure OpenAI, and taking it
    would let a key meant for api.openai.com shadow the Azure configuration)."""
    seen = ""
    if (env.get("OPENAI_API_KEY") or "").strip():
        seen = (
            "; OPENAI_API_KEY is set but not read: azoai never takes it as an Azure key "
            "(langchain-openai and llama-index fall back to it; an OpenAI key does not work "
            "with Azure OpenAI)"
        )
    return ConfigError(
        f"no credentials for Azure OpenAI{seen}",
        setting="api_key",
        fix="pass api_key= (or set AZURE_OPENAI_API_KEY) with the resource's key, "
        "azure_ad_token_provider= / credential= (e.g. DefaultAzureCredential()), or set "
        "AZURE_USE_DEFAULT_CREDENTIAL=true or AZURE_USE_MANAGED_IDENTITY=true",
    )


def found_credentials(src: Sources) -> dict[str, SecretStr]:
    """The key and the static token the config file or the environment offers (``api_key``,
    ``azure_ad_token``), used or not, for the adapters' fields (langchain-openai shows both);
    a value a header could not carry is left out (it is refused where it is used)."""
    fa = src.file_auth
    env_level, env_names = auth_env_offers(src.env)
    out: dict[str, SecretStr] = {}
    for key, name in (("api_key", "api_key"), ("token", "azure_ad_token")):
        where = f"file {src.path}" if key in fa else f"env {env_names.get(key)}"
        value = fa.get(key, env_level.get(key))
        if not isinstance(value, str | SecretStr):
            continue
        try:
            secret = _secret(value, name, where)
            out[name] = _bearer_stripped(secret, where) if key == "token" else secret
        except ConfigError:
            continue
    return out


def _bearer_stripped(token: SecretStr, source: str | None) -> SecretStr:
    """A static token given with its scheme (``"Bearer eyJ..."``, as Portkey's configuration and
    copied Authorization headers carry it) without the scheme: the header adds it once."""
    scheme, _, rest = token.get_secret_value().partition(" ")
    if scheme.lower() != "bearer":
        return token
    bare = rest.strip()
    if not bare:
        origin = f" (from {source})" if source else ""
        raise ConfigError(
            f"azure_ad_token is only the word 'Bearer'{origin}", setting="azure_ad_token"
        )
    return SecretStr(bare)


def _mode_from(offered: Mapping[str, Any]) -> str:
    """Within one source level: Entra forms beat a key; a static token beats a provider, which
    beats a credential object, which beats the environment flags."""
    for key, mode in (
        ("token", "token"),
        ("token_provider", "token_provider"),
        ("async_token_provider", "token_provider"),
        ("credential", "credential"),
        ("managed_identity", "managed_identity"),
        ("default_credential", "default_credential"),
        ("workload_identity", "workload_identity"),
    ):
        if key in offered:
            return mode
    return "api_key"


def _is_async_callable(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)


def _secret(value: Any, setting: str, source: str | None, *, header: bool = True) -> SecretStr:
    """A credential as it enters (see :func:`azoai.config.secrets.credential`): stripped, and refused
    without echoing it when a header could not carry it."""
    if not isinstance(value, str | SecretStr):
        raise ConfigError(f"{setting} must be a string", setting=setting)
    return credential(value, setting=setting, source=source, header=header)
