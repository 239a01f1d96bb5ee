"""Evaluation protocol shared by the experiments.

Data: per corpus and condition (16 kHz clean / 8 kHz mu-law line), the utterance statistics of
stats.py. A speaker's baseline is their first K calm utterances in path order (as a call's first
calm turns, and as `voicegate bench anger` takes them); those are not scored. Scores are
calibrated so that 0.5 is the decision threshold. Metrics are anger-vs-calm balanced accuracy and
calm flagged (false-positive rate on calm)."""
import numpy as np

from stats import table

CORPORA = ["emodb", "casia", "ravdess"]


class Data:
    def __init__(self, corpus, phone):
        self.meta, self.names, self.X = table(corpus, phone)
        self.corpus = corpus
        self.phone = phone
        self.spk = np.array([m["speaker"] for m in self.meta])
        self.cls = np.array([m["cls"] for m in self.meta])
        self.path = np.array([m["path"] for m in self.meta])
        self.col = {n: i for i, n in enumerate(self.names)}

    def speakers(self):
        return list(dict.fromkeys(self.spk))


_cache = {}


def data(corpus, phone):
    k = (corpus, phone)
    if k not in _cache:
        _cache[k] = Data(corpus, phone)
    return _cache[k]


def first_calm(d, speaker, k):
    idx = np.nonzero((d.spk == speaker) & (d.cls == "neutral"))[0]
    return idx[:k]


def metrics(y_angry, score, thr=0.5):
    """y_angry: bool array (True anger, False calm); returns bacc, tpr, fpr, n."""
    y = np.asarray(y_angry, bool)
    s = np.asarray(score)
    tpr = (s[y] >= thr).mean() if y.any() else np.nan
    fpr = (s[~y] >= thr).mean() if (~y).any() else np.nan
    return dict(bacc=(tpr + 1 - fpr) / 2, tpr=tpr, fpr=fpr, n_angry=int(y.sum()), n_calm=int((~y).sum()))


def score_speakers(model, d, k, speakers=None, first_turn=False):
    """Scores every angry and calm utterance of the speakers (baseline: first k calm, unscored).
    Returns (is_angry, score, cls, speaker) arrays over angry/calm/happy/sad utterances."""
    ys, ss, cs, sp = [], [], [], []
    for s in speakers or d.speakers():
        base = first_calm(d, s, k) if not first_turn else np.array([], int)
        mine = np.nonzero(d.spk == s)[0]
        mine = np.setdiff1d(mine, base)
        B = d.X[base] if len(base) else None
        sc = model.score(d, d.X[mine], B)
        ys.append(d.cls[mine] == "angry")
        ss.append(sc)
        cs.append(d.cls[mine])
        sp.append(d.spk[mine])
    return np.concatenate(ys), np.concatenate(ss), np.concatenate(cs), np.concatenate(sp)


def eval_set(model, d, k, speakers=None, first_turn=False, thr=0.5):
    y, s, c, _ = score_speakers(model, d, k, speakers, first_turn)
    keep = (c == "angry") | (c == "neutral")
    return metrics(y[keep], s[keep], thr), (y[keep], s[keep])


def fmt(m):
    return f"bacc {100 * m['bacc']:5.1f}  calm flagged {100 * m['fpr']:4.1f}%  anger recall {100 * m['tpr']:5.1f}%"
