"""Grid over small feature sets (pitch, cepstral change, tilt, extra, loudness), K=2 baseline turns:
leave-one-corpus-out at 16 kHz and 8 kHz, and the training-side-only (nested) criterion: each
pair of corpora trained one on the other (both ways). Writes var/anger_research/grid.tsv."""
import itertools
import sys

import numpy as np

from evalkit import CORPORA, data, eval_set
from relmodel import RelModel

col = data("emodb", False).col
K = 2
PITCH = {"mean": ["f0_mean_st"], "p90": ["f0_p90_st"], "mean+p90": ["f0_mean_st", "f0_p90_st"]}
DM = {"dm713": ["dm_7_13"], "dm113l2": ["dm_1_13_lag2"], "both": ["dm_7_13", "dm_1_13_lag2"], "dmfcc": ["delta_mfcc_a"]}
TILT = {"-": [], "b1": ["b1_v"], "alpha": ["alpha_v"], "hamm": ["hammarberg_v"], "mfcc1": ["mfcc1_v"]}
EXTRA = {"-": [], "flux": ["flux_v"], "shimmer": ["shimmer_db"]}
LOUD = {"-": None, "vmean": "loud_voiced_mean_db", "power": "loud_power_db", "p90": "loud_p90_db"}


def make(names, loud):
    feats = [col[n] for n in names]
    kw = dict(feats=feats + ([col[loud]] if loud else []), max_fpr=0.05)
    if loud:
        kw.update(onesided=[col[loud]], loud_dropout=col[loud])
    return lambda: RelModel(**kw)


def run(mk, train, test):
    m = mk().fit([data(c, ph) for c in train for ph in (False, True)])
    return [eval_set(m, data(test, ph), K)[0] for ph in (False, True)]


def crit(rs):
    """worst balanced accuracy, with calm flagged above 5% costing double"""
    return min(r["bacc"] - 2 * max(0, r["fpr"] - 0.05) for r in rs)


if __name__ == "__main__":
    combos = list(itertools.product(PITCH, DM, TILT, EXTRA, LOUD))
    if len(sys.argv) > 1 and sys.argv[1] == "reduced":
        # second pass: the pitch variants other than the mean, over the dimensions that mattered
        combos = [c for c in combos if c[0] != "mean" and c[1] in ("dm713", "both") and c[2] in ("-", "b1", "alpha")]
    nested_on = not (len(sys.argv) > 1 and sys.argv[1] == "reduced")
    path = "var/anger_research/grid.tsv" if nested_on else "var/anger_research/grid_reduced.tsv"
    out = open(path, "w")
    out.write("pitch\tdm\ttilt\textra\tloud\t" + "\t".join(f"{c}_{s}_{m}" for c in CORPORA for s in ("16k", "8k") for m in ("bacc", "fpr"))
              + "\t" + "\t".join(f"nested_{c}" for c in CORPORA) + "\n")
    for n, (p, d, t, e, l) in enumerate(combos):
        mk = make(PITCH[p] + DM[d] + TILT[t] + EXTRA[e], LOUD[l])
        cells, nested = [], []
        for held in CORPORA:
            cells += run(mk, [c for c in CORPORA if c != held], held)
            a, b = [c for c in CORPORA if c != held]
            nested.append(min(crit(run(mk, [a], b)), crit(run(mk, [b], a))) if nested_on else np.nan)
        out.write(f"{p}\t{d}\t{t}\t{e}\t{l}\t" + "\t".join(f"{r['bacc']:.4f}\t{r['fpr']:.4f}" for r in cells)
                  + "\t" + "\t".join(f"{v:.4f}" for v in nested) + "\n")
        out.flush()
        print(n, len(combos), p, d, t, e, l, f"{crit(cells):.3f}", flush=True)
