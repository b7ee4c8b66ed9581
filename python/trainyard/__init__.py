"""Trainyard's training-code contract, stdlib only.

A run gets TRAINYARD_RUN_ID, TRAINYARD_PARAMS (a JSON object) and
TRAINYARD_OUTPUT_DIR (what the run leaves there is kept as its artifacts); a run
launched with fromRun also gets TRAINYARD_INPUT_DIR, the artifacts of that
training run, read-only. A metric is one stdout line:

    ::trainyard:metric {"name": "rmse", "value": 0.31, "step": 3}

This module is shipped in every saved version at /opt/trainyard/python and is on
PYTHONPATH there; outside Trainyard the same calls work with defaults.
"""

import json
import math
import os
import sys

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
