"""Endpoint URLs: what hosts azoai accepts, how a pasted URL is normalised, which cloud it is in.

Kept apart from settings so that the security checks (which host may receive a token) and the
URL builder (:func:`operation_url`, the only one) share one definition of "the configured endpoint".

Azure AI Foundry *project* endpoints (``https://<account>.services.ai.azure.com/api/projects/<p>``)
serve the OpenAI-compatible v1 API below the project path (``.../api/projects/<p>/openai/v1/...``,
what ``AIProjectClient.get_openai_client()`` uses) and want tokens for ``https://ai.azure.com``
(microsoft/agent-framework#7201: a cognitiveservices token gets a 401 naming that audience).
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import SplitResult, quote, unquote, urlsplit, urlunsplit

from azoai.errors import ConfigError

if TYPE_CHECKING:
    from azoai.config.versions import ApiVersion

__all__ = [
    "FOUNDRY_SCOPE",
    "Cloud",
    "Endpoint",
    "HostKind",
    "is_loopback_host",
    "operation_url",
    "parse_compatible_base",
    "parse_endpoint",
    "resource_url",
    "shown_url",
    "split_deployment_url",
]

#: ``compatible``: a non-Azure OpenAI-compatible API (a route's last fallback), whose base URL
#: is the API root itself (``https://api.openai.com/v1``).
HostKind = Literal[
    "openai", "cognitiveservices", "foundry", "regional", "loopback", "custom", "compatible"
]


@dataclass(frozen=True, slots=True)
class Cloud:
    """The Azure cloud an endpoint lives in: decides the default Entra scope and the ARM host."""

    name: str
    scope: str
    arm_host: str
    arm_scope: str


PUBLIC = Cloud(
    "AzureCloud",
    "https://cognitiveservices.azure.com/.default",
    "https://management.azure.com",
    "https://management.azure.com/.default",
)
US_GOV = Cloud(
    "AzureUSGovernment",
    "https://cognitiveservices.azure.us/.default",
    "https://management.usgovcloudapi.net",
    "https://management.usgovcloudapi.net/.default",
)
CHINA = Cloud(
    "AzureChinaCloud",
    "https://cognitiveservices.azure.cn/.default",
    "https://management.chinacloudapi.cn",
    "https://management.chinacloudapi.cn/.default",
)

#: The Entra scope of Foundry project endpoints (and Microsoft's 2026 v1 examples, facts §9.1).
FOUNDRY_SCOPE = "https://ai.azure.com/.default"

# host suffix -> (kind, cloud). Longest suffix first is not needed: the suffixes do not overlap.
_AZURE_SUFFIXES: tuple[tuple[str, HostKind, Cloud], ...] = (
    (".openai.azure.com", "openai", PUBLIC),
    (".cognitiveservices.azure.com", "cognitiveservices", PUBLIC),
    (".services.ai.azure.com", "foundry", PUBLIC),
    (".api.cognitive.microsoft.com", "regional", PUBLIC),
    (".openai.azure.us", "openai", US_GOV),
    (".cognitiveservices.azure.us", "cognitiveservices", US_GOV),
    (".openai.azure.cn", "openai", CHINA),
    (".cognitiveservices.azure.cn", "cognitiveservices", CHINA),
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A validated endpoint: ``base`` is ``scheme://host[:port][/path]`` with no trailing slash and
    no ``/openai`` suffix; request URLs are ``{base}/openai/...``. ``project`` names the Foundry
    project of a project endpoint (``base`` then ends in ``/api/projects/<project>``)."""

    base: str
    host: str
    kind: HostKind
    cloud: Cloud
    project: str | None = None

    @property
    def account_base(self) -> str:
        """``base`` without the project path: where the account's dated deployment route is."""
        if self.project is None:
            return self.base
        return self.base[: -len(f"{_PROJECT_PREFIX}{self.project}")]

    @property
    def default_scope(self) -> str:
        """The Entra scope used when none is configured: ``https://ai.azure.com/.default`` for a
        Foundry project endpoint (the only audience it accepts), else the cloud's scope."""
        return FOUNDRY_SCOPE if self.project is not None else self.cloud.scope

    @property
    def scope_reason(self) -> str:
        """Why :attr:`default_scope` was chosen, for ``Settings.sources``."""
        if self.project is not None:
            return f"default for Foundry project {self.project!r}"
        return f"default for {self.cloud.name}"

    @property
    def resource_name(self) -> str | None:
        """The custom subdomain (the Azure resource name) for Azure hosts, else ``None``."""
        if self.kind in ("loopback", "custom", "regional", "compatible"):
            return None
        return self.host.split(".", 1)[0]

    @property
    def supports_entra(self) -> bool:
        """Entra ID needs a custom-subdomain host; regional endpoints take only keys."""
        return self.kind not in ("regional", "compatible")

    @property
    def openai_base(self) -> str:
        return f"{self.base}/openai"


def is_loopback_host(host: str) -> bool:
    h = host.strip("[]").lower()
    if h == "localhost" or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def endpoint_from_resource_name(name: str) -> str:
    n = name.strip()
    if not n or not all(c.isalnum() or c == "-" for c in n):
        raise ConfigError(
            f"resource_name {name!r} is not a valid Azure resource name (letters, digits and '-')",
            setting="resource_name",
        )
    return f"https://{n.lower()}.openai.azure.com"


def parse_endpoint(
    raw: str,
    *,
    custom_endpoint: bool | None = False,
    setting: str = "endpoint",
    custom_setting: str = "custom_endpoint",
) -> Endpoint:
    """Validate and normalise an endpoint URL.

    Accepts Azure OpenAI hosts (``*.openai.azure.com``, ``*.cognitiveservices.azure.com``,
    ``*.services.ai.azure.com``, the US Government and China clouds, regional
    ``*.api.cognitive.microsoft.com``), loopback hosts (``http`` allowed only there), and any
    other ``https`` host when ``custom_endpoint`` is set (APIM, a proxy). A pasted ``/openai`` or
    ``/openai/v1`` suffix and trailing slashes are removed, not doubled.

    ``custom_endpoint=None`` is *auto* (the adapters' default, as langchain-openai and llama-index
    accept any host): an Azure host is Azure, any other ``https`` host (an APIM gateway on
    ``*.azure-api.net``, a corporate gateway, a custom domain) is a custom endpoint with Azure's
    URL shapes; a scheme-less value with no dot in its host (``"foo"``) is not taken for a host
    name. ``setting`` and ``custom_setting`` are the names messages give (the caller's argument
    names).
    """
    text = raw.strip()
    if not text:
        raise ConfigError(
            f"{setting} is empty; give the resource URL, e.g. https://<resource>.openai.azure.com",
            setting=setting,
        )
    schemeless = "://" not in text
    if schemeless:
        text = "https://" + text
    parts, scheme, host, port = _split(text, raw, setting)
    if not host:
        raise ConfigError(f"{setting} {_safe(raw)!r} has no host", setting=setting)
    if (
        schemeless
        and custom_endpoint is None
        and "." not in host
        and ":" not in host
        and not is_loopback_host(host)
    ):
        # "foo", "endpoint", "my-base-url": placeholders, not the host of a gateway (an intranet
        # host without dots is given with its scheme, or with custom_endpoint=True).
        raise ConfigError(
            f"{setting} {_safe(raw)!r} is not a URL; give the resource URL, e.g. "
            "https://<resource>.openai.azure.com (or a gateway's https URL)",
            setting=setting,
        )
    if parts.username or parts.password:
        raise ConfigError(f"{setting} must not contain credentials in the URL", setting=setting)
    if parts.query or parts.fragment:
        raise ConfigError(
            f"{setting} {_safe(raw)!r} has a query or fragment; give only the resource URL "
            "(put api_version and deployment in their own settings)",
            setting=setting,
        )
    loopback = is_loopback_host(host) if host.strip("[]") else False
    if scheme not in ("https", "http"):
        raise ConfigError(f"{setting} must be an https URL, got scheme {scheme!r}", setting=setting)
    if scheme == "http" and not loopback:
        raise ConfigError(
            f"{setting} uses http:// on a non-loopback host ({host}); Azure OpenAI needs https:// "
            "(http is accepted only for 127.0.0.1/localhost, e.g. the azoai emulator)",
            setting=setting,
        )

    path = parts.path.rstrip("/")
    lowered = path.lower()
    for suffix in ("/openai/v1", "/openai"):
        if lowered.endswith(suffix):
            path = path[: -len(suffix)]
            break
    else:
        if "/openai/" in lowered:
            raise ConfigError(
                f"{setting} {_safe(raw)!r} contains an API path; give only the resource URL "
                "(e.g. https://<resource>.openai.azure.com) and set deployment/api_version separately",
                setting=setting,
            )

    kind: HostKind
    cloud = PUBLIC
    if loopback:
        kind = "loopback"
    else:
        for suffix, k, c in _AZURE_SUFFIXES:
            if host.endswith(suffix) and len(host) > len(suffix):
                kind, cloud = k, c
                break
        else:
            if custom_endpoint is False:
                raise ConfigError(
                    f"{setting} host {host!r} is not an Azure OpenAI host (*.openai.azure.com, "
                    "*.cognitiveservices.azure.com, *.services.ai.azure.com, sovereign clouds); "
                    "if it is an APIM gateway or proxy in front of Azure OpenAI, set "
                    f"{custom_setting}=True",
                    setting=custom_setting,
                )
            kind = "custom"
    project = _project(path, raw, setting)
    if project is not None:
        path = f"{_PROJECT_PREFIX}{project}"  # the prefix as Azure spells it
        if kind not in ("foundry", "loopback", "custom"):
            raise ConfigError(
                f"{setting} {_safe(raw)!r} has a Foundry project path, but projects are served "
                "on https://<account>.services.ai.azure.com/api/projects/<project>; use that "
                "host, or the resource URL without a path",
                setting=setting,
            )
    elif path and kind not in ("custom", "loopback"):
        raise ConfigError(
            f"{setting} {_safe(raw)!r} has an unexpected path {path!r}; Azure endpoints are "
            "https://<resource>.openai.azure.com with no path, or a Foundry project "
            "https://<account>.services.ai.azure.com/api/projects/<project>",
            setting=setting,
        )
    base = urlunsplit((scheme, _netloc(host, port), path, "", ""))
    return Endpoint(base=base, host=host, kind=kind, cloud=cloud, project=project)


_PROJECT_PREFIX = "/api/projects/"
# Foundry's default project is "_project" (AIProjectClient's docs); names are letters, digits,
# '-', '_' and '.', and anything else is refused here rather than percent-encoded into a URL.
_PROJECT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\Z")


def _project(path: str, raw: str, setting: str) -> str | None:
    """The project name of a ``/api/projects/<name>`` path, ``None`` for any other path."""
    lowered = path.lower()
    if not (lowered.startswith(_PROJECT_PREFIX) or lowered == _PROJECT_PREFIX.rstrip("/")):
        return None
    name = path[len(_PROJECT_PREFIX) :]
    if not _PROJECT_NAME.match(name):
        raise ConfigError(
            f"{setting} {_safe(raw)!r} has an invalid Foundry project path; give "
            "https://<account>.services.ai.azure.com/api/projects/<project> (optionally followed "
            "by /openai/v1), with the project name as the Foundry portal shows it",
            setting=setting,
        )
    return name


@functools.lru_cache(maxsize=1024)  # pure, and on every call's path
def operation_url(
    endpoint: Endpoint,
    op: str,
    deployment: str,
    *,
    route: str,
    version: ApiVersion,
) -> str:
    """The URL of one operation (``chat/completions``, ``embeddings``, ``responses``):

    * an OpenAI-compatible API: ``{base}/{op}``;
    * ``v1``: ``{base}/openai/v1/{op}[?api-version=preview]``, the deployment in the body (for a
      Foundry project endpoint, below the project path);
    * ``deployments`` (dated): ``/openai/deployments/{d}/{op}?api-version=<date>``, except the
      Responses API, which Azure serves as ``/openai/responses?api-version=<date>`` (no
      deployment in the path, facts §2.2) from its first dated version on; on an older dated
      version (a chat client whose call goes to Responses) it is the v1 route's
      ``/openai/v1/responses``. A project endpoint has no dated route of its own: the account's
      is used (deployments belong to the account)."""
    from azoai.config.versions import Feature, supports

    if endpoint.kind == "compatible":
        return f"{endpoint.base}/{op}"
    if route == "v1" or (op == "responses" and not supports(version, Feature.RESPONSES)):
        q = version.query_value if route == "v1" else None
        return f"{endpoint.openai_base}/v1/{op}" + (f"?api-version={q}" if q else "")
    base = f"{endpoint.account_base}/openai"
    if op == "responses":
        return f"{base}/responses?api-version={version.value}"
    return f"{base}/deployments/{quote(deployment, safe='')}/{op}?api-version={version.value}"


def resource_url(endpoint: Endpoint, path: str, *, route: str, version: ApiVersion) -> str:
    """The URL of a resource-level path (``files``, ``files/{id}/content``, ``batches``,
    ``batches/{id}/cancel``): ``{base}/openai/v1/{path}`` on ``v1`` (below the project path on a
    Foundry project endpoint), ``{account}/openai/{path}?api-version=<date>`` on the dated route
    (no deployment: these belong to the resource), ``{base}/{path}`` on an OpenAI-compatible API.
    ``path`` segments must already be quoted."""
    if endpoint.kind == "compatible":
        return f"{endpoint.base}/{path}"
    if route == "v1":
        q = version.query_value
        return f"{endpoint.openai_base}/v1/{path}" + (f"?api-version={q}" if q else "")
    return f"{endpoint.account_base}/openai/{path}?api-version={version.value}"


def parse_compatible_base(raw: str, *, setting: str = "base_url") -> Endpoint:
    """Validate the base URL of a non-Azure OpenAI-compatible API (``https://api.openai.com/v1``,
    a vLLM or gateway URL): ``https`` (``http`` only on loopback), no credentials, query or
    fragment; kept with its path, minus trailing slashes. Requests go to ``{base}/{operation}``."""
    parts, scheme, host, port = _split(raw.strip(), raw, setting)
    if scheme not in ("https", "http") or not host:
        raise ConfigError(
            f"{setting} {_safe(raw)!r} must be an https URL such as https://api.openai.com/v1",
            setting=setting,
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(
            f"{setting} {_safe(raw)!r} must not carry credentials, a query or a fragment",
            setting=setting,
        )
    if scheme == "http" and not is_loopback_host(host):
        raise ConfigError(
            f"{setting} uses http:// on a non-loopback host ({host}); use https://",
            setting=setting,
        )
    base = urlunsplit((scheme, _netloc(host, port), parts.path.rstrip("/"), "", ""))
    return Endpoint(base=base, host=host, kind="compatible", cloud=PUBLIC)


def _split(text: str, raw: str, setting: str) -> tuple[SplitResult, str, str, int | None]:
    """``urlsplit`` with the scheme and host lower-cased; a bad port or host is a ConfigError."""
    try:
        parts = urlsplit(text)
        split = parts, parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError as exc:
        raise ConfigError(
            f"{setting} {_safe(raw)!r} is not a valid URL ({exc})", setting=setting
        ) from None
    if split[2]:
        _check_host(split[2], setting)
    return split


_LABEL = re.compile(r"[a-z0-9_-]{1,63}\Z")


def _check_host(host: str, setting: str) -> None:
    """Accept an ASCII DNS name (letters, digits, ``-``, ``_``; no empty label) or an IP literal.

    Anything else is refused here, not sent: httpx would map some characters to others (U+3002
    IDEOGRAPHIC FULL STOP becomes ``.``, full-width letters their ASCII twins) and fail on the
    rest with a raw ``InvalidURL``, and the host that receives the credential must be the one
    the checks saw. An internationalised host is given in its ASCII (``xn--``) form."""
    if host.isascii():
        if ":" in host:  # urlsplit keeps only IPv6 literals' colons in the host
            try:
                ipaddress.ip_address(host.split("%", 1)[0])
                return
            except ValueError:
                pass
        elif len(host) <= 253 and all(_LABEL.match(label) for label in host.split(".")):
            return
        raise ConfigError(
            f"{setting} host {host!r} is not a valid host name (letters, digits, '-' and '_' "
            "between dots, no empty label) or IP address",
            setting=setting,
        )
    odd = next(c for c in host if not c.isascii())
    name = unicodedata.name(odd, "")
    hint = ""
    try:
        import idna  # httpx's own IDNA library

        hint = f"; its ASCII form would be {idna.encode(host, uts46=True).decode('ascii')!r}"
    except Exception:  # not a valid internationalised name either, or idna missing
        pass
    raise ConfigError(
        f"{setting} host {host!r} has a character that is not ASCII (U+{ord(odd):04X}"
        f"{' ' + name if name else ''}); give the host in ASCII (an internationalised name in its "
        f"xn-- form){hint}",
        setting=setting,
    )


def _netloc(host: str, port: int | None) -> str:
    if ":" in host and not host.startswith("["):  # IPv6 literal
        host = f"[{host}]"
    return host if port is None else f"{host}:{port}"


def _safe(url: str) -> str:
    """A URL with any query string cut off, for messages (a query could hold a key)."""
    return url.split("?", 1)[0]


def shown_url(raw: str) -> str:
    """``raw`` as it may be shown (messages, a placeholder endpoint, a field): stripped, without
    a query, a fragment or credentials in the authority, which could hold a key."""
    text = _safe(raw.strip()).split("#", 1)[0]
    head, sep, rest = text.partition("://")
    if sep:
        authority, slash, path = rest.partition("/")
        return f"{head}://{authority.rpartition('@')[2]}{slash}{path}"
    return text.rpartition("@")[2] if "@" in text.split("/", 1)[0] else text


_DEPLOYMENT_PATH = re.compile(r"(?i)^(?P<base>.*?)/openai/deployments/(?P<name>[^/?#]+)/?$")


def split_deployment_url(raw: str) -> tuple[str, str | None]:
    """The openai SDK's Azure ``base_url`` form, ``https://<host>/openai/deployments/<d>`` (what
    langchain-openai's ``base_url=`` and llama-index's ``api_base=`` take): the endpoint part and
    the deployment named in it (percent-decoded), or ``(raw, None)`` for any other URL."""
    text = raw.strip()
    if "?" in text or "#" in text:
        return raw, None  # parse_endpoint refuses a query or fragment, naming the setting
    m = _DEPLOYMENT_PATH.match(text)
    if m is None or not m.group("base"):
        return raw, None
    return m.group("base"), unquote(m.group("name"))
