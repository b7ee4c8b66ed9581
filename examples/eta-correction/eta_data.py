"""Synthetic ETA data for the eta-correction example (stdlib only).

Each trip has a routing-engine ETA; the label is the correction in minutes that
the real trip took on top of it. The hidden truth depends on the region, so a
sweep over regions learns different models. Same (region, seed) => same data.
"""

import math
import random
import zlib

FEATURES = ["distance_km", "rush_hour", "traffic", "night"]

# hidden per-region truth: bias + weights for FEATURES
_REGIONS = {
    "sfo": (1.5, [0.35, 4.0, 6.0, -1.0]),
    "nyc": (2.5, [0.55, 6.5, 8.0, -0.5]),
    "lax": (1.0, [0.25, 7.5, 5.0, -1.5]),
}


def region_truth(region):
    if region in _REGIONS:
        return _REGIONS[region]
    rng = random.Random(zlib.crc32(region.encode("utf-8")))
    return (rng.uniform(0.5, 3.0), [rng.uniform(0.2, 0.6), rng.uniform(3, 8), rng.uniform(4, 9), rng.uniform(-2, 0)])


def trip(rng):
    distance = rng.uniform(0.5, 30.0)
    hour = rng.randrange(24)
    rush = 1.0 if hour in (7, 8, 9, 16, 17, 18) else 0.0
    night = 1.0 if hour < 5 or hour >= 22 else 0.0
    traffic = min(1.0, max(0.0, rng.gauss(0.4 + 0.3 * rush, 0.15)))
    return [distance, rush, traffic, night]


def generate(region, n, seed=0):
    """n trips as (features, correction_minutes) for a region."""
    rng = random.Random(zlib.crc32(("%s:%d" % (region, seed)).encode("utf-8")))
    bias, weights = region_truth(region)
    rows = []
    for _ in range(n):
        x = trip(rng)
        y = bias + sum(w * v for w, v in zip(weights, x)) + rng.gauss(0.0, 1.0)
        rows.append((x, y))
    return rows


def standardize(rows, stats=None):
    """Features scaled to mean 0, std 1; returns (scaled rows, stats)."""
    if stats is None:
        cols = list(zip(*[x for x, _ in rows]))
        means = [sum(c) / len(c) for c in cols]
        stds = [math.sqrt(sum((v - m) ** 2 for v in c) / len(c)) or 1.0 for c, m in zip(cols, means)]
        stats = {"means": means, "stds": stds}
    scaled = [([(v - m) / s for v, m, s in zip(x, stats["means"], stats["stds"])], y) for x, y in rows]
    return scaled, stats


def predict_one(model, x):
    z = [(v - m) / s for v, m, s in zip(x, model["means"], model["stds"])]
    return model["bias"] + sum(w * v for w, v in zip(model["weights"], z))


def rmse(model, rows):
    return math.sqrt(sum((predict_one(model, x) - y) ** 2 for x, y in rows) / len(rows))
