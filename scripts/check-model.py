#!/usr/bin/env python3
"""Loads a dlstm model with the `safetensors` package, runs the LSTM forward in numpy from the
model's own metadata (pooling, lags, horizon, normalisation statistics, label scale), and checks
the predictions against `dlstm predict --out` on the same CSV series.

    scripts/check-model.py MODEL.safetensors DATA.csv PREDICTIONS.csv [--tolerance 1e-12]

The tensors are PyTorch's (nn.LSTM gates i, f, g, o; nn.Linear), so the same file loads into
`torch.nn.LSTM(p, n, batch_first=True)` with `load_state_dict`. Exit 0 when every prediction agrees
to the tolerance (relative to max(1, |prediction|)), 1 otherwise.
"""
import argparse
import csv
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_estimate(t, meta, x):
    """d_hat for one sequence x (m x p): the LSTM from zero state, pooled, then the readout."""
    n = int(meta["hidden"])
    w_ih, w_hh = t["lstm.weight_ih_l0"], t["lstm.weight_hh_l0"]
    b = t["lstm.bias_ih_l0"] + t["lstm.bias_hh_l0"]
    h, c, outputs = np.zeros(n), np.zeros(n), []
    for column in x:
        gates = w_ih @ column + w_hh @ h + b
        i, f, g, o = (sigmoid(gates[:n]), sigmoid(gates[n:2 * n]), np.tanh(gates[2 * n:3 * n]),
                      sigmoid(gates[3 * n:]))
        c = f * c + i * g
        h = o * np.tanh(c)
        outputs.append(h)
    outputs = np.array(outputs)
    pooled = {"mean": outputs.mean(axis=0), "max": outputs.max(axis=0), "last": outputs[-1]}[meta["pooling"]]
    estimate = float(t["linear.weight"][0] @ pooled)
    if "linear.bias" in t:
        estimate += float(t["linear.bias"][0])
    if "direct.weight" in t:
        estimate += float(t["direct.weight"][0] @ x[-1])
    return estimate


def series(path, column):
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r and any(field.strip() for field in r)]
    try:
        float(rows[0][0] if column.isdigit() else "header")
        header, body = None, rows
    except ValueError:
        header, body = rows[0], rows[1:]
    index = int(column) - 1 if column.isdigit() else header.index(column)
    return np.array([float(r[index]) for r in body])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("predictions")
    parser.add_argument("--tolerance", type=float, default=1e-12)
    args = parser.parse_args()

    tensors = load_file(args.model)
    with safe_open(args.model, framework="numpy") as f:
        meta = f.metadata()
    assert meta["format"] == "dlstm-model" and meta["format_version"] == "1", meta.get("format")
    lags, horizon = int(meta["lags"]), int(meta["horizon"])
    offset, scale = float(meta["normalize_offset"]), float(meta["normalize_scale"])
    label_scale = float(meta["label_scale"])
    values = (series(args.data, meta["column"]) - offset) / scale

    ours = []
    for t in range(len(values) - lags - horizon + 1):
        window = values[t:t + lags]
        x = window.reshape(1, lags) if meta["lag_layout"] == "vector" else window.reshape(lags, 1)
        ours.append(lstm_estimate(tensors, meta, x) / label_scale * scale + offset)

    with open(args.predictions, newline="") as f:
        theirs = [float(r["prediction"]) for r in csv.DictReader(f)]
    if len(ours) != len(theirs):
        print(f"check-model: numpy made {len(ours)} predictions, dlstm predict {len(theirs)}")
        return 1
    worst = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(ours, theirs))
    print(json.dumps({"model": args.model, "predictions": len(ours), "max_relative_difference": worst,
                      "tensors": sorted(tensors)}))
    return 0 if worst <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
