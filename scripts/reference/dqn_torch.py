#!/usr/bin/env python3
"""PyTorch peer of pulse-deep's DQN (issue 17, BENCHMARKS.md): the same SPEC §4 agent, timed.

Same network (31 -> 128 -> 64 -> 32 -> 3, ReLU, dropout 0.2 while training, PyTorch's default
nn.Linear initialisation), Adam lr 0.001, MSE on Q(s, a) of the action taken against
r + 0.95 * max_a' Q_target(s', a'), epsilon 1.0 -> 0.01 (x 0.995 per replay), batch 32 drawn
without replacement from a 2,000-transition ring buffer, one replay per step once the buffer
holds a batch, target network copied every 100 replays, the SPEC reward table. Same data: TSLA
daily adjusted closes 2015-01-01..2019-12-31. f32 on the CPU, torch.set_num_threads(threads).

Prints one JSON line per figure: training steps per second and inference latency per decision
(one state -> argmax Q and the softmax confidence, model.eval(), torch.inference_mode()).

usage: dqn_torch.py [--episodes N] [--threads T] [--csv PATH]
"""

import argparse
import csv
import json
import math
import os
import random
import time

import numpy as np
import torch
from torch import nn

LOOKBACK = 30


def load_closes(path):
    out = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if "2015-01-01" <= row["date"] < "2020-01-01":
                out.append(float(row["adj_close"]))
    return out


class QNet(nn.Module):
    def __init__(self, inputs=LOOKBACK + 1, hidden=(128, 64, 32), dropout=0.2):
        super().__init__()
        layers, prev = [], inputs
        for h in hidden:
            layers += [nn.Linear(prev, h), nn.ReLU(), nn.Dropout(dropout)]
            prev = h
        layers.append(nn.Linear(prev, 3))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def reward(action, long, next_ret):
    # 0 buy, 1 sell, 2 hold (pulse_agents::Action::ALL order); SPEC literal sell reward.
    if action == 0:
        return -0.1 if long else next_ret
    if action == 1:
        return next_ret if long else -0.1
    return 0.5 * next_ret if long else 0.0


def train(closes, episodes, seed=42):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    closes = np.asarray(closes, dtype=np.float64)
    rets = np.zeros(len(closes), dtype=np.float32)
    rets[1:] = (100.0 * (closes[1:] / closes[:-1] - 1.0)).astype(np.float32)
    width = LOOKBACK + 1
    online, target = QNet(), QNet()
    target.load_state_dict(online.state_dict())
    target.eval()
    online.train()
    opt = torch.optim.Adam(online.parameters(), lr=0.001)
    cap, batch, gamma = 2000, 32, 0.95
    mem_s = np.zeros((cap, width), np.float32)
    mem_n = np.zeros((cap, width), np.float32)
    mem_a = np.zeros(cap, np.int64)
    mem_r = np.zeros(cap, np.float32)
    mem_d = np.zeros(cap, np.float32)
    head = size = replays = steps = 0
    eps = 1.0
    losses = []
    state = np.zeros(width, np.float32)
    nxt = np.zeros(width, np.float32)
    for _ in range(episodes):
        long = False
        ep_loss = []
        for t in range(LOOKBACK, len(closes) - 1):
            state[:LOOKBACK] = rets[t + 1 - LOOKBACK : t + 1]
            state[LOOKBACK] = 1.0 if long else 0.0
            if random.random() < eps:
                a = random.randrange(3)
            else:
                online.eval()
                with torch.no_grad():
                    a = int(online(torch.from_numpy(state).unsqueeze(0)).argmax(1).item())
                online.train()
            next_ret = 100.0 * (closes[t + 1] / closes[t] - 1.0)
            r = reward(a, long, next_ret)
            long = True if a == 0 else (False if a == 1 else long)
            nxt[:LOOKBACK] = rets[t + 2 - LOOKBACK : t + 2]
            nxt[LOOKBACK] = 1.0 if long else 0.0
            mem_s[head], mem_n[head] = state, nxt
            mem_a[head], mem_r[head] = a, r
            mem_d[head] = 1.0 if t + 1 == len(closes) - 1 else 0.0
            head = (head + 1) % cap
            size = min(size + 1, cap)
            steps += 1
            if size >= batch:
                idx = np.random.choice(size, batch, replace=False)
                s = torch.from_numpy(mem_s[idx])
                n = torch.from_numpy(mem_n[idx])
                with torch.no_grad():
                    q_next = target(n).max(1).values
                    y = torch.from_numpy(mem_r[idx]) + gamma * (1.0 - torch.from_numpy(mem_d[idx])) * q_next
                q = online(s).gather(1, torch.from_numpy(mem_a[idx]).unsqueeze(1)).squeeze(1)
                loss = nn.functional.mse_loss(q, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                ep_loss.append(loss.item())
                replays += 1
                eps = max(0.01, 0.995**replays)
                if replays % 100 == 0:
                    target.load_state_dict(online.state_dict())
        losses.append(float(np.mean(ep_loss)) if ep_loss else None)
    return online, steps, replays, eps, losses


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_csv = os.path.join(here, "..", "..", "..", "shared", "data", "daily-adjclose", "TSLA.csv")
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--csv", default=os.environ.get("PULSE_TSLA_CSV", default_csv))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    closes = load_closes(args.csv)

    t0 = time.perf_counter()
    model, steps, replays, eps, losses = train(closes, args.episodes)
    secs = time.perf_counter() - t0
    print(json.dumps({
        "impl": f"torch {torch.__version__}", "what": "train", "bars": len(closes),
        "episodes": args.episodes, "steps": steps, "replays": replays, "seconds": round(secs, 3),
        "steps_per_sec": round(steps / secs, 1), "final_epsilon": round(eps, 4),
        "mean_loss_last": losses[-1], "threads": torch.get_num_threads(),
    }))

    model.eval()
    rets = np.zeros(len(closes), np.float32)
    c = np.asarray(closes)
    rets[1:] = (100.0 * (c[1:] / c[:-1] - 1.0)).astype(np.float32)
    n = len(closes) - LOOKBACK - 1
    best = math.inf
    state = np.zeros(LOOKBACK + 1, np.float32)
    with torch.inference_mode():
        for _ in range(5):
            t0 = time.perf_counter()
            for t in range(LOOKBACK, LOOKBACK + n):
                # The same work as DqnAgent::decide: returns of the last 31 closes, the flag,
                # the forward pass, argmax and the softmax confidence.
                w = c[t - LOOKBACK : t + 1]
                state[:LOOKBACK] = 100.0 * (w[1:] / w[:-1] - 1.0)
                state[LOOKBACK] = float(t % 2 == 0)
                q = model(torch.from_numpy(state).unsqueeze(0))[0]
                a = int(q.argmax())
                conf = float(torch.softmax(q, 0)[a])
            best = min(best, (time.perf_counter() - t0) / n)
    print(json.dumps({
        "impl": f"torch {torch.__version__}", "what": "decide", "decisions": n, "best_of": 5,
        "us_per_decision": round(best * 1e6, 3),
    }))


if __name__ == "__main__":
    main()
