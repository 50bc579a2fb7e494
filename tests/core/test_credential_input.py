"""Keys and tokens are checked where they enter (issue 14, finding 2).

Surrounding whitespace is stripped wherever a credential comes from (a key read from a file ends
in a newline); a character an HTTP header cannot carry is refused before anything is sent: a
``ConfigError`` for a configured value, an ``AuthenticationError`` (not retried) for a token a
provider or credential returns at run time. Either names the setting or source and never holds
the value: not in the message, repr, chain, traceback or any log record at DEBUG (httpx and
httpcore included). Before, a token ending in ``\\n`` failed inside h11 as
``APIConnectionError: Illegal header value b'Bearer <token>\\n'`` and was retried, and a
non-ASCII character escaped as a raw ``UnicodeEncodeError`` holding the key.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken as AzureAccessToken
from pydantic import SecretStr

from azoai import errors as E
from azoai.client import Client
from azoai.config.settings import Settings
from azoai.wire import ChatRequest, Message
from azoai_emulator import Emulator

KEY = "AZOAI-FAKE-KEY-4be0c2d917"
#: A recognisable tail put after the bad character, so either half leaking is caught.
TAIL = "TAIL-5f3a88"
HI = ChatRequest(messages=[Message("user", "hi")])
BAD = {
    "a line break inside": "\n",
    "a carriage return": "\r",
    "a NUL": "\x00",
    "a non-ASCII letter": "\u00e9",
    "a line separator": "\u2028",
}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(api_key=KEY) as e:
        yield e


@pytest.fixture(autouse=True)
def _clean(emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    emu.reset()
    monkeypatch.chdir(tmp_path)


def _leaks(secret: str, err: BaseException | None, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every text the error and the captured records expose that contains ``secret``."""
    texts: list[str] = []
    seen: set[int] = set()
    e = err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        texts += [str(e), repr(e), repr(e.args), repr(getattr(e, "__dict__", {}))]
        e = e.__cause__ or e.__context__
    if err is not None:
        texts.append("".join(traceback.format_exception(err)))
    fmt = logging.Formatter("%(name)s %(message)s")
    texts += [fmt.format(r) for r in caplog.records] + [repr(r.args) for r in caplog.records]
    return [t for t in texts if secret in t]


def _client(emu: Emulator, **kw: Any) -> Client:
    kw.setdefault("deployment", "chat")
    return Client(endpoint=emu.endpoint, env=kw.pop("env", {}), config_file="", max_retries=2, **kw)


# --- configured keys: stripped, or refused without the value ------------------------------------


def _key_ways(emu: Emulator, tmp_path: Path) -> dict[str, Callable[[str], Client]]:
    def from_file(key: str) -> Client:
        cfg = tmp_path / "azoai.toml"  # a JSON string is a valid TOML basic string
        cfg.write_text(f'endpoint = "{emu.endpoint}"\n[auth]\napi_key = {json.dumps(key)}\n')
        return Client(Settings.build(env={}, config_file=cfg, deployment="chat"))

    return {
        "argument": lambda key: _client(emu, api_key=key),
        "SecretStr argument": lambda key: _client(emu, api_key=SecretStr(key)),
        "env": lambda key: _client(emu, env={"AZURE_OPENAI_API_KEY": key}),
        "config file": from_file,
        "route target": lambda key: _client(
            emu,
            api_key="not-the-key",
            routes={
                "chat": {
                    "targets": [
                        {"deployment": "chat", "endpoint": emu.endpoint, "api_key_env": "ROUTE_KEY"}
                    ]
                }
            },
            env={"ROUTE_KEY": key},
        ),
    }


WHERE = {
    "argument": ("api_key", "argument"),
    "SecretStr argument": ("api_key", "argument"),
    "env": ("api_key", "env AZURE_OPENAI_API_KEY"),
    "config file": ("api_key", "azoai.toml"),
    "route target": ("routes.chat.targets[0].api_key_env", "env ROUTE_KEY"),
}


@pytest.mark.parametrize("way", list(WHERE))
@pytest.mark.parametrize("padding", [("", "\n"), ("  ", "\r\n"), ("\t", " ")])
def test_a_key_with_surrounding_whitespace_works_wherever_it_enters(
    way: str, padding: tuple[str, str], emu: Emulator, tmp_path: Path
) -> None:
    client = _key_ways(emu, tmp_path)[way](padding[0] + KEY + padding[1])
    assert client.chat(HI).text
    assert [q.status for q in emu.requests] == [200]  # the emulator took the key as it is


@pytest.mark.parametrize("bad", list(BAD))
@pytest.mark.parametrize("way", list(WHERE))
def test_a_key_a_header_cannot_carry_is_a_config_error_naming_its_source(
    way: str, bad: str, emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = KEY + BAD[bad] + TAIL
    with caplog.at_level(logging.DEBUG), pytest.raises(E.ConfigError) as caught:
        _key_ways(emu, tmp_path)[way](key).chat(HI)
    setting, source = WHERE[way]
    assert caught.value.setting == setting
    assert source in caught.value.message and "HTTP header" in caught.value.message
    for part in (KEY, TAIL):
        assert _leaks(part, caught.value, caplog) == []
    assert emu.requests == []  # refused before anything was sent


@pytest.mark.parametrize("bad", list(BAD))
def test_a_static_token_or_an_apim_header_a_header_cannot_carry_is_refused(
    bad: str, emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    value = KEY + BAD[bad] + TAIL
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(E.ConfigError) as token_err:
            _client(emu, azure_ad_token=value)
        with pytest.raises(E.ConfigError) as header_err:
            _client(emu, api_key=KEY, default_headers={"Ocp-Apim-Subscription-Key": value})
    assert token_err.value.setting == "azure_ad_token"
    assert header_err.value.setting == "default_headers['Ocp-Apim-Subscription-Key']"
    for err in (token_err.value, header_err.value):
        for part in (KEY, TAIL):
            assert _leaks(part, err, caplog) == []


def test_a_byte_order_mark_is_named_for_what_it_is(emu: Emulator) -> None:
    with pytest.raises(E.ConfigError) as caught:
        _client(emu, env={"AZURE_OPENAI_API_KEY": "\ufeff" + KEY + "\n"})
    assert "byte-order mark" in caught.value.message and KEY not in str(caught.value)


# --- tokens returned at run time: stripped, or a typed error that is not retried --------------


class Cred:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls = 0

    def get_token(self, *scopes: str, **kw: Any) -> AzureAccessToken:
        self.calls += 1
        return AzureAccessToken(self.token, int(time.time() + 3600))


@pytest.mark.parametrize("padding", [("", "\n"), (" ", "\r\n")])
def test_a_token_with_surrounding_whitespace_works(padding: tuple[str, str], emu: Emulator) -> None:
    token = padding[0] + emu.issue_token() + padding[1]
    assert _client(emu, token_provider=lambda: token).chat(HI).text
    assert _client(emu, credential=Cred(token)).chat(HI).text
    assert [q.status for q in emu.requests] == [200, 200]


@pytest.mark.parametrize("bad", list(BAD))
@pytest.mark.parametrize("way", ["token provider", "credential", "async token provider"])
async def test_a_token_a_header_cannot_carry_is_an_auth_error_sent_once_and_never_echoed(
    way: str, bad: str, emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    token = emu.issue_token()
    head, tail = token[:40], token[40:]
    returned = head + BAD[bad] + tail
    calls: list[int] = []

    def provider() -> str:
        calls.append(1)
        return returned

    async def aprovider() -> str:
        calls.append(1)
        return returned

    cred = Cred(returned)
    with caplog.at_level(logging.DEBUG), pytest.raises(E.AuthenticationError) as caught:
        if way == "token provider":
            _client(emu, token_provider=provider).chat(HI)
        elif way == "credential":
            _client(emu, credential=cred).chat(HI)
        else:
            await _client(emu, async_token_provider=aprovider).achat(HI)
    message = caught.value.message
    assert "HTTP header" in message
    assert ("credential Cred" if way == "credential" else "azure_ad_token_provider") in message
    assert len(calls) + cred.calls == 1  # asked once: not retried as a network error
    assert emu.requests == []
    for part in (head, tail):
        assert _leaks(part, caught.value, caplog) == []


# --- the adapters hand keys to the same gate ----------------------------------------------------


def test_langchain_and_llamaindex_strip_a_key_and_refuse_a_bad_one(
    emu: Emulator, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_azoai import AzureChatOpenAI
    from llamaindex_azoai import AzureOpenAI

    for name in ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN", "AZOAI_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    lc: dict[str, Any] = {"config_file": "", "azure_endpoint": emu.endpoint}
    li: dict[str, Any] = {"env": {}, **lc}
    assert AzureChatOpenAI(azure_deployment="chat", api_key=KEY + "\n", **lc).invoke("hi").content
    assert AzureOpenAI(engine="chat", api_key=KEY + "\n", **li).complete("hi").text
    with caplog.at_level(logging.DEBUG):
        errors: list[BaseException] = []
        for make in (
            lambda: AzureChatOpenAI(azure_deployment="chat", api_key=KEY + "\u00e9" + TAIL, **lc),
            lambda: AzureOpenAI(engine="chat", api_key=KEY + "\u00e9" + TAIL, **li),
        ):
            with pytest.raises(ValueError) as caught:  # ConfigError (LangChain: inside pydantic's)
                make()
            assert "api_key" in str(caught.value) and "HTTP header" in str(caught.value)
            errors.append(caught.value)
    for err in errors:
        for part in (KEY, TAIL):
            assert _leaks(part, err, caplog) == []
