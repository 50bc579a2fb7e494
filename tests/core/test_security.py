"""Where credentials may go: never to another host, never through a redirect, never over plain
http except loopback, and TLS verification that no environment variable can switch off."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from azoai import errors as E
from azoai.client import Client
from azoai.wire import ChatRequest, Message

EP = "https://myres.openai.azure.com"


def test_redirects_are_refused_and_credentials_do_not_follow() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(307, headers={"location": "https://evil.example.com/steal"})

    c = Client(
        endpoint=EP,
        api_key="k-123",
        deployment="d",
        env={},
        config_file="",
        http_client=httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True),
    )
    with pytest.raises(E.AzoaiError, match="does not follow redirects") as exc:
        c.chat(ChatRequest(messages=[Message("user", "hi")]))
    assert "evil.example.com" in str(exc.value) and "k-123" not in str(exc.value)
    assert [r.url.host for r in seen] == [
        "myres.openai.azure.com"
    ]  # even a user client set to follow


def test_a_redirect_target_is_shown_without_its_query_or_userinfo() -> None:
    # a gateway may carry a key-bearing query string (or a password) over to the redirect target
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            302,
            headers={"location": "https://user:pw-777@other.example.com/openai/x?api-key=k-123"},
        )

    c = Client(
        endpoint=EP,
        api_key="k-123",
        deployment="d",
        env={},
        config_file="",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    with pytest.raises(E.AzoaiError, match="does not follow redirects") as exc:
        c.chat(ChatRequest(messages=[Message("user", "hi")]))
    text = f"{exc.value} {exc.value!r}"
    assert "https://other.example.com/openai/x" in text
    assert "k-123" not in text and "pw-777" not in text and "user:" not in text


def test_a_per_call_header_a_header_cannot_carry_is_refused_without_its_value() -> None:
    from azoai.client import CallOptions

    def handler(request: httpx.Request) -> httpx.Response:  # never reached
        raise AssertionError("sent")

    c = Client(
        endpoint=EP,
        api_key="k",
        deployment="d",
        env={},
        config_file="",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    opts = CallOptions(extra_headers={"Ocp-Apim-Subscription-Key": "apim-SECRET-99\n"})
    with pytest.raises(E.ConfigError, match="line break") as exc:
        c.chat(ChatRequest(messages=[Message("user", "hi")]), options=opts)
    assert exc.value.setting == "extra_headers['Ocp-Apim-Subscription-Key']"
    assert "apim-SECRET-99" not in f"{exc.value} {exc.value!r}"


def test_http_endpoints_are_refused_except_loopback() -> None:
    with pytest.raises(E.ConfigError, match="http:// on a non-loopback host"):
        Client(endpoint="http://myres.openai.azure.com", api_key="k", env={}, config_file="")
    Client(endpoint="http://127.0.0.1:9", api_key="k", env={}, config_file="")


def test_a_custom_endpoint_must_be_declared() -> None:
    with pytest.raises(E.ConfigError, match="custom_endpoint=True"):
        Client(endpoint="https://proxy.example.com", api_key="k", env={}, config_file="")


@pytest.mark.parametrize(
    "env",
    [
        {"PYTHONHTTPSVERIFY": "0"},
        {"CURL_CA_BUNDLE": ""},
        {"REQUESTS_CA_BUNDLE": ""},
        {"HTTPX_SSL_VERIFY": "0", "OPENAI_VERIFY_SSL": "false"},
    ],
)
def test_tls_verification_cannot_be_turned_off_by_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    c = Client(endpoint=EP, api_key="k", env={}, config_file="")
    http = c.connection.sync_client()
    ctx = http._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    c.close()


def test_a_plain_http_pool_loads_no_ca_and_can_never_complete_a_tls_handshake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loopback http endpoint's pool skips loading the CA bundle (the largest part of a first
    call), but with verification still on: TLS attempted through it fails, even against a server
    whose certificate the environment trusts."""
    import socket
    import threading

    from azoai_emulator.tls import write_tls_files

    files = write_tls_files(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(files.ca_bundle))
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(str(files.certfile), str(files.keyfile))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_one() -> None:
        conn, _ = listener.accept()
        try:
            server_ctx.wrap_socket(conn, server_side=True).close()
        except (ssl.SSLError, OSError):
            conn.close()  # the client gave up the handshake, as it must

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    c = Client(endpoint=f"http://127.0.0.1:{port}", api_key="k", env={}, config_file="")
    http = c.connection.sync_client()
    ctx = http._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] == 0
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        http.get(f"https://127.0.0.1:{port}/openai/models")
    thread.join(timeout=10)
    listener.close()
    # An https endpoint's pool trusts the environment's CA.
    s = Client(endpoint=f"https://127.0.0.1:{port}", api_key="k", env={}, config_file="")
    tls_ctx = s.connection.sync_client()._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert tls_ctx.cert_store_stats()["x509_ca"] >= 1
    c.close()
    s.close()


def test_a_broken_ca_environment_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")
    c = Client(endpoint=EP, api_key="k", deployment="d", env={}, config_file="")
    with pytest.raises(E.ConfigError, match="SSL_CERT_FILE"):
        c.chat(ChatRequest(messages=[Message("user", "hi")]))


def test_cookies_a_gateway_sets_are_kept_and_sent_back() -> None:
    """The pooled HTTP clients skip cookie parsing for responses without Set-Cookie (Azure sets
    none; it is a tenth of a call's CPU), but a gateway's cookies still work as in httpx."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen_cookies: list[str | None] = []
    body = json.dumps(
        {
            "id": "c1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "hello"},
                }
            ],
        }
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            seen_cookies.append(self.headers.get("cookie"))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            if len(seen_cookies) == 1:
                self.send_header("set-cookie", "affinity=node-7; Path=/")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        c = Client(
            endpoint=f"http://127.0.0.1:{server.server_address[1]}",
            api_key="k",
            deployment="d",
            env={},
            config_file="",
        )
        request = ChatRequest(messages=[Message("user", "hi")])
        assert c.chat(request).text == "hello"
        assert c.chat(request).text == "hello"
        assert c.chat(request).text == "hello"
        assert seen_cookies == [None, "affinity=node-7", "affinity=node-7"]
        c.close()
    finally:
        server.shutdown()
        server.server_close()
