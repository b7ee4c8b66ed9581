"""Tornado handlers: /trainyard/api/* forwards to the backend, streaming every response
through unbuffered (SSE, NDJSON); /trainyard/save and /trainyard/workspace spawn the bundled
save client (node/save-cli.mjs) and relay its NDJSON events. All need Jupyter auth.
"""
import json
import os

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from .forwarding import ForwardError, error_body, request_headers, response_header_allowed, target_url, unreachable
from .save_runner import SaveRequestError, resolve_notebook, run_save_cli

STREAM_TIMEOUT = 24 * 3600.0


class _ClientGone(Exception):
    pass


class ForwardHandler(APIHandler):
    """Forwards one request to the backend and streams the answer back as it arrives."""

    def initialize(self, trainyard):
        self.trainyard = trainyard
        self._status = 200
        self._upstream_headers = []
        self._started = False
        self._gone = False

    def on_connection_close(self):
        self._gone = True

    def _send_error(self, status: int, body: dict):
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def _on_header(self, line: str):
        line = line.strip()
        if line.startswith("HTTP/"):
            self._status = int(line.split(" ", 2)[1])
            self._upstream_headers = []
        elif line:
            name, _, value = line.partition(":")
            self._upstream_headers.append((name.strip(), value.strip()))
        elif self._status != 100:
            self.set_status(self._status)
            for name, value in self._upstream_headers:
                if response_header_allowed(name):
                    self.set_header(name, value)
            self._started = True

    def _on_chunk(self, chunk: bytes):
        if self._gone:
            raise _ClientGone()  # aborts the upstream fetch (an SSE stream ends at its next heartbeat)
        self.write(chunk)
        self.flush()

    async def _forward(self, path: str):
        base = self.trainyard.backend_url()
        try:
            url = target_url(base, path, self.request.query)
        except ForwardError as e:
            return self._send_error(e.status, error_body(e.code, e.message))
        method = self.request.method
        body = self.request.body if method in ("POST", "PUT", "PATCH") else None
        req = HTTPRequest(
            url, method=method, headers=request_headers(self.request.headers.get_all(), self.trainyard.backend_token()),
            body=body if body is not None or method not in ("POST", "PUT", "PATCH") else b"",
            allow_nonstandard_methods=True, follow_redirects=False, decompress_response=False,
            connect_timeout=5, request_timeout=STREAM_TIMEOUT,
            header_callback=self._on_header, streaming_callback=self._on_chunk,
        )
        try:
            await AsyncHTTPClient().fetch(req, raise_error=False)
        except _ClientGone:
            return
        except Exception as e:  # connection refused, DNS, timeout: never an HTML page
            if self._gone:
                return
            if not self._started:
                reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
                return self._send_error(502, unreachable(base, reason))
            self.log.warning("trainyard: backend stream from %s broke: %s", url, e)
        if self._gone:
            return
        if not self._started:
            return self._send_error(502, unreachable(base, "no response"))
        self.finish()

    @web.authenticated
    async def get(self, path):
        await self._forward(path)

    @web.authenticated
    async def post(self, path):
        await self._forward(path)

    @web.authenticated
    async def put(self, path):
        await self._forward(path)

    @web.authenticated
    async def delete(self, path):
        await self._forward(path)


class _SaveClientHandler(APIHandler):
    def initialize(self, trainyard):
        self.trainyard = trainyard
        self._gone = False

    def on_connection_close(self):
        self._gone = True

    def _root(self) -> str:
        return os.path.realpath(os.path.expanduser(self.settings.get("server_root_dir") or self.contents_manager.root_dir))

    async def _relay(self, request: dict):
        self.set_header("Content-Type", "application/x-ndjson")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")

        def emit(event: dict):
            if not self._gone:
                self.write(json.dumps(event) + "\n")
                self.flush()

        try:
            node = self.trainyard.node_binary()
        except RuntimeError as e:
            emit({"type": "error", "message": str(e)})
            return self.finish()
        await run_save_cli(node, request, self.trainyard.backend_url(), self.trainyard.backend_token(), emit, lambda: self._gone)
        if not self._gone:
            self.finish()


class SaveHandler(_SaveClientHandler):
    """POST {notebook, model?, entrypoints?, baseImage?, selfTest?, python?, remember?}: NDJSON events."""

    @web.authenticated
    async def post(self):
        try:
            body = json.loads(self.request.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object")
            request = resolve_notebook(self._root(), body)
        except (ValueError, SaveRequestError) as e:
            self.set_status(400)
            self.set_header("Content-Type", "application/json")
            return self.finish(json.dumps(error_body("invalid_request", str(e))))
        request["mode"] = "save"
        await self._relay(request)


class WorkspaceHandler(_SaveClientHandler):
    """GET ?notebook=path: the remembered answers (.trainyard/model.json) and a preview of what would ship."""

    @web.authenticated
    async def get(self):
        try:
            request = resolve_notebook(self._root(), {"notebook": self.get_query_argument("notebook", "")})
        except SaveRequestError as e:
            self.set_status(400)
            self.set_header("Content-Type", "application/json")
            return self.finish(json.dumps(error_body("invalid_request", str(e))))
        request["mode"] = "inspect"
        await self._relay(request)


def setup_handlers(web_app, trainyard, log):
    base = web_app.settings["base_url"]
    args = {"trainyard": trainyard}
    web_app.add_handlers(".*$", [
        (url_path_join(base, "trainyard/api/(.*)"), ForwardHandler, args),
        (url_path_join(base, "trainyard/save"), SaveHandler, args),
        (url_path_join(base, "trainyard/workspace"), WorkspaceHandler, args),
    ])
