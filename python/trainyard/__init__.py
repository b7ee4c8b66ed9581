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
import socket
import sys
import time
import urllib.error
import urllib.request

__all__ = ["params", "log_metric", "output_dir", "input_dir", "run_id", "METRIC_PREFIX"]

METRIC_PREFIX = "::trainyard:metric "
# How each line of the finish step (push_outputs_main) begins. The step runs in the run's container
# after the command, so a failed run's termination message (the log's tail) ends with these lines;
# the Kubernetes executor drops them from the run's reason by this prefix (FINISH_LOG_PREFIX in
# backend/src/executors/kubernetes/manifests.ts, the same string).
FINISH_LOG_PREFIX = "trainyard finish: "
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

# about a minute of retries (0.5 s doubling to 15 s): long enough for the backend to restart
_ATTEMPTS = 9
# A connection to the backend is given this long to open; an answer may take _READ_TIMEOUT (the
# backend pushes the outputs to its registry before it answers). Without a bound of its own, a
# connect that goes unanswered waits out the kernel's SYN retransmissions (1, 3, 7, ... 127 s with
# tcp_syn_retries=6) before it is tried again: on the test rig's real node, a pod cut off from its
# gateway for ~45 s (its bridge changed MAC address) pushed its outputs 63-127 s late; with this
# bound, at most one backoff (<= 15 s) and one connect timeout after the network is back.
_CONNECT_TIMEOUT = 10
_READ_TIMEOUT = 300


def _connect(address, timeout=None, source_address=None, *args, **kwargs):
    sock = socket.create_connection(address, _CONNECT_TIMEOUT, source_address)
    sock.settimeout(timeout if isinstance(timeout, (int, float)) else None)
    return sock


def _bounded_connect(http_class):
    def make(host, **kwargs):
        conn = http_class(host, **kwargs)
        conn._create_connection = _connect  # http.client's seam for opening the socket
        return conn
    return make


class _HTTPHandler(urllib.request.HTTPHandler):
    def do_open(self, http_class, req, **kwargs):
        return super().do_open(_bounded_connect(http_class), req, **kwargs)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def do_open(self, http_class, req, **kwargs):
        return super().do_open(_bounded_connect(http_class), req, **kwargs)


_opener = urllib.request.build_opener(_HTTPHandler, _HTTPSHandler)


def _open(req):
    return _opener.open(req, timeout=_READ_TIMEOUT)



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
            with _open(req) as res:
                return res.status, json.loads(res.read() or b"null")
        except urllib.error.HTTPError as err:
            payload = err.read()
            if (err.code == 429 or err.code >= 500) and attempt < _ATTEMPTS - 1:
                time.sleep(min(15, 0.5 * 2 ** attempt))
                continue
            try:
                return err.code, json.loads(payload)
            except ValueError:
                return err.code, {"error": {"message": payload.decode("utf-8", "replace")[:300]}}
        except (urllib.error.URLError, OSError):
            if attempt == _ATTEMPTS - 1:
                raise
            time.sleep(min(15, 0.5 * 2 ** attempt))
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
        sys.stderr.write(FINISH_LOG_PREFIX + "cannot push outputs: %s not set\n" % ", ".join(missing))
        return 2
    root = env.get("TRAINYARD_OUTPUT_DIR") or os.path.join(os.getcwd(), "output")
    try:
        result = push_outputs(env["TRAINYARD_BACKEND_URL"], env["TRAINYARD_RUN_TOKEN"], env["TRAINYARD_RUN_ID"], root)
    except Exception as err:  # reported in the run's log; the run's own exit code stands
        sys.stderr.write(FINISH_LOG_PREFIX + "the outputs were not kept: %s\n" % err)
        return 1
    n = len(result.get("files", []))
    if n == 0 and not result.get("note"):
        return 0  # nothing was written: nothing to say
    note = "; " + result["note"] if result.get("note") else ""
    sys.stderr.write(FINISH_LOG_PREFIX + "kept %d output file%s (%d bytes, uploaded %d)%s\n" % (n, "" if n == 1 else "s", result.get("totalBytes", 0), result.get("uploaded", 0), note))
    return 0


# ---- The start step: fetching the training run's artifacts (fromRun) -------------------------
# A run launched with fromRun on Kubernetes gets them from an init container that runs
#     python3 -c "import trainyard, sys; sys.exit(trainyard.fetch_inputs_main())"
# with TRAINYARD_BACKEND_URL, TRAINYARD_RUN_TOKEN (this run's token: it may read the artifacts
# of the run it reads, and nothing else of it), TRAINYARD_INPUT_RUN_ID and TRAINYARD_INPUT_DIR.
# Each file goes through a temp file and is kept only when its sha256 matches the listing.


def _safe_join(root, path):
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or any(p in ("", ".", "..") for p in parts):
        raise RuntimeError("the backend listed an artifact path that is not run-relative: %r" % path)
    return os.path.join(root, *parts)


def _download(url, token, target, want_sha, want_size):
    part = target + ".trainyard-part"
    for attempt in range(_ATTEMPTS):
        req = urllib.request.Request(url)
        req.add_header("Authorization", "Bearer " + token)
        try:
            h = hashlib.sha256()
            size = 0
            with _open(req) as res, open(part, "wb") as out:
                while True:
                    chunk = res.read(1 << 20)
                    if not chunk:
                        break
                    h.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            if size != want_size or h.hexdigest() != want_sha:
                raise RuntimeError("%s: got %d bytes with sha256 %s, expected %d bytes with sha256 %s" % (target, size, h.hexdigest(), want_size, want_sha))
            os.replace(part, target)
            return
        except urllib.error.HTTPError as err:
            if not (err.code == 429 or err.code >= 500) or attempt == _ATTEMPTS - 1:
                raise RuntimeError("downloading %s failed (HTTP %d)" % (url, err.code))
        except (urllib.error.URLError, OSError):
            if attempt == _ATTEMPTS - 1:
                raise
        finally:
            if os.path.exists(part):
                os.remove(part)
        time.sleep(min(15, 0.5 * 2 ** attempt))


def fetch_inputs(url, token, input_run_id, root):
    """Downloads the artifacts of input_run_id into root, read-only; returns (files, bytes)."""
    base = url.rstrip("/") + "/v1/runs/" + input_run_id + "/artifacts"
    status, listing = _request("GET", base, token)
    if status != 200:
        raise RuntimeError("the backend refused the artifact list of %s (HTTP %d): %s" % (input_run_id, status, ((listing or {}).get("error") or {}).get("message")))
    os.makedirs(root, exist_ok=True)
    total = 0
    for f in listing.get("files", []):
        target = _safe_join(root, f["path"])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        quoted = "/".join(urllib.request.quote(p, safe="") for p in f["path"].split("/"))
        _download(base + "/" + quoted, token, target, f["sha256"], f["size"])
        os.chmod(target, 0o444)
        total += f["size"]
    for dirpath, _, _ in os.walk(root, topdown=False):
        if dirpath != root:  # root is a mount point the run mounts read-only; it may not be ours to chmod
            os.chmod(dirpath, 0o555)
    return len(listing.get("files", [])), total


def recorded_input(url, token, run_id):
    """The input run the backend recorded for run_id (a schedule's fire: resolved when the fire was recorded)."""
    status, run = _request("GET", url.rstrip("/") + "/v1/runs/" + run_id, token)
    if status != 200:
        raise RuntimeError("the backend refused the record of run %s (HTTP %d): %s" % (run_id, status, ((run or {}).get("error") or {}).get("message")))
    if not run.get("inputRunId"):
        raise RuntimeError("the backend recorded no training run for run %s to read: %s" % (run_id, run.get("reason") or "no reason given"))
    return run["inputRunId"]


def fetch_inputs_main():
    env = os.environ
    # a schedule's fire has no input run id in its pod: it is in the run's record (TRAINYARD_RUN_ID)
    need = ("TRAINYARD_BACKEND_URL", "TRAINYARD_RUN_TOKEN", "TRAINYARD_INPUT_DIR") + (("TRAINYARD_INPUT_RUN_ID",) if not env.get("TRAINYARD_RUN_ID") else ())
    missing = [k for k in need if not env.get(k)]
    if missing:
        sys.stderr.write("trainyard inputs: cannot fetch the training run's artifacts: %s not set\n" % ", ".join(missing))
        return 2
    input_run_id = env.get("TRAINYARD_INPUT_RUN_ID")
    try:
        if not input_run_id:
            input_run_id = recorded_input(env["TRAINYARD_BACKEND_URL"], env["TRAINYARD_RUN_TOKEN"], env["TRAINYARD_RUN_ID"])
        n, total = fetch_inputs(env["TRAINYARD_BACKEND_URL"], env["TRAINYARD_RUN_TOKEN"], input_run_id, env["TRAINYARD_INPUT_DIR"])
    except Exception as err:
        sys.stderr.write("trainyard inputs: the artifacts of run %s could not be fetched: %s\n" % (input_run_id or "(from the run's record)", err))
        return 1
    sys.stderr.write("trainyard inputs: %d file%s (%d bytes) of run %s in %s\n" % (n, "" if n == 1 else "s", total, input_run_id, env["TRAINYARD_INPUT_DIR"]))
    return 0
