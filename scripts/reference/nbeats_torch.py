#!/usr/bin/env python3
"""PyTorch peer of pulse-deep's N-BEATS (issue 17 item 5, BENCHMARKS.md): the same network, timed.

Generic N-BEATS (Oreshkin et al. 2019) exactly as crates/deep/src/nbeats: STACKS x BLOCKS blocks,
each 4 fully connected ReLU layers of WIDTH units, theta_b = Linear(width, lookback, bias=False),
theta_f = Linear(width, horizon, bias=False), generic basis backcast = Linear(lookback, lookback),
forecast = Linear(horizon, horizon); doubly residual (x <- x - backcast, forecast = sum of the
blocks' forecasts). PyTorch's default nn.Linear initialisation, Adam lr 0.001 (betas 0.9/0.999,
eps 1e-8), MSE over the horizon, batch 256, every training window once per epoch in a seeded random
order. Same windows: the scaled training log returns pulse-deep's example `nbeats_bench` writes to
target/nbeats_bench_series.csv (series,value); windows of LOOKBACK inputs and HORIZON targets
wholly inside each series. f32 on the CPU, torch.set_num_threads(threads).

Prints one JSON line per epoch and one for the whole training (seconds per epoch).

usage: nbeats_torch.py [--epochs N] [--threads T] [--csv PATH] [--width W]
"""

import argparse
import csv
import json
import time

import numpy as np
import torch
from torch import nn

LOOKBACK, HORIZON, STACKS, BLOCKS, LAYERS = 60, 20, 2, 3, 4


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        layers, inputs = [], LOOKBACK
        for _ in range(LAYERS):
            layers += [nn.Linear(inputs, width), nn.ReLU()]
            inputs = width
        self.fc = nn.Sequential(*layers)
        self.theta_b = nn.Linear(width, LOOKBACK, bias=False)
        self.theta_f = nn.Linear(width, HORIZON, bias=False)
        self.backcast = nn.Linear(LOOKBACK, LOOKBACK)
        self.forecast = nn.Linear(HORIZON, HORIZON)

    def forward(self, x):
        h = self.fc(x)
        return self.backcast(self.theta_b(h)), self.forecast(self.theta_f(h))


class NBeats(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.blocks = nn.ModuleList(Block(width) for _ in range(STACKS * BLOCKS))

    def forward(self, x):
        out = 0
        for b in self.blocks:
            back, f = b(x)
            x = x - back
            out = out + f
        return out


def windows(path):
    series = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            series.setdefault(row["series"], []).append(float(row["value"]))
    xs, ys = [], []
    for z in series.values():
        z = np.asarray(z, dtype=np.float32)
        for t in range(LOOKBACK, len(z) - HORIZON + 1):
            xs.append(z[t - LOOKBACK:t])
            ys.append(z[t:t + HORIZON])
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--csv", default="target/nbeats_bench_series.csv")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x, y = windows(a.csv)
    model = NBeats(a.width)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    gen = torch.Generator().manual_seed(a.seed)
    n = x.shape[0]
    start = time.perf_counter()
    for epoch in range(1, a.epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, a.batch):
            idx = perm[i:i + a.batch]
            loss = ((model(x[idx]) - y[idx]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        print(json.dumps({"impl": f"torch {torch.__version__}", "what": "epoch", "epoch": epoch,
                          "seconds": round(time.perf_counter() - t0, 3), "loss": round(total / n, 5)}))
    secs = time.perf_counter() - start
    print(json.dumps({"impl": f"torch {torch.__version__}", "what": "train", "windows": n,
                      "epochs": a.epochs, "threads": a.threads, "seconds": round(secs, 3),
                      "sec_per_epoch": round(secs / a.epochs, 3)}))


if __name__ == "__main__":
    main()
