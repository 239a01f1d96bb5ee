"""Robustness check: the held-out corpus with a constant white-noise floor per speaker, 20 dB below
the speech level of the speaker's calm utterances (speech level: mean power of the 20 ms frames
within 30 dB of the clip's loudest), the same for all of a speaker's utterances (baseline turns
too), as a line's noise would be. Models are trained on clean + 8 kHz copies as before."""
import os
import pickle

import numpy as np

from common import CACHE, corpus_clips, frame_features, load16k, telephone_band
from evalkit import CORPORA, Data, data, _cache
from final_eval import recommended
from robust import first_k
from shipped import Shipped
import stats

SNR = 20.0


def speech_power(x):
    fr = np.lib.stride_tricks.sliding_window_view(x, 320)[::160]
    p = (fr.astype(np.float64) ** 2).mean(1)
    db = 10 * np.log10(p + 1e-12)
    return p[db > db.max() - 30].mean()


def extract(corpus):
    path = os.path.join(CACHE, f"{corpus}_noise{int(SNR)}.pkl")
    if not os.path.exists(path):
        rng = np.random.default_rng(0)
        clips = corpus_clips(corpus)
        level = {}
        for p, s, c in clips:
            if c == "neutral":
                level.setdefault(s, []).append(speech_power(load16k(p)))
        rows = []
        for p, s, c in clips:
            x = load16k(p)
            x = (x + rng.standard_normal(len(x)) * np.sqrt(np.mean(level[s]) / 10 ** (SNR / 10))).astype(np.float32)
            rows.append((p, s, c, frame_features(telephone_band(x))))
        with open(path, "wb") as f:
            pickle.dump(rows, f)
    spath = os.path.join(CACHE, f"stats_{corpus}_noise{int(SNR)}.pkl")
    if not os.path.exists(spath):
        with open(path, "rb") as f:
            rows = pickle.load(f)
        meta, vals, names = [], [], None
        for p, s, c, fr in rows:
            u = stats.utterance(fr)
            if u is None:
                continue
            names = names or list(u)
            meta.append(dict(path=p, speaker=s, cls=c, corpus=corpus))
            vals.append([u[n] for n in names])
        with open(spath, "wb") as f:
            pickle.dump((meta, names, np.array(vals)), f)
    with open(spath, "rb") as f:
        meta, names, X = pickle.load(f)
    d = Data.__new__(Data)
    d.meta, d.names, d.X, d.corpus, d.phone = meta, names, X, corpus, None
    d.spk = np.array([m["speaker"] for m in meta]); d.cls = np.array([m["cls"] for m in meta])
    d.path = np.array([m["path"] for m in meta]); d.col = {n: i for i, n in enumerate(names)}
    return d


if __name__ == "__main__":
    print(f"| model | held out | clean 16k (first 2): bacc / flagged / recall | white noise {SNR:.0f} dB SNR |")
    print("|---|---|---|---|")
    for name, mk in (("shipped (replica)", Shipped), ("recommended", recommended)):
        for held in CORPORA:
            dn = extract(held)
            m = mk().fit([data(c, ph) for c in CORPORA if c != held for ph in (False, True)])
            a, b = first_k(m, data(held, False), 2), first_k(m, dn, 2)
            print(f"| {name} | {held} | {100*a['bacc']:.1f} / {100*a['fpr']:.1f} / {100*a['tpr']:.1f} | {100*b['bacc']:.1f} / {100*b['fpr']:.1f} / {100*b['tpr']:.1f} |", flush=True)
