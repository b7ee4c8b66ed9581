"""Batch prediction of ETA corrections. The model comes from params.model_path,
else the training run's model.json (launched with --from-run), else ./output/model.json, else it is fitted on synthetic trips (least squares).
The trips come from params.input (CSV with the feature columns), else
params.n synthetic trips of params.region. Writes predictions.csv to the output dir."""

import csv
import json
import os

import trainyard
from eta_data import FEATURES, generate, rmse, standardize

params = trainyard.params()
region = str(params.get("region", "sfo"))
n = int(params.get("n", 1000))


def fit_least_squares(rows):
    """Closed-form linear regression (normal equations, Gauss-Jordan) on standardized features."""
    scaled, stats = standardize(rows)
    k = len(FEATURES) + 1
    a = [[0.0] * (k + 1) for _ in range(k)]
    for x, y in scaled:
        v = [1.0] + x
        for i in range(k):
            for j in range(k):
                a[i][j] += v[i] * v[j]
            a[i][k] += v[i] * y
    for c in range(k):
        p = max(range(c, k), key=lambda r: abs(a[r][c]))
        a[c], a[p] = a[p], a[c]
        for r in range(k):
            if r != c:
                f = a[r][c] / a[c][c]
                a[r] = [vr - f * vc for vr, vc in zip(a[r], a[c])]
    coef = [a[i][k] / a[i][i] for i in range(k)]
    return {"region": region, "features": FEATURES, "bias": coef[0], "weights": coef[1:], **stats}


def load_model():
    trained = trainyard.input_dir()  # the training run's artifacts, when launched with --from-run
    for path in (params.get("model_path"), trained and os.path.join(trained, "model.json"), os.path.join("output", "model.json")):
        if path and os.path.exists(path):
            with open(path) as f:
                print("using the model in %s" % path, flush=True)
                return json.load(f)
    print("no saved model: fitting one on synthetic trips of %s" % region, flush=True)
    return fit_least_squares(generate(region, 5000, seed=1))


model = load_model()
region = str(params.get("region", model.get("region", region)))
if params.get("input"):
    with open(params["input"], newline="") as f:
        rows = [([float(r[c]) for c in FEATURES], None) for r in csv.DictReader(f)]
else:
    rows = generate(region, n, seed=int(params.get("seed", 7)))

out = os.path.join(trainyard.output_dir(), "predictions.csv")
bias, weights, means, stds = model["bias"], model["weights"], model["means"], model["stds"]
with open(out, "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(FEATURES + ["predicted_correction_min"])
    for x, _ in rows:
        pred = bias + sum(wt * (v - m) / s for wt, v, m, s in zip(weights, x, means, stds))
        w.writerow(["%g" % v for v in x] + ["%.3f" % pred])
trainyard.log_metric("rows", len(rows))
if rows and rows[0][1] is not None:
    trainyard.log_metric("rmse", rmse(model, rows))
print("wrote %d predictions to %s" % (len(rows), out), flush=True)
