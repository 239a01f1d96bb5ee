"""Per feature and corpus: how well the rise against the speaker's baseline (mean of the first K
calm turns) separates anger from calm. AUC > 0.5: the feature rises in anger. Also the first-turn
AUC (raw value, no baseline) and the 16k -> 8k shift of calm values (in calm within-speaker SDs)."""
import sys

import numpy as np
from sklearn.metrics import roc_auc_score

from evalkit import CORPORA, data, first_calm

K = int(sys.argv[1]) if len(sys.argv) > 1 else 2


def rel(d, k):
    rows, y = [], []
    for s in d.speakers():
        b = first_calm(d, s, k)
        mine = np.setdiff1d(np.nonzero((d.spk == s) & np.isin(d.cls, ["angry", "neutral"]))[0], b)
        rows.append(d.X[mine] - d.X[b].mean(0))
        y.append(d.cls[mine] == "angry")
    return np.concatenate(rows), np.concatenate(y)


names = data("emodb", False).names
res = {}
for c in CORPORA:
    for ph in (False, True):
        d = data(c, ph)
        R, y = rel(d, K)
        keep = np.isin(d.cls, ["angry", "neutral"])
        res[(c, ph)] = ([roc_auc_score(y, R[:, j]) for j in range(len(names))],
                        [roc_auc_score(d.cls[keep] == "angry", d.X[keep, j]) for j in range(len(names))])
# calm shift 16k->8k
shift = []
for j in range(len(names)):
    v = []
    for c in CORPORA:
        a, b = data(c, False), data(c, True)
        m = a.cls == "neutral"
        sd = np.std(np.concatenate([a.X[m & (a.spk == s), j] - a.X[m & (a.spk == s), j].mean() for s in a.speakers()]))
        v.append((b.X[m, j] - a.X[m, j]).mean() / max(sd, 1e-9))
    shift.append(np.mean(v))
print(f"baseline K={K}; AUC of rise vs baseline (16k | 8k) per corpus; min over corpora; first-turn raw AUC 16k; calm shift 16k->8k in SDs")
hdr = "feature".ljust(26) + "".join(f"{c[:6]:>13s}" for c in CORPORA) + "   min16  min8 | first-turn e/c/r | shift"
print(hdr)
order = np.argsort([-min(min(res[(c, ph)][0][j], 1 - res[(c, ph)][0][j]) if False else min(res[(c, False)][0][j] for c in CORPORA) for c in CORPORA for ph in (False,)) for j in range(len(names))])
rows = []
for j, n in enumerate(names):
    a16 = [res[(c, False)][0][j] for c in CORPORA]
    a8 = [res[(c, True)][0][j] for c in CORPORA]
    # direction by majority
    sgn = 1 if np.mean(a16) >= 0.5 else -1
    f = (lambda a: a) if sgn > 0 else (lambda a: 1 - a)
    m16 = min(f(a) for a in a16)
    m8 = min(f(a) for a in a8)
    ft = [res[(c, False)][1][j] for c in CORPORA]
    rows.append((min(m16, m8), f"{n[:26]:26s}" + "".join(f"  {a:.2f}|{b:.2f}" for a, b in zip(a16, a8)) +
                 f"   {m16:.2f}  {m8:.2f} {'+' if sgn > 0 else '-'}| " + " ".join(f"{a:.2f}" for a in ft) + f" | {shift[j]:+.2f}"))
for _, r in sorted(rows, key=lambda r: -r[0]):
    print(r)
