"""Baseline figures: the shipped model's recipe, leave-one-corpus-out and EmoDB leave-one-
speaker-out, at 16 kHz and 8 kHz mu-law, baseline K calm turns (argv[1], default 3 as in the
Rust bench) and first turn."""
import sys

import numpy as np

from evalkit import CORPORA, data, eval_set, fmt, metrics, score_speakers
from shipped import Shipped

K = int(sys.argv[1]) if len(sys.argv) > 1 else 3
print(f"shipped recipe, baseline = first {K} calm turns")
for held in CORPORA:
    train = [data(c, ph) for c in CORPORA if c != held for ph in (False, True)]
    m = Shipped().fit(train)
    for ph in (False, True):
        r, _ = eval_set(m, data(held, ph), K)
        r0, _ = eval_set(m, data(held, ph), K, first_turn=True)
        print(f"LOCO {held:8s} {'8k' if ph else '16k'}  {fmt(r)}   | first turn {fmt(r0)}")
# EmoDB LOSO
d16, d8 = data("emodb", False), data("emodb", True)
res = {False: [], True: [], "cold": []}
for s in d16.speakers():
    train = [d.__class__.__new__(d.__class__) for d in (d16, d8)]
    for t, d in zip(train, (d16, d8)):
        keep = d.spk != s
        t.__dict__.update(d.__dict__)
        t.X, t.spk, t.cls, t.path, t.meta = d.X[keep], d.spk[keep], d.cls[keep], d.path[keep], [m for m, k in zip(d.meta, keep) if k]
    m = Shipped().fit(train)
    for ph, d in ((False, d16), (True, d8)):
        y, sc, c, _ = score_speakers(m, d, K, [s])
        k = (c == "angry") | (c == "neutral")
        res[ph].append((y[k], sc[k]))
    y, sc, c, _ = score_speakers(m, d16, K, [s], first_turn=True)
    k = (c == "angry") | (c == "neutral")
    res["cold"].append((y[k], sc[k]))
for key, name in ((False, "16k"), (True, "8k"), ("cold", "first turn")):
    y = np.concatenate([a for a, b in res[key]]); s = np.concatenate([b for a, b in res[key]])
    print(f"EmoDB LOSO {name:10s} {fmt(metrics(y, s))}")
