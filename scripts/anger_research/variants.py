"""Robustness variants of a configuration, judged leave-one-corpus-out with the caller's baseline
as the first K calm turns and as K random calm turns (10 draws), K = 2 and 3."""
import sys

import numpy as np

from evalkit import CORPORA, data
from relmodel import RelModel
from robust import first_k, score_random

col = data("emodb", False).col


def C(*n):
    return [col[x] for x in n]


def evaluate(name, mk, draws=10, ks=(2, 3), conds=(False,)):
    line = f"{name:38s}"
    worst = 1.0
    for held in CORPORA:
        m = mk().fit([data(c, ph) for c in CORPORA if c != held for ph in (False, True)])
        cells = []
        for ph in conds:
            d = data(held, ph)
            for k in ks:
                f = first_k(m, d, k)
                r = score_random(m, d, k, draws, np.random.default_rng(1))
                rb, rf = np.mean([x["bacc"] for x in r]), np.mean([x["fpr"] for x in r])
                cells.append(f"K{k} {100*f['bacc']:4.1f}/{100*f['fpr']:4.1f} r{100*rb:4.1f}/{100*rf:4.1f}")
                worst = min(worst, f["bacc"] - 2 * max(0, f["fpr"] - .05), rb - 2 * max(0, rf - .05))
        line += f" | {held[:5]} " + " ".join(cells)
    print(f"{line} | worst {100*worst:4.1f}", flush=True)


if __name__ == "__main__":
    base = C("f0_mean_st", "dm_7_13", "flux_v")
    L = col["loud_power_db"]
    SV = C("f0_mean_st", "f0_p90_st", "f0_p10_st", "dm_7_13", "dm_1_13_lag2", "flux_v", "b1_v", "alpha_v", "hammarberg_v",
           "slope_v", "centroid_v", "jitter_st", "shimmer_db", "cpp_a", "mfcc1_v", "mfcc2_v", "mfcc3_v", "mfcc4_v")
    common = dict(feats=base + [L], onesided=[L], loud_dropout=L, max_fpr=0.05)
    V = {
        "V0 C1": dict(),
        "V1 spkvar prior20": dict(spkvar=SV, spkvar_prior=20),
        "V1b spkvar prior40 model-feats": dict(spkvar=base + [L], spkvar_prior=8),
        "V2 loud deadzone 1": dict(deadzone={L: 1.0}),
        "V3 shrink dm/flux 1": dict(shrink=1.0, shrink_feats=C("dm_7_13", "flux_v")),
        "V4 median ref": dict(ref="median"),
        "V5 fpr 3%": dict(max_fpr=0.03),
        "V6 shrink dm/flux/loud? 2": dict(shrink=2.0, shrink_feats=C("dm_7_13", "flux_v")),
    }
    which = sys.argv[1:]
    for name, kw in V.items():
        if which and not any(name.startswith(w) for w in which):
            continue
        k = dict(common); k.update(kw)
        evaluate(name, lambda: RelModel(**k))
