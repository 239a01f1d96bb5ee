"""A numpy replica of the shipped anger model (src/prosody/model.rs, train.rs): four-class
logistic regression over USED statistics against the caller's baseline (shrunk towards the
population prior with weight 1), a first-turn head, threshold flagging <= 2% of training calm,
Platt slope."""
import numpy as np

from stats import REPLICA

CLS4 = ["angry", "neutral", "happy", "sad"]
USED = [0, 2, 3, 11]
USED_FIRST = [0, 2, 3, 11, 12, 14, 16]
GAIN_DEP = [7]
NF = len(REPLICA)


def softmax(Z):
    Z = Z - Z.max(1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(1, keepdims=True)


def logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def sig(x):
    return 1 / (1 + np.exp(-x))


class Head:
    def fit(self, xs, ys, groups, scored, max_fpr=0.02):
        c = len(CLS4)
        cells = {}
        for g, y in zip(groups, ys):
            cells[(g, y)] = cells.get((g, y), 0) + 1
        wt = np.array([len(xs) / (len(cells) * cells[(g, y)]) for g, y in zip(groups, ys)])
        Y = np.eye(c)[ys]
        W = np.zeros((c, xs.shape[1]))
        b = np.zeros(c)
        n = len(xs)
        for _ in range(1500):
            P = softmax(xs @ W.T + b)
            G = wt[:, None] * (P - Y)
            b -= 0.3 * G.sum(0) / n
            W -= 0.3 * (G.T @ xs / n + 0.05 * W)
        self.W, self.b = W, b
        m = scored & ((ys == 0) | (ys == 1))
        p = softmax(xs[m] @ W.T + b)[:, 0]
        a = ys[m] == 0
        best, thr = -1, 0.5
        for step in range(5, 96):
            t = step / 100
            tpr = (p[a] >= t).mean()
            fpr = (p[~a] >= t).mean()
            bacc = (tpr + 1 - fpr) / 2
            if fpr <= max_fpr and bacc > best:
                best, thr = bacc, t
        self.thr = thr
        marg = logit(p) - logit(thr)
        na, nc = a.sum(), (~a).sum()

        def ll(s):
            q = np.clip(sig(s * marg), 1e-6, 1 - 1e-6)
            return (np.log(q[a]).sum() / na) + (np.log(1 - q[~a]).sum() / nc)
        grid = np.arange(1, 201) * 0.05
        self.slope = grid[np.argmax([ll(s) for s in grid])]
        return self

    def score(self, z):
        p = softmax(z @ self.W.T + self.b)[:, 0]
        return sig(self.slope * (logit(p) - logit(self.thr)))


class Shipped:
    def __init__(self, train_turns=3, max_fpr=0.02, used=USED, used_first=USED_FIRST, seed=11):
        self.train_turns, self.max_fpr, self.used, self.used_first = train_turns, max_fpr, used, used_first
        self.rng = np.random.default_rng(seed)

    def norm(self, X, used, B):
        z = np.zeros((len(X), NF))
        for i in used:
            if B is None and i in GAIN_DEP:
                continue
            ref = self.prior[i] if B is None else (B[:, i].sum() + self.prior[i]) / (len(B) + 1)
            z[:, i] = np.clip((X[:, i] - ref) / max(self.scale[i], 1e-6), -6, 6)
        return z

    def fit(self, datasets):
        """datasets: Data objects (clean and phone copies of the training corpora)."""
        Xs, ys, spk, grp = [], [], [], []
        for d in datasets:
            keep = np.isin(d.cls, CLS4)
            Xs.append(d.X[keep][:, :NF])
            ys.append(np.array([CLS4.index(c) for c in d.cls[keep]]))
            spk.append(d.spk[keep])
            grp.append(np.array([d.corpus] * keep.sum()))
        X, y, spk, grp = np.concatenate(Xs), np.concatenate(ys), np.concatenate(spk), np.concatenate(grp)
        speakers = list(dict.fromkeys(spk))
        means = {}
        for s in speakers:
            m = (spk == s) & (y == 1)
            means[s] = X[m].mean(0) if m.any() else np.zeros(NF)
        self.prior = np.mean([means[s] for s in speakers], 0)
        dev = X - np.array([means[s] for s in spk])
        self.scale = np.maximum(np.sqrt((dev ** 2).mean(0)), 1e-3)
        wx, wy, wg, ws, cx = [], [], [], [], []
        for i in range(len(X)):
            wx.append(self.norm(X[i:i + 1], self.used, None)[0]); wy.append(y[i]); wg.append(grp[i]); ws.append(False)
            cx.append(self.norm(X[i:i + 1], self.used_first, None)[0])
            pool = np.nonzero((spk == spk[i]) & (y == 1))[0]
            pool = pool[pool != i]
            for _ in range(2):
                if len(pool) == 0:
                    break
                n = 1 + self.rng.integers(self.train_turns)
                B = X[pool[self.rng.integers(len(pool), size=n)]]
                wx.append(self.norm(X[i:i + 1], self.used, B)[0]); wy.append(y[i]); wg.append(grp[i]); ws.append(True)
        self.warm = Head().fit(np.array(wx), np.array(wy), np.array(wg), np.array(ws), self.max_fpr)
        self.cold = Head().fit(np.array(cx), y, grp, np.ones(len(y), bool), self.max_fpr)
        return self

    def score(self, d, X, B):
        X = X[:, :NF]
        if B is None or len(B) == 0:
            return self.cold.score(self.norm(X, self.used_first, None))
        return self.warm.score(self.norm(X, self.used, B[:, :NF]))
