"""Unit tests of the forwarding rules (no server)."""
import pytest

from trainyard_jupyterlab.forwarding import ForwardError, request_headers, response_header_allowed, target_url, unreachable


def test_jupyter_credentials_are_dropped_and_the_token_added():
    out = request_headers([
        ("Cookie", "_xsrf=abc; username-localhost-8888=secret"), ("X-XSRFToken", "abc"), ("Authorization", "token jupyter-token"),
        ("Host", "localhost:8888"), ("Accept", "text/event-stream"), ("Content-Type", "application/json"), ("Idempotency-Key", "k1"),
        ("Accept-Encoding", "gzip"), ("Connection", "keep-alive"),
    ], "ty-token")
    assert out == {"Accept": "text/event-stream", "Content-Type": "application/json", "Idempotency-Key": "k1", "Authorization": "Bearer ty-token"}


def test_no_token_means_no_authorization_header():
    assert "Authorization" not in request_headers([("Authorization", "token x")], "")


@pytest.mark.parametrize("path", ["v1/runs", "v1/runs/r_1/logs", "healthz", "openapi.json", "v1/models/eta-correction/versions"])
def test_api_paths_are_forwarded(path):
    assert target_url("http://127.0.0.1:7878/", path, "follow=1") == f"http://127.0.0.1:7878/{path}?follow=1"


def test_jupyterlab_cache_buster_is_dropped():
    assert target_url("http://b", "v1/runs", "status=Running&1712345678") == "http://b/v1/runs?status=Running"
    assert target_url("http://b", "v1/runs", "1712345678") == "http://b/v1/runs"


@pytest.mark.parametrize("path", ["", "assets/x.js", "v1/../admin", "v1/./runs", "http://evil/v1", "v2/runs", "v1//runs"])
def test_other_paths_are_refused(path):
    with pytest.raises(ForwardError) as e:
        target_url("http://127.0.0.1:7878", path, "")
    assert e.value.status == 404 and "not a Trainyard API path" in e.value.message


def test_response_cookies_and_hop_by_hop_headers_are_dropped():
    assert not response_header_allowed("Set-Cookie")
    assert not response_header_allowed("Transfer-Encoding")
    assert response_header_allowed("Content-Type")
    assert response_header_allowed("Cache-Control")


def test_unreachable_is_the_backend_error_shape_with_words():
    body = unreachable("http://127.0.0.1:1", "Connection refused")
    assert body["error"]["code"] == "unavailable"
    assert "http://127.0.0.1:1" in body["error"]["message"] and "trainyard serve" in body["error"]["message"]
