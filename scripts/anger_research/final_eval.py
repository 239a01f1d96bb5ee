"""All figures for REPORT.md: the shipped recipe (replica) against the recommended design, leave-
one-corpus-out (16 kHz and 8 kHz G.711 mu-law), first turn, EmoDB leave-one-speaker-out, baseline
as the first K calm turns and as K random ones, the trade-off curve, and the final model fitted
on all three corpora (written to var/anger_research/recommended_model.json)."""
import json
import sys

import numpy as np

from evalkit import CORPORA, data, metrics, score_speakers
from loco import subset
from relmodel import RelModel
from robust import first_k, score_random
from shipped import Shipped

col = data("emodb", False).col
C = lambda *n: [col[x] for x in n]
L = col["loud_power_db"]
WARM = ["f0_mean_st", "dm_7_13", "flux_v", "loud_power_db"]
FIRST = ["dm_7_13", "flux_v", "b1_v"]


def recommended(seed=0):
    return RelModel(feats=C(*WARM), onesided=[L], loud_dropout=L, ref="median", max_fpr=0.04,
                    first_feats=C(*FIRST), first_max_fpr=0.02, seed=seed)


def gain_free(seed=0):
    return RelModel(feats=C("f0_mean_st", "dm_7_13", "b1_v"), ref="median", max_fpr=0.04, first_feats=C(*FIRST),
                    first_max_fpr=0.02, seed=seed)


def recommended_5pct(seed=0):
    return RelModel(feats=C(*WARM), onesided=[L], loud_dropout=L, ref="median", max_fpr=0.05,
                    first_feats=C(*FIRST), first_max_fpr=0.02, seed=seed)


MODELS = {"shipped (replica)": lambda: Shipped(), "recommended": recommended,
          "recommended, threshold at 5% of training calm": recommended_5pct, "gain-free variant": gain_free}
OUT = []


def p(s=""):
    print(s, flush=True)
    OUT.append(s)


def pct(x):
    return f"{100 * x:.1f}"


def loco_table(ks=(1, 2, 3)):
    p("## Leave-one-corpus-out (train on the other two corpora, clean + 8 kHz copies)\n")
    p("bacc = anger/calm balanced accuracy at score 0.5; flagged = calm utterances scored angry; recall = anger recall. "
      "'first K' = the speaker's first K calm utterances (path order) are the baseline; 'random K' = mean over 20 draws of K random calm utterances as the baseline.\n")
    p("| model | K | held out | 16k first K: bacc / flagged / recall | 8k first K | 16k random K: bacc / flagged | 8k random K | first turn 16k: bacc / flagged | first turn 8k |")
    p("|---|---|---|---|---|---|---|---|---|")
    curves = {}
    for name, mk in MODELS.items():
        for held in CORPORA:
            m = mk().fit([data(c, ph) for c in CORPORA if c != held for ph in (False, True)])
            for k in ks:
                cells = []
                for ph in (False, True):
                    r = first_k(m, data(held, ph), k)
                    cells.append(f"{pct(r['bacc'])} / {pct(r['fpr'])} / {pct(r['tpr'])}")
                for ph in (False, True):
                    rr = score_random(m, data(held, ph), k, 20, np.random.default_rng(1))
                    cells.append(f"{pct(np.mean([x['bacc'] for x in rr]))} / {pct(np.mean([x['fpr'] for x in rr]))}")
                for ph in (False, True):
                    y, s, c, _ = score_speakers(m, data(held, ph), 0, first_turn=True)
                    keep = np.isin(c, ["angry", "neutral"])
                    r = metrics(y[keep], s[keep])
                    cells.append(f"{pct(r['bacc'])} / {pct(r['fpr'])}")
                p(f"| {name} | {k} | {held} | " + " | ".join(cells) + " |")
            if name == "recommended":
                curves[held] = m
    return curves


def curve_table(models, k=2):
    p(f"\n## Trade-off, recommended model, leave-one-corpus-out, first {k} calm turns as baseline\n")
    p("anger recall / calm flagged (%) at each score threshold (0.5 is the model's own).\n")
    ts = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    p("| held out | line | " + " | ".join(f"t={t}" for t in ts) + " |")
    p("|---|---|" + "---|" * len(ts))
    for held, m in models.items():
        for ph in (False, True):
            d = data(held, ph)
            y, s, c, _ = score_speakers(m, d, k)
            keep = np.isin(c, ["angry", "neutral"])
            cells = []
            for t in ts:
                r = metrics(y[keep], s[keep], t)
                cells.append(f"{pct(r['tpr'])} / {pct(r['fpr'])}")
            p(f"| {held} | {'8k' if ph else '16k'} | " + " | ".join(cells) + " |")
    p("\nFirst turn (no baseline), same models:\n")
    p("| held out | line | " + " | ".join(f"t={t}" for t in ts) + " |")
    p("|---|---|" + "---|" * len(ts))
    for held, m in models.items():
        for ph in (False,):
            y, s, c, _ = score_speakers(m, data(held, ph), 0, first_turn=True)
            keep = np.isin(c, ["angry", "neutral"])
            p(f"| {held} | 16k | " + " | ".join(f"{pct(metrics(y[keep], s[keep], t)['tpr'])} / {pct(metrics(y[keep], s[keep], t)['fpr'])}" for t in ts) + " |")
    p("\nOther emotions flagged as angry (recommended, leave-one-corpus-out, 16 kHz, first 2 calm turns as baseline):\n")
    for held, m in models.items():
        y, s, c, _ = score_speakers(m, data(held, False), k)
        parts = [f"{e} {pct((s[c == e] >= 0.5).mean())}% of {int((c == e).sum())}" for e in ("happy", "sad") if (c == e).any()]
        if parts:
            p(f"- {held}: " + ", ".join(parts))


def loso_table(ks=(2, 3)):
    p("\n## EmoDB leave-one-speaker-out (10 folds)\n")
    p("| model | training | K | 16k bacc / flagged / recall | 8k | first turn 16k |")
    p("|---|---|---|---|---|---|")
    d16, d8 = data("emodb", False), data("emodb", True)
    others = [data(c, ph) for c in ("casia", "ravdess") for ph in (False, True)]
    for name, mk in MODELS.items():
        for with_others in (False, True):
            res = {(k, key): [] for k in ks for key in ("16", "8", "ft")}
            for s in d16.speakers():
                m = mk().fit([subset(d16, d16.spk != s), subset(d8, d8.spk != s)] + (others if with_others else []))
                for k in ks:
                    for key, d, ft in (("16", d16, False), ("8", d8, False), ("ft", d16, True)):
                        y, sc, c, _ = score_speakers(m, d, k, [s], first_turn=ft)
                        kk = np.isin(c, ["angry", "neutral"])
                        res[(k, key)].append((y[kk], sc[kk]))
            for k in ks:
                r = {key: metrics(np.concatenate([a for a, b in res[(k, key)]]), np.concatenate([b for a, b in res[(k, key)]])) for key in ("16", "8", "ft")}
                p(f"| {name} | EmoDB{' + CASIA + RAVDESS' if with_others else ' only'} | {k} | "
                  + " | ".join(f"{pct(r[key]['bacc'])} / {pct(r[key]['fpr'])} / {pct(r[key]['tpr'])}" for key in ("16", "8", "ft")) + " |")


def seeds_table():
    p("\n## Training-seed spread (recommended, leave-one-corpus-out, first 2 calm turns, 5 seeds)\n")
    p("| held out | 16k bacc mean (min) | 16k flagged mean (max) | 8k bacc mean (min) | 8k flagged mean (max) |")
    p("|---|---|---|---|---|")
    for held in CORPORA:
        rs = {False: [], True: []}
        for seed in range(5):
            m = recommended(seed).fit([data(c, ph) for c in CORPORA if c != held for ph in (False, True)])
            for ph in (False, True):
                rs[ph].append(first_k(m, data(held, ph), 2))
        cells = []
        for ph in (False, True):
            b = [r["bacc"] for r in rs[ph]]; f = [r["fpr"] for r in rs[ph]]
            cells += [f"{pct(np.mean(b))} ({pct(min(b))})", f"{pct(np.mean(f))} ({pct(max(f))})"]
        p(f"| {held} | " + " | ".join(cells) + " |")


def final_model():
    m = recommended().fit([data(c, ph) for c in CORPORA for ph in (False, True)])
    out = dict(
        warm=dict(features=WARM, onesided=["loud_power_db"], reference="median of the baseline turns' values",
                  prior=[float(m.prior[j]) for j in C(*WARM)], scale=[float(m.scale[j]) for j in C(*WARM)],
                  weights=[float(w) for w in m.warm["lr"].coef_[0]], bias=float(m.warm["lr"].intercept_[0]),
                  threshold=float(m.warm["thr"]), slope=float(m.warm["slope"])),
        first_turn=dict(features=FIRST, prior=[float(m.prior[j]) for j in C(*FIRST)], scale=[float(m.scale[j]) for j in C(*FIRST)],
                        weights=[float(w) for w in m.cold["lr"].coef_[0]], bias=float(m.cold["lr"].intercept_[0]),
                        threshold=float(m.cold["thr"]), slope=float(m.cold["slope"])),
        clip_z=6.0, trained_on="EmoDB + CASIA + RAVDESS, clean and through 8 kHz G.711 mu-law")
    with open("var/anger_research/recommended_model.json", "w") as f:
        json.dump(out, f, indent=2)
    p("\n## Final model (all three corpora)\n")
    p("```json\n" + json.dumps(out, indent=2) + "\n```")


if __name__ == "__main__":
    parts = sys.argv[1:] or ["loco", "loso", "seeds", "final"]
    if "loco" in parts:
        curve_table(loco_table())
    if "loso" in parts:
        loso_table()
    if "seeds" in parts:
        seeds_table()
    if "final" in parts:
        final_model()
    with open(f"var/anger_research/figures_{'_'.join(parts)}.md", "w") as f:
        f.write("\n".join(OUT) + "\n")
