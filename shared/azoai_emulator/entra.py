"""An Entra-like token service: what azure-identity's ``ClientSecretCredential`` (a service
principal) and ``WorkloadIdentityCredential`` (a federated token exchanged as a client
assertion) talk to. The emulator serves it over HTTPS (``Emulator.authority_host``), because
MSAL accepts only ``https`` authorities.

==========================================================  ==========================================
path (any tenant)                                           answer
==========================================================  ==========================================
``GET  /{tenant}/v2.0/.well-known/openid-configuration``    OIDC discovery (``token_endpoint``, ...)
``POST /{tenant}/oauth2/v2.0/token``                        client credentials grant
``GET  /{tenant}/discovery/v2.0/keys``                      an empty key set (tokens are HMAC-signed)
==========================================================  ==========================================

The token endpoint takes ``grant_type=client_credentials`` with ``client_id`` and ``scope``
(one resource with ``/.default``: a data-plane or ARM audience), and either ``client_secret`` or
``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` with
``client_assertion``. Clients are the emulator's ``entra_clients`` (client id -> secret, ``None``
for an app without a secret). An assertion must be a federated token the emulator issued for that
client (``Emulator.issue_federated_token``: issuer :data:`FEDERATION_ISSUER`, audience
``api://AzureADTokenExchange``) and must be within its validity, as Entra checks a Kubernetes
service-account token against an app's federated identity credential. Success answers Entra's
v2 body (``token_type``, ``expires_in``, ``ext_expires_in``, ``access_token``) with an access
token the inference routes accept (audience from the scope, lifetime ``token_lifetime``);
failures answer Entra's error body (``error``, ``error_description`` starting ``AADSTSnnn:``,
``error_codes``, ``timestamp``, ``trace_id``, ``correlation_id``, ``error_uri``).

The request log records these requests like any other, with the form as ``body`` and
``client_secret`` / ``client_assertion`` redacted.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from azoai_emulator.identity import (
    ARM_AUDIENCES,
    DATA_PLANE_AUDIENCES,
    TENANT_ID,
    normalise_resource,
)
from azoai_emulator.protocol import REDACTED, Call, HttpResult

if TYPE_CHECKING:
    from azoai_emulator.state import EmulatorState

__all__ = [
    "DEFAULT_ENTRA_CLIENT_ID",
    "DEFAULT_ENTRA_CLIENT_SECRET",
    "DEFAULT_TENANT_ID",
    "FEDERATION_AUDIENCE",
    "FEDERATION_ISSUER",
    "JWT_BEARER",
    "EntraDirectory",
    "handle_entra",
    "mint_federated_token",
]

log = logging.getLogger("azoai_emulator")

#: The tenant the emulator's tokens name unless a request names another (any tenant works).
DEFAULT_TENANT_ID = TENANT_ID
#: The app registration every emulator knows unless ``entra_clients=`` says otherwise.
DEFAULT_ENTRA_CLIENT_ID = "00000000-0000-4000-8000-00000000c11e"
#: Its client secret. Not a secret: it only opens the emulator.
DEFAULT_ENTRA_CLIENT_SECRET = "azoai-emulator-client-secret"
#: The ``iss`` of federated tokens the emulator issues (a Kubernetes cluster's OIDC issuer).
FEDERATION_ISSUER = "https://oidc.azoai-emulator.invalid/"
#: The audience Entra requires of a federated token.
FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")
_SECRET_FORM_KEYS = frozenset(
    {"client_secret", "client_assertion", "assertion", "refresh_token", "code", "password"}
)
_FIC_HELP = (
    "Please check your federated identity credential Subject, Audience and Issuer against the "
    "presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
)


@dataclass
class EntraDirectory:
    """The app registrations the token service knows: client id -> secret (``None``: no secret),
    and the federated identity credentials (a subject of :data:`FEDERATION_ISSUER` -> the client
    ids it may sign in as)."""

    clients: dict[str, str | None] = field(
        default_factory=lambda: {DEFAULT_ENTRA_CLIENT_ID: DEFAULT_ENTRA_CLIENT_SECRET}
    )
    federated: dict[str, set[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, clients: Mapping[str, str | None] | None) -> EntraDirectory:
        if clients is None:
            return cls()
        for client_id, secret in clients.items():
            if not isinstance(client_id, str) or not client_id.strip():
                raise ValueError("entra_clients: client ids must be non-empty strings")
            if secret is not None and (not isinstance(secret, str) or not secret):
                raise ValueError(
                    f"entra_clients[{client_id!r}]: the secret must be a non-empty string or None"
                )
        return cls(clients=dict(clients))

    def secret(self, client_id: str) -> tuple[bool, str | None]:
        """``(known, secret)`` for a client id."""
        with self.lock:
            return client_id in self.clients, self.clients.get(client_id)

    def federate(self, subject: str, client_id: str) -> None:
        with self.lock:
            if client_id not in self.clients:
                raise ValueError(
                    f"unknown Entra client {client_id!r}; the emulator knows "
                    f"{sorted(self.clients)} (pass entra_clients= to add apps)"
                )
            self.federated.setdefault(subject, set()).add(client_id)

    def may_federate(self, subject: str, client_id: str) -> bool:
        with self.lock:
            return client_id in self.federated.get(subject, set())

    def first_client(self) -> tuple[str | None, str | None]:
        with self.lock:
            for client_id, secret in self.clients.items():
                return client_id, secret
            return None, None


# --- errors in Entra's shape -----------------------------------------------------------------------


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(epoch))


def _unknown_issuer(call: Call, state: EmulatorState, issuer: Any) -> HttpResult:
    """AADSTS700211: a federated assertion from an issuer no credential trusts."""
    return _error(
        call,
        state,
        401,
        "invalid_client",
        700211,
        "No matching federated identity record found for presented assertion issuer "
        f"'{issuer}'. {_FIC_HELP}",
    )


def _error(
    call: Call,
    state: EmulatorState,
    status: int,
    error: str,
    code: int,
    message: str,
) -> HttpResult:
    now = state.clock()
    trace_id = str(uuid.uuid4())
    correlation_id = call.headers.get("client-request-id") or str(uuid.uuid4())
    stamp = _when(now)
    return HttpResult(
        status,
        {
            "error": error,
            "error_description": f"AADSTS{code}: {message} Trace ID: {trace_id} "
            f"Correlation ID: {correlation_id} Timestamp: {stamp[:-1]}",
            "error_codes": [code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{call.base_url}/error?code={code}",
        },
        {"cache-control": "no-store, no-cache", "pragma": "no-cache"},
    )


def _missing(call: Call, state: EmulatorState, name: str) -> HttpResult:
    return _error(
        call,
        state,
        400,
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{name}'.",
    )


# --- endpoints -----------------------------------------------------------------------------------


def _discovery(call: Call, tenant: str) -> HttpResult:
    base = f"{call.base_url}/{tenant}"
    return HttpResult(
        200,
        {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{call.base_url}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "ver"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        },
    )


def _check_assertion(
    call: Call, state: EmulatorState, client_id: str, form: dict[str, str]
) -> HttpResult | None:
    """``None`` when the client assertion is a valid federated token for ``client_id``."""
    if form.get("client_assertion_type") != JWT_BEARER:
        return _error(
            call,
            state,
            400,
            "invalid_request",
            50027 if form.get("client_assertion_type") else 900144,
            f"Invalid client_assertion_type; use '{JWT_BEARER}'."
            if form.get("client_assertion_type")
            else "The request body must contain the following parameter: 'client_assertion_type'.",
        )
    assertion = form.get("client_assertion", "").strip()
    claims = state.issuer.verify(assertion)
    if claims is None:
        unverified = _unverified_claims(assertion)
        if unverified is not None and unverified.get("iss") != FEDERATION_ISSUER:
            return _unknown_issuer(call, state, unverified.get("iss"))
        if unverified is not None:
            return _error(
                call, state, 401, "invalid_client", 50013, "Assertion failed signature validation."
            )
        return _error(
            call, state, 401, "invalid_client", 50027, "JWT token is invalid or malformed."
        )
    if claims.get("iss") != FEDERATION_ISSUER:
        return _unknown_issuer(call, state, claims.get("iss"))
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if FEDERATION_AUDIENCE not in audiences:
        return _error(
            call,
            state,
            401,
            "invalid_client",
            700212,
            "No matching federated identity record found for presented assertion audience "
            f"'{audience}'. {_FIC_HELP}",
        )
    subject = str(claims.get("sub"))
    if not state.entra.may_federate(subject, client_id):
        return _error(
            call,
            state,
            401,
            "invalid_client",
            700213,
            "No matching federated identity record found for presented assertion subject "
            f"'{subject}'. {_FIC_HELP}",
        )
    now = state.clock()
    nbf, exp = float(claims.get("nbf", 0)), float(claims.get("exp", 0))
    if not nbf <= now < exp:
        return _error(
            call,
            state,
            401,
            "invalid_client",
            700024,
            f"Client assertion is not within its valid time range. Current time: "
            f"{_iso(now)}, assertion valid from {_iso(nbf)}, expiry time of assertion "
            f"{_iso(exp)}. Review the documentation at "
            "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
        )
    return None


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.0000000+00:00", time.gmtime(epoch))


def _unverified_claims(token: str) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeError):
        return None
    return claims if isinstance(claims, dict) else None


def _token(call: Call, state: EmulatorState, tenant: str) -> HttpResult:
    try:
        pairs = parse_qsl(call.raw_body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        pairs = []
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    call.record.body = {k: (REDACTED if k in _SECRET_FORM_KEYS else v) for k, v in form.items()}

    grant = form.get("grant_type")
    if not grant:
        return _missing(call, state, "grant_type")
    if grant != "client_credentials":
        return _error(
            call,
            state,
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant}'. The emulator's token "
            "service supports client_credentials (a client secret or a federated assertion).",
        )
    client_id = form.get("client_id", "").strip()
    if not client_id:
        return _missing(call, state, "client_id")
    scope = form.get("scope", "").strip()
    if not scope:
        return _missing(call, state, "scope")
    scopes = scope.split()
    if len(scopes) != 1 or not scopes[0].endswith("/.default"):
        return _error(
            call,
            state,
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must "
            "have a scope value with /.default suffixed to the resource identifier "
            "(application ID URI).",
        )
    known, secret = state.entra.secret(client_id)
    if not known:
        return _error(
            call,
            state,
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{tenant}'. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant. You may "
            "have sent your authentication request to the wrong tenant.",
        )
    if "client_assertion" in form or "client_assertion_type" in form:
        denied = _check_assertion(call, state, client_id, form)
        if denied is not None:
            return denied
    elif "client_secret" in form:
        sent = form["client_secret"]
        if secret is None or not _same(sent, secret):
            return _error(
                call,
                state,
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
            )
    else:
        return _error(
            call,
            state,
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
        )
    resource = normalise_resource(scopes[0])
    if resource not in DATA_PLANE_AUDIENCES | ARM_AUDIENCES:
        return _error(
            call,
            state,
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant named "
            f"{tenant}. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant. You might "
            "have sent your authentication request to the wrong tenant.",
        )
    token, expires = state.issuer.mint_for_endpoint(resource, client_id, tenant=tenant)
    expires_in = max(0, expires - int(state.clock()))
    return HttpResult(
        200,
        {
            "token_type": "Bearer",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": token,
        },
        {"cache-control": "no-store, no-cache", "pragma": "no-cache"},
    )


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("GET", re.compile(r"/([^/]+)/v2\.0/\.well-known/openid-configuration"), "discovery"),
    ("POST", re.compile(r"/([^/]+)/oauth2/v2\.0/token"), "token"),
    ("GET", re.compile(r"/([^/]+)/discovery/v2\.0/keys"), "keys"),
)


def mint_federated_token(
    state: EmulatorState, client_id: str, *, subject: str, lifetime: float
) -> str:
    """A federated token (what a Kubernetes cluster projects into a pod) that ``client_id`` may
    exchange; registers the matching federated identity credential."""
    if lifetime <= 0:
        raise ValueError("lifetime must be > 0 seconds")
    if not subject:
        raise ValueError("subject must not be empty")
    state.entra.federate(subject, client_id)
    now = state.clock()
    claims = {
        "iss": FEDERATION_ISSUER,
        "sub": subject,
        "aud": [FEDERATION_AUDIENCE],
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now + lifetime),
        "jti": secrets.token_hex(8),
    }
    return state.issuer.sign(claims, kid="azoai-emulator-federation")


async def handle_entra(call: Call, state: EmulatorState) -> HttpResult:
    """Serve one request to the token service (never raises)."""
    try:
        return _route(call, state)
    except Exception as exc:  # an emulator bug: answer 500 and say what broke
        log.exception("azoai emulator: error handling %s %s", call.method, call.path)
        return HttpResult(
            500,
            {
                "error": "server_error",
                "error_description": f"Emulator error: {type(exc).__name__}: {exc}",
            },
        )


def _route(call: Call, state: EmulatorState) -> HttpResult:
    for method, pattern, name in _ROUTES:
        m = pattern.fullmatch(call.path)
        if m is None:
            continue
        if call.method != method:
            return HttpResult(
                405, {"error": "invalid_request", "error_description": f"Use {method}."}
            )
        tenant = m.group(1)
        if not _TENANT.fullmatch(tenant):
            return _error(
                call,
                state,
                400,
                "invalid_tenant",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                "and are signing into the correct cloud.",
            )
        if name == "discovery":
            return _discovery(call, tenant)
        if name == "keys":
            return HttpResult(200, {"keys": []})
        return _token(call, state, tenant)
    return HttpResult(
        404,
        {
            "error": "not_found",
            "error_description": "The emulator's token service serves "
            "/{tenant}/v2.0/.well-known/openid-configuration and /{tenant}/oauth2/v2.0/token.",
        },
    )
