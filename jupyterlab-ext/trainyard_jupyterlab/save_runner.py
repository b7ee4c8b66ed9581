"""Spawns the bundled TypeScript save client (node/save-cli.mjs) and relays its NDJSON events.

The request goes in on stdin as JSON; the script validates it (model name, entrypoints...)
and prints one JSON event per line: progress, refused (secrets with file/line/rule), result,
error. Python adds only the backend URL and token (environment) and the workspace folder.
"""
import asyncio
import json
import os
from pathlib import Path
from typing import Callable

SCRIPT = Path(__file__).parent / "node" / "save-cli.mjs"
_PASS = ("model", "entrypoints", "baseImage", "selfTest", "python", "remember", "version", "strategy")


class SaveRequestError(Exception):
    pass


def resolve_notebook(root: str, body: dict) -> dict:
    """The notebook's absolute folder and name, refusing paths outside the Jupyter root."""
    rel = body.get("notebook")
    if not isinstance(rel, str) or not rel.endswith(".ipynb"):
        raise SaveRequestError("notebook: expected the path of a .ipynb file relative to the Jupyter root")
    path = os.path.realpath(os.path.join(root, rel.lstrip("/")))
    if os.path.commonpath([root, path]) != root:
        raise SaveRequestError(f"notebook: {rel} is outside the Jupyter root")
    if not os.path.isfile(path):
        raise SaveRequestError(f"notebook: {rel} does not exist (save it first)")
    out = {"dir": os.path.dirname(path), "notebook": os.path.basename(path)}
    for key in _PASS:
        if key in body and body[key] is not None:
            out[key] = body[key]
    return out


async def run_save_cli(node: str, request: dict, url: str, token: str, emit: Callable[[dict], None], gone: Callable[[], bool]):
    env = {**os.environ, "TRAINYARD_URL": url, "TRAINYARD_TOKEN": token}
    if not SCRIPT.exists():
        emit({"type": "error", "message": f"the save client {SCRIPT} is missing from the package; reinstall trainyard-jupyterlab"})
        return
    proc = await asyncio.create_subprocess_exec(
        node, str(SCRIPT), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env, cwd=request["dir"], limit=16 * 1024 * 1024,
    )
    proc.stdin.write(json.dumps(request).encode())
    proc.stdin.close()
    stderr_task = asyncio.ensure_future(proc.stderr.read())
    final = False
    while True:
        line = await proc.stdout.readline()
        if not line:
            break
        if gone():
            proc.kill()
            break
        try:
            event = json.loads(line)
        except ValueError:
            event = {"type": "progress", "message": line.decode(errors="replace").rstrip()}
        final = final or event.get("type") in ("result", "error", "refused", "workspace")
        emit(event)
    code = await proc.wait()
    err = (await stderr_task).decode(errors="replace").strip()
    if not final and not gone():
        emit({"type": "error", "message": f"the save client exited with code {code}: {err[-2000:] or 'no output'}"})
