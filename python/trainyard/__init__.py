"""Trainyard's training-code contract, stdlib only.

A run gets TRAINYARD_RUN_ID, TRAINYARD_PARAMS (a JSON object) and
TRAINYARD_OUTPUT_DIR (what the run leaves there is kept as its artifacts); a run
launched with fromRun also gets TRAINYARD_INPUT_DIR, the artifacts of that
training run, read-only. A metric is one stdout line:

    ::trainyard:metric {"name": "rmse", "value": 0.31, "step": 3}

This module is shipped in every saved version at /opt/trainyard/python and is on
PYTHONPATH there; outside Trainyard the same calls work with defaults.
"""

import hashlib
import json
import math
import os
import sys
import time
import urllib.error
import urllib.request

__all__ = ["params", "log_metric", "output_dir", "input_dir", "run_id", "METRIC_PREFIX"]

METRIC_PREFIX = "::trainyard:metric "
_MAX_NAME = 200


def params():
    """The run's parameters: a dict from TRAINYARD_PARAMS, {} when unset or empty."""
    raw = os.environ.get("TRAINYARD_PARAMS", "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as err:
        raise ValueError("TRAINYARD_PARAMS is not valid JSON: %s" % err) from None
    if not isinstance(value, dict):
        raise ValueError("TRAINYARD_PARAMS must be a JSON object, got %s" % type(value).__name__)
    return value


def log_metric(name, value, step=None):
    """Print one metric line on stdout and flush it.

    name: a non-empty string (max 200 characters); value: a finite number;
    step: None or a non-negative integer.
    """
    if not isinstance(name, str) or not name or len(name) > _MAX_NAME:
        raise ValueError("metric name must be a non-empty string of at most %d characters" % _MAX_NAME)
    if isinstance(value, bool):
        raise TypeError("metric %r: value must be a number, got bool" % name)
    if not isinstance(value, (int, float)):
        try:
            value = float(value)  # numpy scalars and the like
        except (TypeError, ValueError):
            raise TypeError("metric %r: value must be a number, got %s" % (name, type(value).__name__)) from None
    if not math.isfinite(value):
        raise ValueError("metric %r: value must be finite, got %r" % (name, value))
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError("metric %r: step must be None or a non-negative integer, got %r" % (name, step))
    record = {"name": name, "value": value}
    if step is not None:
        record["step"] = step
    sys.stdout.write(METRIC_PREFIX + json.dumps(record, allow_nan=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def output_dir():
    """Where to write the run's outputs (TRAINYARD_OUTPUT_DIR, default ./output); created if missing."""
    path = os.environ.get("TRAINYARD_OUTPUT_DIR") or os.path.join(os.getcwd(), "output")
    os.makedirs(path, exist_ok=True)
    return path


def input_dir():
    """The artifacts of the training run this run reads (TRAINYARD_INPUT_DIR, read-only), or None
    when it was launched without fromRun."""
    return os.environ.get("TRAINYARD_INPUT_DIR") or None


def run_id():
    """The run's id (TRAINYARD_RUN_ID), or None outside a Trainyard run."""
    return os.environ.get("TRAINYARD_RUN_ID") or None


# ---- The finish step: pushing the output directory to the backend --------------------------
# For a run the backend cannot reach once it exits (a Kubernetes pod), the pod runs
#     python -c "import trainyard, sys; sys.exit(trainyard.push_outputs_main())"
# after the training command. Environment: TRAINYARD_BACKEND_URL, TRAINYARD_RUN_TOKEN (a
# token of this run only), TRAINYARD_RUN_ID, TRAINYARD_OUTPUT_DIR. The backend decides what is
# kept (its limits and path rules); this step only lists, hashes and uploads:
#   1. POST /v1/runs/ID/artifacts with every file's path, size and sha256;
#   2. on 409, PUT each blob it names to /v1/runs/ID/artifact-blobs/SHA256, then POST again.
# A file equal to one the backend already holds is never uploaded twice.

_ATTEMPTS = 5



def scan_outputs(root):
    """(files, dropped): files as dicts path/size/sha256/abs in path order; symlinks are followed
    only to a file inside root."""
    files, dropped = [], []
    if not os.path.isdir(root):
        return files, dropped
    real_root = os.path.realpath(root)

    def walk(abs_dir, rel):
        for name in sorted(os.listdir(abs_dir)):
            path = os.path.join(abs_dir, name)
            rel_path = rel + "/" + name if rel else name
            target = path
            if os.path.islink(path):
                target = os.path.realpath(path)
                if target != real_root and not target.startswith(real_root + os.sep):
                    dropped.append("%s: a symlink leading out of the output directory (to %s)" % (rel_path, target))
                    continue
                if os.path.isdir(target):
                    dropped.append("%s: a symlink to a directory is not followed" % rel_path)
                    continue
                if not os.path.exists(target):
                    dropped.append("%s: a symlink to nothing" % rel_path)
                    continue
            if os.path.isdir(target):
                walk(path, rel_path)
            elif os.path.isfile(target):
                sha, size = _hash(target)
                files.append({"path": rel_path, "size": size, "sha256": sha, "abs": target})
            else:
                dropped.append("%s: not a regular file" % rel_path)

    walk(root, "")
    return files, dropped


def _hash(path):
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                return h.hexdigest(), size
            h.update(chunk)
            size += len(chunk)


def _request(method, url, token, body=None, content_type=None, length=None):
    """(status, parsed JSON or None); retries connection errors, 429 and 5xx with backoff."""
    for attempt in range(_ATTEMPTS):
        data = body() if callable(body) else body
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", "Bearer " + token)
        if content_type:
            req.add_header("Content-Type", content_type)
        if length is not None:
            req.add_header("Content-Length", str(length))
        try:
            with urllib.request.urlopen(req, timeout=300) as res:
                return res.status, json.loads(res.read() or b"null")
        except urllib.error.HTTPError as err:
            payload = err.read()
            if (err.code == 429 or err.code >= 500) and attempt < _ATTEMPTS - 1:
                time.sleep(min(30, 0.5 * 2 ** attempt))
                continue
            try:
                return err.code, json.loads(payload)
            except ValueError:
                return err.code, {"error": {"message": payload.decode("utf-8", "replace")[:300]}}
        except (urllib.error.URLError, OSError):
            if attempt == _ATTEMPTS - 1:
                raise
            time.sleep(min(30, 0.5 * 2 ** attempt))
        finally:
            if hasattr(data, "close"):
                data.close()
    raise RuntimeError("unreachable")


def push_outputs(url, token, run_id, root):
    """Pushes root's files as run_id's artifacts; returns the backend's artifact list."""
    files, dropped = scan_outputs(root)
    report = json.dumps({"files": [{k: f[k] for k in ("path", "size", "sha256")} for f in files], "dropped": dropped}).encode()
    base = url.rstrip("/") + "/v1/runs/" + run_id
    by_sha = {f["sha256"]: f for f in files}
    uploaded = 0
    for _ in range(3):
        status, body = _request("POST", base + "/artifacts", token, report, "application/json")
        if status == 200:
            body["uploaded"] = uploaded
            return body
        missing = (((body or {}).get("error") or {}).get("details") or {}).get("missing") if status == 409 else None
        if not missing:
            raise RuntimeError("the backend refused the outputs (HTTP %d): %s" % (status, ((body or {}).get("error") or {}).get("message")))
        for sha in missing:
            f = by_sha.get(sha)
            if f is None:
                raise RuntimeError("the backend asked for a blob this run did not list: %s" % sha)
            status, answer = _request("PUT", base + "/artifact-blobs/" + sha, token, lambda f=f: open(f["abs"], "rb"), "application/octet-stream", f["size"])
            if status != 200:
                raise RuntimeError("uploading %s failed (HTTP %d): %s" % (f["path"], status, ((answer or {}).get("error") or {}).get("message")))
            uploaded += 1
    raise RuntimeError("the backend kept asking for blobs that were uploaded")


def push_outputs_main():
    env = os.environ
    missing = [k for k in ("TRAINYARD_BACKEND_URL", "TRAINYARD_RUN_TOKEN", "TRAINYARD_RUN_ID") if not env.get(k)]
    if missing:
        sys.stderr.write("trainyard: cannot push outputs: %s not set\n" % ", ".join(missing))
        return 2
    root = env.get("TRAINYARD_OUTPUT_DIR") or os.path.join(os.getcwd(), "output")
    try:
        result = push_outputs(env["TRAINYARD_BACKEND_URL"], env["TRAINYARD_RUN_TOKEN"], env["TRAINYARD_RUN_ID"], root)
    except Exception as err:  # reported in the run's log; the run's own exit code stands
        sys.stderr.write("trainyard: the outputs were not kept: %s\n" % err)
        return 1
    n = len(result.get("files", []))
    note = "; " + result["note"] if result.get("note") else ""
    sys.stderr.write("trainyard: kept %d output file%s (%d bytes, uploaded %d)%s\n" % (n, "" if n == 1 else "s", result.get("totalBytes", 0), result.get("uploaded", 0), note))
    return 0
