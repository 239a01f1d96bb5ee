"""Robustness of the best few configurations: training seeds, the caller's baseline taken as K
random calm turns instead of the first K, and K = 1..4. Leave-one-corpus-out throughout."""
import sys

import numpy as np

from evalkit import CORPORA, data, metrics
from relmodel import RelModel

col = data("emodb", False).col
CANDS = {
    "C1 f0mean dm713 flux loud(power)": (["f0_mean_st", "dm_7_13", "flux_v"], "loud_power_db"),
    "C2 f0mean dm713 flux loud(p90)": (["f0_mean_st", "dm_7_13", "flux_v"], "loud_p90_db"),
    "C3 f0mean dm713 dm113l2 flux loud(power)": (["f0_mean_st", "dm_7_13", "dm_1_13_lag2", "flux_v"], "loud_power_db"),
    "C4 f0mean dm713 b1 loud(power)": (["f0_mean_st", "dm_7_13", "b1_v"], "loud_power_db"),
    "C5 f0mean dm713 flux b1 loud(power)": (["f0_mean_st", "dm_7_13", "flux_v", "b1_v"], "loud_power_db"),
    "C6 f0mean dm713 flux (no loudness)": (["f0_mean_st", "dm_7_13", "flux_v"], None),
}


def make(names, loud, seed=0, **extra):
    feats = [col[n] for n in names] + ([col[loud]] if loud else [])
    kw = dict(feats=feats, max_fpr=0.05, seed=seed)
    if loud:
        kw.update(onesided=[col[loud]], loud_dropout=col[loud])
    kw.update(extra)
    return RelModel(**kw)


def score_random(m, d, k, draws, rng):
    """Per draw: every speaker's baseline is k random calm turns; the rest are scored."""
    res = []
    for _ in range(draws):
        ys, ss = [], []
        for s in d.speakers():
            calm = np.nonzero((d.spk == s) & (d.cls == "neutral"))[0]
            base = rng.choice(calm, k, replace=False)
            mine = np.setdiff1d(np.nonzero((d.spk == s) & np.isin(d.cls, ["angry", "neutral"]))[0], base)
            ss.append(m.score(d, d.X[mine], d.X[base]))
            ys.append(d.cls[mine] == "angry")
        res.append(metrics(np.concatenate(ys), np.concatenate(ss)))
    return res


def first_k(m, d, k):
    ys, ss = [], []
    for s in d.speakers():
        calm = np.nonzero((d.spk == s) & (d.cls == "neutral"))[0][:k]
        mine = np.setdiff1d(np.nonzero((d.spk == s) & np.isin(d.cls, ["angry", "neutral"]))[0], calm)
        ss.append(m.score(d, d.X[mine], d.X[calm]))
        ys.append(d.cls[mine] == "angry")
    return metrics(np.concatenate(ys), np.concatenate(ss))


if __name__ == "__main__":
    which = sys.argv[1:] or list(CANDS)
    for name in CANDS:
        if not any(name.startswith(w) for w in which):
            continue
        names, loud = CANDS[name]
        print(name, flush=True)
        # seeds, first-2 baseline
        for held in CORPORA:
            train = [data(c, ph) for c in CORPORA if c != held for ph in (False, True)]
            rows = {}
            for seed in range(5):
                m = make(names, loud, seed).fit(train)
                for ph in (False, True):
                    rows.setdefault(("seed", ph), []).append(first_k(m, data(held, ph), 2))
                    if seed == 0:
                        rng = np.random.default_rng(1)
                        rows[("rand", ph)] = score_random(m, data(held, ph), 2, 20, rng)
                        for k in (1, 3, 4):
                            rows[("k", k, ph)] = [first_k(m, data(held, ph), k)]
            line = f"  {held:8s}"
            for key, lab in ((("seed", False), "5 seeds 16k"), (("seed", True), "8k"), (("rand", False), "random base 16k"), (("rand", True), "8k")):
                b = [r["bacc"] for r in rows[key]]; f = [r["fpr"] for r in rows[key]]
                line += f" | {lab} bacc {100*np.mean(b):4.1f} (min {100*min(b):4.1f}) fpr {100*np.mean(f):3.1f} (max {100*max(f):3.1f})"
            print(line)
            print(f"  {'':8s} | K=1/3/4 16k " + " ".join(f"{100*rows[('k', k, False)][0]['bacc']:4.1f}/{100*rows[('k', k, False)][0]['fpr']:3.1f}" for k in (1, 3, 4))
                  + "   8k " + " ".join(f"{100*rows[('k', k, True)][0]['bacc']:4.1f}/{100*rows[('k', k, True)][0]['fpr']:3.1f}" for k in (1, 3, 4)), flush=True)
