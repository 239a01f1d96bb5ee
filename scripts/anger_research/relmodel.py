"""The candidate model: a few utterance statistics taken relative to the caller's baseline (the
mean of their first K calm turns), scaled by the training speakers' within-speaker calm spread,
a binary logistic regression (anger against calm), a threshold set on the training side and a
Platt slope so that the score's 0.5 is the threshold. A first-turn head reads the same kind of
statistics against the population's calm mean."""
import numpy as np
from sklearn.linear_model import LogisticRegression


def sig(x):
    return 1 / (1 + np.exp(-np.clip(x, -50, 50)))


class RelModel:
    def __init__(self, feats, k_train=(1, 2, 3), draws=3, neg=("neutral",), C=1.0, max_fpr=0.02,
                 thr_mode="insample", znorm=False, shrink=0.0, seed=0, first_feats=None, clipz=6.0,
                 speaker_sd=False, onesided=(), cap=None,
                 spkvar=None, spkvar_prior=0.0, spkvar_floor=1.0, loud_dropout=None,
                 deadzone=None, shrink_feats=None, ref="mean", first_max_fpr=None):
        self.feats, self.k_train, self.draws, self.neg, self.C = feats, k_train, draws, neg, C
        self.max_fpr, self.thr_mode, self.znorm, self.shrink, self.seed = max_fpr, thr_mode, znorm, shrink, seed
        self.first_feats = first_feats or feats
        self.clipz = clipz
        self.onesided = set(onesided)
        self.spkvar, self.spkvar_prior, self.spkvar_floor = spkvar, spkvar_prior, spkvar_floor
        self.loud_dropout = loud_dropout
        self.deadzone = deadzone or {}
        self.shrink_feats = shrink_feats
        self.ref = ref
        self.first_max_fpr = max_fpr if first_max_fpr is None else first_max_fpr
        self.cap = cap

    # --- relative features ---
    def rel(self, X, B, feats):
        x = X[:, feats]
        if B is None:
            ref = self.prior[feats]
        else:
            b = B[:, feats]
            sh = np.array([self.shrink if (self.shrink_feats is None or f in self.shrink_feats) else 0.0 for f in feats])
            centre = np.median(b, 0) if self.ref == "median" else b.mean(0)
            ref = (centre * len(b) + sh * self.prior[feats]) / (len(b) + sh)
        z = (x - ref) / self.scale[feats]
        if self.spkvar is not None and B is not None:
            z = z / self.spread(B)
        z = np.clip(z, -self.clipz, self.clipz)
        for j, f in enumerate(feats):
            if f in self.onesided:
                z[:, j] = np.maximum(z[:, j] - self.deadzone.get(f, 0.0), 0.0)
                if self.cap is not None:
                    z[:, j] = np.minimum(z[:, j], self.cap)
        return z

    def spread(self, B):
        """How much more this speaker's calm turns vary than the training speakers' (>= floor)."""
        if len(B) < 2:
            return 1.0
        v = B[:, self.spkvar].var(0, ddof=1) / self.scale[self.spkvar] ** 2
        n = len(self.spkvar) * (len(B) - 1)
        v2 = (self.spkvar_prior + v.sum() * (len(B) - 1)) / (self.spkvar_prior + n)
        return max(self.spkvar_floor, float(np.sqrt(v2)))

    def _examples(self, datasets, rng, first):
        xs, ys, gs, sp = [], [], [], []
        feats = self.first_feats if first else self.feats
        for d in datasets:
            for s in d.speakers():
                mine = np.nonzero((d.spk == s) & np.isin(d.cls, ("angry",) + tuple(self.neg)))[0]
                calm = np.nonzero((d.spk == s) & (d.cls == "neutral"))[0]
                for i in mine:
                    pool = calm[calm != i]
                    if first:
                        xs.append(self.rel(d.X[i:i + 1], None, feats)[0]); ys.append(d.cls[i] == "angry")
                        gs.append((d.corpus, d.cls[i] == "angry")); sp.append(d.corpus + s)
                        continue
                    for _ in range(self.draws):
                        k = rng.choice(self.k_train)
                        if len(pool) < k:
                            continue
                        B = d.X[rng.choice(pool, k, replace=False)]
                        xs.append(self.rel(d.X[i:i + 1], B, feats)[0]); ys.append(d.cls[i] == "angry")
                        gs.append((d.corpus, d.cls[i] == "angry")); sp.append(d.corpus + s)
                        if self.loud_dropout is not None and self.loud_dropout in feats:
                            x = xs[-1].copy()
                            x[feats.index(self.loud_dropout)] = 0.0
                            xs.append(x); ys.append(ys[-1]); gs.append(gs[-1]); sp.append(sp[-1])
        return np.array(xs), np.array(ys), gs, np.array(sp)

    def _fit_lr(self, X, y, gs):
        cnt = {}
        for g in gs:
            cnt[g] = cnt.get(g, 0) + 1
        w = np.array([len(gs) / (len(cnt) * cnt[g]) for g in gs])
        lr = LogisticRegression(C=self.C, max_iter=2000)
        lr.fit(X, y, sample_weight=w)
        return lr

    def _head(self, datasets, first):
        rng = np.random.default_rng(self.seed)
        X, y, gs, sp = self._examples(datasets, rng, first)
        lr = self._fit_lr(X, y, gs)
        if self.thr_mode == "insample":
            s = lr.decision_function(X)
        else:  # leave-one-corpus-out inside the training side, else by speaker groups
            s = np.zeros(len(y))
            corp = np.array([g[0] for g in gs])
            groups = corp if len(set(corp)) > 1 and self.thr_mode == "inner_corpus" else sp
            for g in np.unique(groups):
                m = groups == g
                l2 = self._fit_lr(X[~m], y[~m], [gg for gg, mm in zip(gs, m) if not mm])
                s[m] = l2.decision_function(X[m])
        # threshold: best balanced accuracy flagging <= max_fpr of calm, each corpus weighing the same
        corp = np.array([g[0] for g in gs])
        cands = np.quantile(s, np.linspace(0.01, 0.99, 197))
        best, thr = -1, 0.0
        for t in cands:
            fprs = [(s[(corp == c) & ~y] >= t).mean() for c in np.unique(corp)]
            tprs = [(s[(corp == c) & y] >= t).mean() for c in np.unique(corp)]
            fpr, tpr = np.mean(fprs), np.mean(tprs)
            if fpr <= (self.first_max_fpr if first else self.max_fpr) and (tpr + 1 - fpr) / 2 > best:
                best, thr = (tpr + 1 - fpr) / 2, t
        m = s - thr
        na, nc = y.sum(), (~y).sum()
        grid = np.arange(1, 201) * 0.05
        def ll(a):
            q = np.clip(sig(a * m), 1e-6, 1 - 1e-6)
            return np.log(q[y]).sum() / na + np.log(1 - q[~y]).sum() / nc
        slope = grid[np.argmax([ll(a) for a in grid])]
        return dict(lr=lr, thr=thr, slope=slope)

    def fit(self, datasets):
        allf = sorted(set(self.feats) | set(self.first_feats))
        # prior: mean calm speaker; scale: within-speaker spread of calm utterances
        means, devs = [], []
        for d in datasets:
            for s in d.speakers():
                m = (d.spk == s) & (d.cls == "neutral")
                mu = d.X[m].mean(0)
                means.append(mu)
                devs.append(d.X[m] - mu)
        self.prior = np.mean(means, 0)
        self.scale = np.maximum(np.concatenate(devs).std(0), 1e-6)
        self.warm = self._head(datasets, False)
        self.cold = self._head(datasets, True)
        return self

    def raw(self, X, B):
        if B is None or len(B) == 0:
            h, z = self.cold, self.rel(X, None, self.first_feats)
        else:
            h, z = self.warm, self.rel(X, B, self.feats)
        return h["lr"].decision_function(z) - h["thr"], h

    def score(self, d, X, B):
        m, h = self.raw(X, B)
        return sig(h["slope"] * m)
