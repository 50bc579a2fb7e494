"""Deployments through Azure Resource Manager, the management plane: creating the deployment of a
fine-tuned model and waiting until it serves.

The rules are discovery's (:mod:`azoai.pipeline.discovery`): the management token from the
discovery credential (or the client's), for ``discovery.scope``, kept in its own token cache;
``arm_host`` https only (http on loopback, :class:`~azoai.config.deployments.DiscoverySettings`);
redirects never followed (:mod:`azoai.io.arm`), so the token goes to the ARM host and nowhere
else; each request retried by the request loop. Azure's own example (the fine-tuning deploy
how-to): ``PUT .../accounts/{account}/deployments/{name}?api-version=...`` with
``{"sku": {"name": "standard", "capacity": 1}, "properties": {"model": {"format": "OpenAI",
"name": "<fine-tuned model>", "version": "1"}}}``, answered ``201`` while the deployment is
``Creating``; a GET of the same URL reports ``provisioningState`` until it is ``Succeeded``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from azoai.config.catalog import lookup_model
from azoai.error_reading import error_from_response
from azoai.errors import AzoaiError, ConfigError, TimeoutError
from azoai.io.arm import ArmGet, ArmTransport
from azoai.pipeline.discovery import management_token
from azoai.pipeline.loop import run
from azoai.pipeline.policy import DEFAULT_OPTIONS, Attempts, Call
from azoai.wire.common import dumps

if TYPE_CHECKING:
    from azoai.config.deployments import DiscoverySettings
    from azoai.config.settings import RetryPolicy, Settings

__all__ = ["DEPLOYMENT_SKUS", "Management", "deployment_sku"]

#: The deployment types a fine-tuned model can be deployed as (the deploy how-to's "Deployment
#: types": Standard, Global Standard, Developer, Provisioned Throughput), by ARM ``sku.name``.
DEPLOYMENT_SKUS = {
    "standard": "Standard",
    "globalstandard": "GlobalStandard",
    "developer": "DeveloperTier",
    "developertier": "DeveloperTier",
    "provisionedmanaged": "ProvisionedManaged",
    "globalprovisionedmanaged": "GlobalProvisionedManaged",
}
#: Azure deployment names: letters, digits, ``-``, ``_`` and ``.``, 2 to 64 characters.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{1,63}\Z")
_FAILED = ("Failed", "Canceled", "Deleting")


def deployment_sku(sku: str) -> str:
    """ARM's spelling of a deployment type (``"global standard"`` -> ``GlobalStandard``)."""
    key = re.sub(r"[\s_-]", "", str(sku)).lower()
    found = DEPLOYMENT_SKUS.get(key)
    if found is None:
        raise ConfigError(
            f"sku {sku!r} is not a deployment type for fine-tuned models; use Standard, "
            "GlobalStandard, Developer (DeveloperTier) or ProvisionedManaged",
            setting="sku",
        )
    return found


class Management:
    """ARM requests for one account (``discovery`` settings name it and its credential)."""

    def __init__(self, settings: Settings, discovery: DiscoverySettings) -> None:
        self.discovery = discovery
        self._token = management_token(settings, discovery)
        self._retry: RetryPolicy = settings.retry
        self._transport = ArmTransport(discovery.timeout)
        self._host = (urlsplit(discovery.arm_host).netloc or "").lower()

    def deployment_url(self, name: str) -> str:
        d = self.discovery
        return (
            f"{d.arm_host.rstrip('/')}/subscriptions/{quote(d.subscription_id, safe='')}/"
            f"resourceGroups/{quote(d.resource_group, safe='')}/providers/"
            f"Microsoft.CognitiveServices/accounts/{quote(d.account, safe='')}/deployments/"
            f"{quote(name, safe='')}?api-version={quote(d.api_version, safe='')}"
        )

    def _request(self, method: str, url: str, body: Any, label: str) -> tuple[int, Any]:
        if (urlsplit(url).netloc or "").lower() != self._host:  # the token is for arm_host only
            raise AzoaiError(f"refusing to send the management token to {urlsplit(url).netloc}")
        headers = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json"}
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = dumps(body)
        call = Call(f"({label})", "arm", url, content or b"", lookup_model(None), False, [])

        def error_for(status: int, raw: bytes, h: Mapping[str, str]) -> AzoaiError:
            return error_from_response(status, raw, h)

        attempts = Attempts(self._retry, call, DEFAULT_OPTIONS, lambda _auth: False, error_for)
        req = ArmGet(url, headers, method=method, body=content, label=label)
        status, answer = run(attempts, lambda: self._transport.send(req))
        if not 200 <= status < 300:
            if 300 <= status < 400:
                raise AzoaiError(
                    f"ARM answered {status} with a redirect while {label}; azoai does not follow "
                    "redirects with the management token",
                    status_code=status,
                )
            raise error_from_response(status, answer if isinstance(answer, Mapping) else None)
        return status, answer

    def put_deployment(self, name: str, model: str, *, sku: str, capacity: int) -> dict[str, Any]:
        """Create (or update) deployment ``name`` of ``model``; ARM's answer (the deployment,
        usually ``provisioningState: Creating``)."""
        if not _NAME.match(name or ""):
            raise ConfigError(
                f"deployment name {name!r} is not valid: 2 to 64 letters, digits, '-', '_' or '.'",
                setting="deployment_name",
            )
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ConfigError(
                f"capacity must be a whole number >= 1 (thousands of tokens per minute on "
                f"Standard), got {capacity!r}",
                setting="capacity",
            )
        body = {
            "sku": {"name": deployment_sku(sku), "capacity": capacity},
            "properties": {"model": {"format": "OpenAI", "name": model, "version": "1"}},
        }
        _, answer = self._request(
            "PUT", self.deployment_url(name), body, f"creating deployment {name!r}"
        )
        return dict(answer) if isinstance(answer, Mapping) else {}

    def get_deployment(self, name: str) -> dict[str, Any]:
        _, answer = self._request(
            "GET", self.deployment_url(name), None, f"reading deployment {name!r}"
        )
        return dict(answer) if isinstance(answer, Mapping) else {}

    def wait_deployment(
        self,
        name: str,
        *,
        timeout: float,
        poll_interval: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> dict[str, Any]:
        """Poll deployment ``name`` until its ``provisioningState`` is ``Succeeded``; a
        ``Failed`` or ``Canceled`` state, or ``timeout`` seconds, raise."""
        deadline = time.monotonic() + timeout
        while True:
            item = self.get_deployment(name)
            props = item.get("properties")
            state = props.get("provisioningState") if isinstance(props, Mapping) else None
            if state == "Succeeded":
                return item
            if state in _FAILED:
                raise AzoaiError(
                    f"deployment {name!r} did not succeed: its provisioningState is {state}",
                    fix="see the deployment in the Foundry portal or the activity log",
                )
            if time.monotonic() + poll_interval > deadline:
                raise TimeoutError(
                    f"deployment {name!r} was still {state or 'unknown'} after {timeout:g} s",
                    fix="raise timeout, or call deploy(..., wait=False) and check later",
                )
            sleep(poll_interval)
