"""The forwarding handler in a real Jupyter server (pytest-jupyter) against a real backend, plus
a small upstream HTTP server where a test must see exactly what was forwarded."""
import asyncio
import json
import socket

import pytest
import tornado.web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.httpserver import HTTPServer

from conftest import free_port


def server_url(jp_http_port, jp_base_url, path):
    return f"http://127.0.0.1:{jp_http_port}{jp_base_url}{path}"


async def test_no_jupyter_token_is_403(jp_serverapp, http_server, jp_http_port, jp_base_url):
    with pytest.raises(HTTPClientError) as e:
        await AsyncHTTPClient().fetch(server_url(jp_http_port, jp_base_url, "trainyard/api/v1/models"))
    assert e.value.code == 403


async def test_forwards_with_the_backend_token(jp_fetch, backend):
    # directly, the backend wants its token; through Jupyter, the server extension adds it
    with pytest.raises(Exception):
        await AsyncHTTPClient().fetch(f"{backend.url}/v1/models")
    res = await jp_fetch("trainyard", "api", "v1", "models")
    assert res.code == 200
    assert "items" in json.loads(res.body)


async def test_backend_errors_pass_through_as_json(jp_fetch):
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("trainyard", "api", "v1", "runs", "r_0000000000000000")
    assert e.value.code == 404
    assert json.loads(e.value.response.body)["error"]["code"] == "not_found"


async def test_a_non_api_path_is_a_json_404(jp_fetch):
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("trainyard", "api", "assets", "x.js")
    assert e.value.code == 404
    assert "not a Trainyard API path" in json.loads(e.value.response.body)["error"]["message"]


async def test_sse_streams_through_unbuffered(jp_serverapp, http_server, jp_http_port, jp_base_url, backend):
    got = asyncio.Queue()
    token = jp_serverapp.identity_provider.token
    req = HTTPRequest(server_url(jp_http_port, jp_base_url, "trainyard/api/v1/events"), headers={"Authorization": f"token {token}"},
                      streaming_callback=lambda c: got.put_nowait(c), request_timeout=60)
    fetch = asyncio.ensure_future(AsyncHTTPClient(force_instance=True).fetch(req, raise_error=False))
    first = await asyncio.wait_for(got.get(), 20)
    assert b": connected" in first  # the stream's opening comment arrives while the response is still open
    await asyncio.get_running_loop().run_in_executor(None, backend.api, "POST", "/v1/snapshots",
        {"model": "sse-probe", "files": [], "entrypoints": {"train": "python t.py"}, "git": {"sha": None, "dirty": False}})
    seen = b""
    while b"sse-probe" not in seen:
        seen += await asyncio.wait_for(got.get(), 20)
    assert b"event: snapshot" in seen
    assert not fetch.done()
    fetch.cancel()


class _Echo(tornado.web.RequestHandler):
    """An upstream that records the request's headers, then streams two chunks with a gate between them."""

    def initialize(self, state):
        self.state = state

    async def get(self, _path):
        self.state["headers"] = dict(self.request.headers)
        self.set_header("Content-Type", "application/x-ndjson")
        self.set_header("Set-Cookie", "upstream=1")
        self.write('{"n":1}\n')
        await self.flush()
        await self.state["gate"].wait()  # the second chunk only after the test has seen the first one
        self.write('{"n":2}\n')


@pytest.fixture
def echo():
    port = free_port()
    state = {"gate": asyncio.Event()}
    server = HTTPServer(tornado.web.Application([(r"/(.*)", _Echo, {"state": state})]))
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen(16)
    sock.setblocking(False)
    server.add_sockets([sock])
    state["url"] = f"http://127.0.0.1:{port}"
    yield state
    server.stop()


@pytest.fixture
def trainyard_url(request, backend):
    # the echo tests point the extension at the echo server; the others at the real backend
    if "echo" in request.fixturenames:
        return request.getfixturevalue("echo")["url"]
    return backend.url


async def test_headers_stripped_token_added_and_chunks_unbuffered(jp_serverapp, http_server, jp_http_port, jp_base_url, echo, backend):
    token = jp_serverapp.identity_provider.token
    chunks = asyncio.Queue()
    req = HTTPRequest(server_url(jp_http_port, jp_base_url, "trainyard/api/v1/runs/r_1/logs?follow=1"),
                      headers={"Authorization": f"token {token}", "Cookie": "_xsrf=abc; session=s", "X-XSRFToken": "abc", "Idempotency-Key": "k1"},
                      streaming_callback=lambda c: chunks.put_nowait(c), request_timeout=60)
    fetch = asyncio.ensure_future(AsyncHTTPClient(force_instance=True).fetch(req))
    first = await asyncio.wait_for(chunks.get(), 20)
    assert first == b'{"n":1}\n'  # arrived while the upstream still holds the second chunk back
    echo["gate"].set()
    res = await asyncio.wait_for(fetch, 20)
    assert res.code == 200
    assert res.headers["Content-Type"] == "application/x-ndjson"
    assert "Set-Cookie" not in res.headers or "upstream" not in res.headers.get("Set-Cookie", "")
    h = {k.lower(): v for k, v in echo["headers"].items()}
    assert h["authorization"] == f"Bearer {backend.token}"
    assert "cookie" not in h and "x-xsrftoken" not in h
    assert h["idempotency-key"] == "k1"


@pytest.fixture
def closed_port():
    return free_port()


class TestUnreachable:
    @pytest.fixture
    def trainyard_url(self, closed_port):
        return f"http://127.0.0.1:{closed_port}"

    async def test_an_unreachable_backend_is_a_clear_json_error(self, jp_fetch, closed_port):
        with pytest.raises(HTTPClientError) as e:
            await jp_fetch("trainyard", "api", "v1", "runs")
        assert e.value.code == 502
        body = json.loads(e.value.response.body)
        assert body["error"]["code"] == "unavailable"
        assert f"127.0.0.1:{closed_port}" in body["error"]["message"]
        assert "trainyard serve" in body["error"]["message"]
