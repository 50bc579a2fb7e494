"""The ``azoai`` command line's shared arguments: the settings flags every command takes, the
discovery flags, and the spelling of the core's ``setting=`` names as this command's flags.
Imported by :mod:`azoai.cli` and each command module (``cli_audio``, ``cli_batch``, ...)."""

from __future__ import annotations

import argparse
import re
from typing import Any

#: The core settings this command line has flags for: an error or a fix naming ``endpoint=``
#: is printed naming ``--endpoint=`` instead.
FLAGS = {
    "endpoint": "--endpoint",
    "api": "--api",
    "route": "--route",
    "api_version": "--api-version",
    "auth_mode": "--auth-mode",
    "deployment": "--deployment",
    "config_file": "--config",
}
_FLAG_RE = re.compile(rf"(?<![\w.\[-])({'|'.join(FLAGS)})(?==)")


def flags(text: str) -> str:
    """``text`` with the core's ``setting=`` spelled as this command's ``--flag=``."""
    return _FLAG_RE.sub(lambda m: FLAGS[m.group(1)], text)


def _settings_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    for name in ("endpoint", "api", "route", "api_version", "auth_mode", "deployment"):
        value = getattr(args, name, None)
        if value is not None:
            kw[name] = value
    if getattr(args, "config", None):
        kw["config_file"] = args.config
    discovery = {
        key: value
        for key in ("subscription_id", "resource_group", "account", "arm_host")
        if (value := getattr(args, key, None))
    }
    if discovery:
        kw["discovery"] = discovery
    elif getattr(args, "discover", False):
        kw["discovery"] = True
    return kw


def _add_settings_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="FILE",
        help="azoai TOML config file (default: $AZOAI_CONFIG or ./azoai.toml)",
    )
    p.add_argument(
        "--endpoint", help="https://<resource>.openai.azure.com (default: $AZURE_OPENAI_ENDPOINT)"
    )
    p.add_argument(
        "--api",
        choices=["chat", "responses"],
        help="Chat Completions (default) or the Responses API",
    )
    p.add_argument(
        "--route",
        choices=["v1", "deployments"],
        help="URL family (default: derived from api and api-version)",
    )
    p.add_argument(
        "--api-version",
        dest="api_version",
        help="api-version (dated for route deployments; v1 or preview)",
    )
    p.add_argument(
        "--auth-mode",
        dest="auth_mode",
        help="api_key, token, managed_identity, default_credential, workload_identity, client_secret, azure_cli",
    )
    p.add_argument("--deployment", help="the default deployment")
    p.add_argument("--json", action="store_true", help="print a JSON report")


def _add_discovery_args(p: argparse.ArgumentParser) -> None:
    """Deployment discovery (listing the resource's deployments through Azure Resource
    Manager): any of these turns it on."""
    g = p.add_argument_group(
        "deployment discovery",
        "list the resource's real deployments through Azure Resource Manager (the identity needs "
        "Reader on the account; azoai emulator prints the values for itself)",
    )
    g.add_argument(
        "--discover",
        action="store_true",
        help="turn discovery on with AZURE_SUBSCRIPTION_ID and AZURE_RESOURCE_GROUP",
    )
    g.add_argument("--subscription-id", dest="subscription_id", help="the Azure subscription")
    g.add_argument("--resource-group", dest="resource_group", help="the account's resource group")
    g.add_argument(
        "--account",
        help="the Azure OpenAI account (default: the endpoint's resource name)",
    )
    g.add_argument(
        "--arm-host",
        dest="arm_host",
        help="the Resource Manager host (default: https://management.azure.com)",
    )
