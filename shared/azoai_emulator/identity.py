"""Entra tokens: minting, checking, and the two managed-identity protocols azure-identity speaks.

Tokens are JWT-shaped (``header.payload.signature``, base64url) so a client can read ``exp``;
the payload holds ``aud``, ``iss``, ``iat``, ``nbf``, ``exp`` (whole epoch seconds: the token
lives at most ``lifetime`` seconds), ``tid``, ``oid``, ``appid`` and ``jti``. The signature is an
HMAC with a secret private to one emulator instance, so only tokens it minted pass, and only
until ``exp``.

Token endpoints (azure-openai-facts §10):

* App Service: ``GET /msi/token?api-version=2019-08-01&resource=...`` with ``X-IDENTITY-HEADER``
  (point ``IDENTITY_ENDPOINT`` at it and set ``IDENTITY_HEADER``);
* IMDS: ``GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=...`` with
  ``Metadata: true`` (point ``AZURE_POD_IDENTITY_AUTHORITY_HOST`` at the emulator).

Both answer ``{"access_token", "expires_on", "expires_in", "resource", "token_type"}`` with the
numbers as strings, the audience being the requested resource.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from azoai_emulator import azure_errors
from azoai_emulator.protocol import Call, HttpResult

__all__ = [
    "ARM_AUDIENCES",
    "DATA_PLANE_AUDIENCES",
    "TokenIssuer",
    "app_service_token",
    "authenticate_arm",
    "authenticate_data_plane",
    "imds_token",
    "normalise_resource",
]

DATA_PLANE_AUDIENCES = frozenset({"https://cognitiveservices.azure.com", "https://ai.azure.com"})
ARM_AUDIENCES = frozenset({"https://management.azure.com", "https://management.core.windows.net"})
DEFAULT_AUDIENCE = "https://cognitiveservices.azure.com"
TENANT_ID = "72f988bf-0000-4000-8000-00000000e000"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def normalise_resource(value: str) -> str:
    """``https://x/.default`` and ``https://x/`` both mean the audience ``https://x``."""
    v = value.strip()
    if v.endswith("/.default"):
        v = v[: -len("/.default")]
    return v.rstrip("/")


class TokenIssuer:
    """Mints and checks the emulator's Entra tokens; counts those minted through endpoints."""

    def __init__(self, *, clock: Callable[[], float] = time.time, lifetime: float = 3600.0) -> None:
        self._secret = secrets.token_bytes(32)
        self._clock = clock
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self.endpoint_tokens = 0
        self.principal = str(uuid.uuid4())

    def now(self) -> float:
        return self._clock()

    def mint(
        self,
        audience: str = DEFAULT_AUDIENCE,
        *,
        lifetime: float | None = None,
        client_id: str | None = None,
        tenant: str | None = None,
    ) -> tuple[str, int]:
        """A new token for ``audience`` and its expiry (epoch seconds)."""
        now = self._clock()
        expires = int(now + (self.lifetime if lifetime is None else lifetime))
        tid = tenant or TENANT_ID
        claims = {
            "aud": normalise_resource(audience),
            "iss": f"https://sts.windows.net/{tid}/",
            "iat": int(now),
            "nbf": int(now),
            "exp": expires,
            "tid": tid,
            "oid": self.principal,
            "sub": self.principal,
            "appid": client_id or self.principal,
            "jti": secrets.token_hex(8),
            "ver": "1.0",
        }
        return self.sign(claims), expires

    def sign(self, claims: dict[str, Any], *, kid: str = "azoai-emulator") -> str:
        """A JWT-shaped token carrying ``claims``, signed with this emulator's secret."""
        header = {"typ": "JWT", "alg": "HS256", "kid": kid}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self._secret, signing_input.encode("ascii"), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this emulator signed, or ``None`` (malformed or forged).
        Expiry is not checked here."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = hmac.new(
            self._secret, f"{parts[0]}.{parts[1]}".encode("ascii", "replace"), hashlib.sha256
        ).digest()
        try:
            if not hmac.compare_digest(expected, _unb64(parts[2])):
                return None
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeError):
            return None
        return claims if isinstance(claims, dict) else None

    def mint_for_endpoint(
        self, resource: str, client_id: str | None, *, tenant: str | None = None
    ) -> tuple[str, int]:
        with self._lock:
            self.endpoint_tokens += 1
        return self.mint(resource, client_id=client_id, tenant=tenant)

    def check(self, token: str) -> tuple[dict[str, Any] | None, str]:
        """``(claims, "ok")``, or ``(None, "invalid")`` / ``(claims, "expired")``."""
        claims = self.verify(token)
        if claims is None:
            return None, "invalid"
        if self._clock() >= float(claims.get("exp", 0)):
            return claims, "expired"
        return claims, "ok"


# --- checking callers ----------------------------------------------------------------------------


def _audience_in(claims: dict[str, Any], audiences: frozenset[str]) -> bool:
    """Whether the token's single ``aud`` is one of ``audiences`` (a federated token's list of
    audiences never is)."""
    aud = claims.get("aud")
    return isinstance(aud, str) and aud in audiences


def authenticate_data_plane(call: Call, *, api_key: str, issuer: TokenIssuer, v1: bool) -> str:
    """``api-key`` first, then ``Authorization: Bearer``. On the v1 route the bearer may also be
    the API key (what the plain OpenAI client sends). Returns how the caller authenticated:
    ``"key"`` or ``"entra"``."""
    key = call.headers.get("api-key")
    if key is not None:
        if hmac.compare_digest(key.encode(), api_key.encode()):
            return "key"
        raise azure_errors.key_denied()
    auth = call.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise azure_errors.key_denied()
    token = token.strip()
    if v1 and hmac.compare_digest(token.encode(), api_key.encode()):
        return "key"
    claims, verdict = issuer.check(token)
    if verdict != "ok" or claims is None or not _audience_in(claims, DATA_PLANE_AUDIENCES):
        raise azure_errors.token_denied()
    return "entra"


def authenticate_arm(call: Call, issuer: TokenIssuer) -> None:
    """ARM's checks and error codes for the management API."""
    auth = call.headers.get("authorization")
    if auth is None:
        raise azure_errors.azure_error(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        )
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise azure_errors.azure_error(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        )
    claims, verdict = issuer.check(token.strip())
    if verdict == "invalid" or claims is None:
        raise azure_errors.azure_error(
            401, "InvalidAuthenticationToken", "The access token is invalid."
        )
    if verdict == "expired":
        expired = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(float(claims.get("exp", 0))))
        raise azure_errors.azure_error(
            401,
            "ExpiredAuthenticationToken",
            f"The access token expiry UTC time '{expired}' is earlier than current UTC time "
            f"'{time.strftime('%m/%d/%Y %H:%M:%S', time.gmtime(issuer.now()))}'.",
        )
    if not _audience_in(claims, ARM_AUDIENCES):
        raise azure_errors.azure_error(
            401,
            "InvalidAuthenticationTokenAudience",
            f"The access token has been obtained for wrong audience or resource '{claims.get('aud')}'. It "
            "should exactly match with one of the allowed audiences 'https://management.core.windows.net/',"
            "'https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.",
        )


# --- token endpoints -----------------------------------------------------------------------------


def _token_body(token: str, expires: int, resource: str, issuer: TokenIssuer) -> dict[str, str]:
    return {
        "access_token": token,
        "expires_on": str(expires),
        "expires_in": str(max(0, expires - int(issuer.now()))),
        "resource": resource,
        "token_type": "Bearer",
    }


def app_service_token(call: Call, *, issuer: TokenIssuer, identity_header: str) -> HttpResult:
    """The App Service protocol (``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER``)."""
    sent = call.headers.get("x-identity-header")
    if sent is None or not hmac.compare_digest(sent.encode(), identity_header.encode()):
        return HttpResult(
            401, {"statusCode": 401, "message": "The X-IDENTITY-HEADER header is missing or wrong."}
        )
    if call.query.get("api-version") != "2019-08-01":
        return HttpResult(
            400, {"statusCode": 400, "message": "The api-version must be 2019-08-01."}
        )
    resource = call.query.get("resource")
    if not resource:
        return HttpResult(
            400, {"statusCode": 400, "message": "The resource query parameter is required."}
        )
    token, expires = issuer.mint_for_endpoint(resource, call.query.get("client_id"))
    return HttpResult(200, _token_body(token, expires, resource, issuer))


def imds_token(call: Call, *, issuer: TokenIssuer) -> HttpResult:
    """The IMDS protocol (``AZURE_POD_IDENTITY_AUTHORITY_HOST``), with IMDS's own errors."""
    if call.headers.get("metadata", "").lower() != "true":
        return HttpResult(
            400,
            {
                "error": "invalid_request",
                "error_description": "Required metadata header not specified",
            },
        )
    for name in ("api-version", "resource"):
        if not call.query.get(name):
            return HttpResult(
                400,
                {
                    "error": "invalid_request",
                    "error_description": f"Required query variable '{name}' is missing",
                },
            )
    resource = call.query["resource"]
    client_id = call.query.get("client_id")
    token, expires = issuer.mint_for_endpoint(resource, client_id)
    body = _token_body(token, expires, resource, issuer)
    body.update(
        {
            "client_id": client_id or issuer.principal,
            "ext_expires_in": body["expires_in"],
            "not_before": str(int(issuer.now())),
        }
    )
    return HttpResult(200, body)
