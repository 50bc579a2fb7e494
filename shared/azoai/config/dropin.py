"""Drop-in construction: how the adapters' settings construct whatever langchain-openai and
llama-index construct, and how error texts name the caller's arguments.

* :class:`Deferred` errors: what those packages take at construction and fail on at the first call
  (an endpoint that is not a URL, ``http://`` to a remote host, an api_version that is not one or
  predates the Responses API, no credentials where they check the key only when calling) is kept
  in ``Settings.deferred`` and raised by the client's first call, before anything is sent.
* :func:`rename_error`: core setting names (``endpoint``, ``strict``, ``api='chat'``) replaced by
  the argument names of the class the user holds (``azure_endpoint``, ``strict_params``,
  ``use_responses_api=False``).
* The endpoint setting itself (:class:`DropinSources`): ``endpoint``, ``resource_name`` or the
  openai SDK's ``base_url`` (``https://<host>/openai/deployments/<d>``), custom hosts auto in
  drop-in mode, strict for the core's own Client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

from pydantic import SecretStr

from azoai.config.endpoints import (
    PUBLIC,
    Endpoint,
    endpoint_from_resource_name,
    parse_endpoint,
    shown_url,
    split_deployment_url,
)
from azoai.config.policies import parse_bool
from azoai.config.sources import ENDPOINT_VARS, Sources
from azoai.errors import ConfigError

__all__ = ["Deferred", "DropinSources", "outside", "rename_error"]

_E = TypeVar("_E", bound=ConfigError)


@dataclass(frozen=True, slots=True)
class Deferred:
    """A configuration error found while building in drop-in mode (see :meth:`Settings.build`),
    kept to be raised by the client's first call: ``setting`` is the core setting it concerns."""

    setting: str
    error: ConfigError


def rename_error(err: _E, names: Mapping[str, str]) -> _E:
    """``err`` (changed in place) with the caller's names: ``names`` maps a core setting to the
    argument of the class the user holds (``{"endpoint": "azure_endpoint"}``), which replaces
    ``setting=`` in the message and the fix and the error's ``setting``; a key holding ``=``
    is a whole phrase to replace (``{"api='chat'": "use_responses_api=False"}``). So an error
    never tells a LangChain or LlamaIndex user to set an argument their class lacks."""
    if not names:
        return err

    def text(t: str) -> str:
        for core, arg in names.items():
            if "=" in core:
                t = t.replace(core, arg)
        for core, arg in names.items():
            if "=" not in core and core != arg:
                t = re.sub(rf"(?<![\w.\[]){re.escape(core)}(?==)", arg, t)
        return t

    message = text(err.message)
    fix = text(err.fix) if err.fix else err.fix
    setting = err.setting
    if setting is not None and "=" not in setting:
        setting = names.get(setting, setting)
    if (message, fix, setting) != (err.message, err.fix, err.setting):
        err.message, err.fix, err.setting = message, fix, setting
        err.args = (err._render(),)
    return err


def outside(source: str | None) -> bool:
    """Whether a value came from the config file or the environment (not an argument)."""
    return source is not None and source.startswith(("env ", "file "))


class DropinSources(Sources):
    """The sources with the drop-in state: the mode, the caller's names, the errors deferred to
    the first call, what the file or the environment gave (``Settings.found``), and the
    endpoint setting."""

    dropin: bool = False
    defer_credentials: bool = False
    names: Mapping[str, str] = MappingProxyType({})
    deferred: list[Deferred]
    found: dict[str, str | SecretStr]
    url_deployment: str | None = None

    def arg(self, setting: str) -> str:
        """The caller's name for a core setting (see :func:`rename_error`)."""
        return self.names.get(setting, setting)

    def defer(self, setting: str, err: ConfigError) -> None:
        """Drop-in mode: keep ``err`` for the first call (see :meth:`Settings.check`)."""
        self.deferred.append(Deferred(setting, rename_error(err, self.names)))
        self.sources[setting] = (
            f"{self.sources.get(setting, 'argument')} (refused at the first call)"
        )

    def _endpoint(self) -> Endpoint:
        custom_raw = self.pick("custom_endpoint")
        # Unset: strict for the core's own Client (a mistyped host never receives the key),
        # auto in drop-in mode (langchain-openai and llama-index accept any host).
        custom: bool | None = (
            parse_bool(custom_raw, setting="custom_endpoint")
            if custom_raw is not None
            else (None if self.dropin else False)
        )
        label = self.arg("endpoint")
        raw: str | None
        # endpoint and resource_name are one setting: the higher source wins between them too.
        if "base_url" in self.args:
            clash = [self.arg(k) for k in ("endpoint", "resource_name") if k in self.args]
            if clash:
                raise ConfigError(
                    f"{self.arg('base_url')} and {' and '.join(clash)} both name the endpoint; "
                    "pass one of them",
                    setting=self.arg("base_url"),
                )
            label = self.arg("base_url")
            raw, self.url_deployment = split_deployment_url(str(self.pick_str("base_url")))
            self.sources["endpoint"] = f"argument {label}"
        elif "endpoint" in self.args or (
            "resource_name" not in self.args and "endpoint" in self.file
        ):
            raw = self.pick_str("endpoint")
        elif "resource_name" in self.args or "resource_name" in self.file:
            name = self.pick_str("resource_name")
            raw = endpoint_from_resource_name(str(name))
            self.sources["endpoint"] = (
                self.sources.pop("resource_name", "argument") + " (resource_name)"
            )
        else:
            raw = self.pick_str("endpoint", ENDPOINT_VARS)
        if raw is None:
            raise ConfigError(
                f"no endpoint: pass {label}='https://<resource>.openai.azure.com' (or "
                f"{self.arg('resource_name')}=...), set AZURE_OPENAI_ENDPOINT, or put endpoint "
                "in azoai.toml",
                setting=label,
            )
        source = self.sources.get("endpoint", "argument")
        if outside(source):
            self.found["endpoint"] = shown_url(str(raw))
        try:
            endpoint = parse_endpoint(
                str(raw),
                custom_endpoint=custom,
                setting=label,
                custom_setting=self.arg("custom_endpoint"),
            )
        except ConfigError as err:
            if outside(source):  # name the variable or file the value came from
                err.message = f"{err.message} (from {source})"
                err.args = (err._render(),)
            if not self.dropin or custom is False:
                raise
            # Drop-in: construct as langchain-openai does; the first call raises this, before
            # anything is sent. The placeholder cannot be sent to: Settings.check comes first.
            self.defer("endpoint", err)
            return Endpoint(
                base=shown_url(str(raw)).rstrip("/"), host="", kind="custom", cloud=PUBLIC
            )
        if custom is None and endpoint.kind == "custom":
            self.sources["custom_endpoint"] = (
                "auto: an API Management gateway (*.azure-api.net)"
                if endpoint.host.endswith(".azure-api.net")
                else "auto: not an Azure OpenAI host, Azure's URL shapes assumed"
            )
        return endpoint
