"""Leave-one-corpus-out (and EmoDB leave-one-speaker-out) for a model factory."""
import numpy as np

from evalkit import CORPORA, data, eval_set, metrics, score_speakers


def subset(d, keep):
    t = d.__class__.__new__(d.__class__)
    t.__dict__.update(d.__dict__)
    t.X, t.spk, t.cls, t.path = d.X[keep], d.spk[keep], d.cls[keep], d.path[keep]
    t.meta = [m for m, k in zip(d.meta, keep) if k]
    return t


def loco(make, K=2, first_turn=True, thr=0.5, verbose=False):
    out = {}
    for held in CORPORA:
        m = make().fit([data(c, ph) for c in CORPORA if c != held for ph in (False, True)])
        for ph in (False, True):
            r, ys = eval_set(m, data(held, ph), K, thr=thr)
            out[(held, ph)] = r
            out[(held, ph, "scores")] = ys
            if first_turn and not ph:
                out[(held, "first")], _ = eval_set(m, data(held, ph), K, first_turn=True, thr=thr)
        out[(held, "model")] = m
    return out


def loso_emodb(make, K=2, with_others=False):
    d16, d8 = data("emodb", False), data("emodb", True)
    others = [data(c, ph) for c in ("casia", "ravdess") for ph in (False, True)] if with_others else []
    res = {False: [], True: [], "first": []}
    for s in d16.speakers():
        m = make().fit([subset(d16, d16.spk != s), subset(d8, d8.spk != s)] + others)
        for key, d, ft in ((False, d16, False), (True, d8, False), ("first", d16, True)):
            y, sc, c, _ = score_speakers(m, d, K, [s], first_turn=ft)
            k = (c == "angry") | (c == "neutral")
            res[key].append((y[k], sc[k]))
    return {k: metrics(np.concatenate([a for a, b in v]), np.concatenate([b for a, b in v])) for k, v in res.items()}


def show(name, out, loso=None):
    cells = []
    for held in CORPORA:
        a, b = out[(held, False)], out[(held, True)]
        cells.append(f"{held[:5]} {100*a['bacc']:4.1f}/{100*a['fpr']:3.1f} {100*b['bacc']:4.1f}/{100*b['fpr']:3.1f} ft {100*out[(held,'first')]['bacc']:4.1f}/{100*out[(held,'first')]['fpr']:3.1f}")
    line = f"{name:34s} " + " | ".join(cells)
    if loso:
        line += f" | LOSO {100*loso[False]['bacc']:4.1f}/{100*loso[False]['fpr']:3.1f} {100*loso[True]['bacc']:4.1f}"
    print(line, flush=True)
