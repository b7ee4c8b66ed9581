"""Forwarding rules for /trainyard/api/*, kept free of Tornado so they are unit-tested alone.

- Only the backend's API paths (`v1/...`, `healthz`, `openapi.json`) are forwarded; no `..`.
- The browser's Jupyter credentials (cookies, X-XSRFToken, Authorization) and hop-by-hop
  headers are dropped; the backend token is added server-side as a Bearer token.
- Responses keep their status, type and caching headers; cookies and hop-by-hop headers are dropped.
- An unreachable backend becomes a JSON error body the UI shows in words.
"""
import re
from typing import Dict, Iterable, Optional, Tuple
from urllib.parse import quote

# request headers never forwarded (credentials of the Jupyter server, hop-by-hop, recomputed ones)
DROP_REQUEST = {
    "cookie", "authorization", "x-xsrftoken", "x-csrftoken", "proxy-authorization", "host", "connection",
    "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "content-length", "accept-encoding",
    "origin", "referer", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip",
}
# response headers never passed back to the browser
DROP_RESPONSE = {
    "set-cookie", "connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding",
    "trailer", "upgrade", "server", "date", "access-control-allow-origin", "access-control-allow-credentials",
}
_CACHE_BUSTER = re.compile(r"^\d+$")
_PATH = re.compile(r"^(v1(/[A-Za-z0-9._~%:+@!$&'()*,;=-]+)*/?|healthz|openapi\.json)$")


class ForwardError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def target_url(base: str, path: str, query: str) -> str:
    """The backend URL for a forwarded path; refuses anything outside the API. A bare numeric
    query parameter (JupyterLab's cache buster, `?x=1&1712345678`) is dropped: the backend's
    query schemas refuse unknown parameters."""
    if not _PATH.match(path) or any(seg in ("..", ".") for seg in path.split("/")):
        raise ForwardError(404, "not_found", f"/trainyard/api/{quote(path)} is not a Trainyard API path (expected v1/...)")
    query = "&".join(p for p in query.split("&") if p and not _CACHE_BUSTER.match(p))
    return f"{base.rstrip('/')}/{path}" + (f"?{query}" if query else "")


def request_headers(incoming: Iterable[Tuple[str, str]], token: str) -> Dict[str, str]:
    """The headers sent to the backend: the browser's minus credentials and hop-by-hop, plus the token."""
    out: Dict[str, str] = {}
    for name, value in incoming:
        if name.lower() in DROP_REQUEST:
            continue
        out[name] = value
    if token:
        out["Authorization"] = f"Bearer {token}"
    return out


def response_header_allowed(name: str) -> bool:
    return name.lower() not in DROP_RESPONSE


def error_body(code: str, message: str, details: Optional[dict] = None) -> dict:
    """The backend's own error shape, so the UI reads one form."""
    err: dict = {"code": code, "message": message}
    if details:
        err["details"] = details
    return {"error": err}


def unreachable(url: str, reason: str) -> dict:
    return error_body(
        "unavailable",
        f"cannot reach the Trainyard backend at {url} ({reason}); start it with `trainyard serve`, "
        "or point JupyterLab at it with TRAINYARD_URL or c.Trainyard.url",
    )
