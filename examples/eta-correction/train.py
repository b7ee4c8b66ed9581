"""Train the ETA correction model: linear regression by full-batch gradient
descent on synthetic trips of one region. Params: region, lr, epochs, seed, n."""

import json
import os
import time

import trainyard
from eta_data import FEATURES, generate, rmse, standardize

params = trainyard.params()
region = str(params.get("region", "sfo"))
lr = float(params.get("lr", 0.05))
epochs = int(params.get("epochs", 100))
seed = int(params.get("seed", 0))
n = int(params.get("n", 40000))
if not (0 < lr < 1):
    raise SystemExit("lr must be between 0 and 1 (got %r)" % lr)

started = time.time()
rows = generate(region, n, seed)
split = int(len(rows) * 0.8)
train_rows, stats = standardize(rows[:split])
valid_rows = rows[split:]
print("training eta-correction for region=%s on %d trips (lr=%g, epochs=%d)" % (region, len(train_rows), lr, epochs), flush=True)

bias, weights = 0.0, [0.0] * len(FEATURES)
m = float(len(train_rows))
for epoch in range(1, epochs + 1):
    grad_b, grad_w, sq = 0.0, [0.0] * len(weights), 0.0
    for x, y in train_rows:
        err = bias + sum(w * v for w, v in zip(weights, x)) - y
        sq += err * err
        grad_b += err
        for i, v in enumerate(x):
            grad_w[i] += err * v
    bias -= lr * 2 * grad_b / m
    weights = [w - lr * 2 * g / m for w, g in zip(weights, grad_w)]
    model = {"bias": bias, "weights": weights, **stats}
    trainyard.log_metric("loss", sq / m, step=epoch)
    trainyard.log_metric("rmse", rmse(model, valid_rows), step=epoch)

model = {"region": region, "features": FEATURES, "bias": bias, "weights": weights, **stats,
         "rmse": rmse({"bias": bias, "weights": weights, **stats}, valid_rows), "trained_on": len(train_rows),
         "run_id": trainyard.run_id()}
path = os.path.join(trainyard.output_dir(), "model.json")
with open(path, "w") as f:
    json.dump(model, f, indent=2)
print("validation rmse %.3f min; wrote %s in %.1fs" % (model["rmse"], path, time.time() - started), flush=True)
