"""Per-utterance statistics from the 10 ms frames: the 21 of src/prosody/stats.rs (replica, same
names and order) and candidate extras. `table(corpus, phone)` returns a cached pandas-free table:
(meta list, names, matrix)."""
import os
import pickle

import numpy as np
from scipy.fft import dct

from common import CACHE, load_cache

HOP_S = 0.01
ACTIVE_RANGE_DB = 30.0
PAUSE_MIN = 15
MIN_VOICED = 20

REPLICA = ["f0_mean_st", "f0_std_st", "f0_p10_st", "f0_p90_st", "f0_range_st", "f0_slope_st_s", "jitter_st",
           "loudness_mean_db", "loudness_std_db", "loudness_range_db", "loudness_slope_db_s", "shimmer_db",
           "centroid_mean_hz", "centroid_std_hz", "alpha_mean_db", "alpha_std_db", "flux_mean", "voiced_fraction",
           "syllable_rate_hz", "pause_fraction", "periodicity_mean"]


def pct(s, p):
    if len(s) == 0:
        return 0.0
    return s[min(int(round((len(s) - 1) * p)), len(s) - 1)]


def semis(hz):
    return 12 * np.log2(hz / 100.0)


def slope(t, y):
    if len(t) < 2:
        return 0.0
    mt, my = t.mean(), y.mean()
    den = ((t - mt) ** 2).sum()
    return float(((t - mt) * (y - my)).sum() / den) if den > 1e-9 else 0.0


def syllables(e, voiced, gate):
    n = len(e)
    em = np.maximum(e, gate)
    env = np.array([em[max(i - 2, 0):min(i + 3, n)].mean() for i in range(n)])
    peaks, last = 0, None
    for i in range(1, n - 1):
        if not (env[i] >= env[i - 1] and env[i] > env[i + 1] and voiced[i]):
            continue
        left = env[max(i - 15, 0):i].min()
        right = env[i + 1:min(i + 16, n)].min()
        if env[i] - left >= 3 and env[i] - right >= 3 and (last is None or i - last >= 8):
            peaks += 1
            last = i
    return peaks


def utterance(fr):
    """dict name -> value, or None with too little voiced speech."""
    e = fr["energy_db"].astype(np.float64)
    gate = pct(np.sort(e), 0.95) - ACTIVE_RANGE_DB
    act = np.nonzero(e > gate)[0]
    if len(act) == 0:
        return None
    first, last = act[0], act[-1]
    sl = slice(first, last + 1)
    E = e[sl]
    F0 = fr["f0"][sl].astype(np.float64)
    a_mask = E > gate
    v_mask = (F0 > 0) & a_mask
    st_all = np.where(F0 > 0, semis(np.maximum(F0, 1e-3)), 0)
    med = pct(np.sort(st_all[v_mask]), 0.5)
    v_mask = v_mask & (np.abs(st_all - med) < 9.0)
    vi = np.nonzero(v_mask)[0]
    if len(vi) < MIN_VOICED:
        return None
    st = st_all[vi]
    t = vi * HOP_S
    sts = np.sort(st)
    cons = np.diff(vi) == 1
    jit = np.abs(np.diff(st))[cons]
    shim = np.abs(np.diff(E[vi]))[cons]
    pairs = max(cons.sum(), 1)
    db = E[a_mask]
    db_t = np.nonzero(a_mask)[0] * HOP_S
    dbs = np.sort(db)
    g = lambda k: fr[k][sl].astype(np.float64)
    cen, alp, flx, per = g("centroid"), g("alpha"), g("flux"), g("periodicity")
    # pauses
    paused, run = 0, 0
    for a in a_mask:
        if a:
            if run >= PAUSE_MIN:
                paused += run
            run = 0
        else:
            run += 1
    span_s = len(E) * HOP_S
    out = dict(zip(REPLICA, [
        st.mean(), st.std(), pct(sts, 0.1), pct(sts, 0.9), pct(sts, 0.9) - pct(sts, 0.1), slope(t, st),
        jit.sum() / pairs, db.mean(), db.std(), pct(dbs, 0.9) - pct(dbs, 0.1), slope(db_t, db), shim.sum() / pairs,
        cen[a_mask].mean(), cen[a_mask].std(), alp[a_mask].mean(), alp[a_mask].std(), flx[a_mask].mean(),
        len(vi) / max(a_mask.sum(), 1), syllables(E, F0 > 0, gate) / max(span_s, 0.1), paused / len(E), per[vi].mean()]))
    # ---- extras ----
    V = vi
    out["f0_p50_st"] = pct(sts, 0.5)
    out["f0_p25_st"] = pct(sts, 0.25)
    out["f0_p75_st"] = pct(sts, 0.75)
    out["f0_iqr_st"] = pct(sts, 0.75) - pct(sts, 0.25)
    out["f0_median_abs_delta_st"] = float(np.median(jit)) if len(jit) else 0.0
    out["f0_vel_st_s"] = float(np.abs(np.diff(st))[cons].mean() / HOP_S) if cons.any() else 0.0
    ev = E[V]
    evs = np.sort(ev)
    out["loud_voiced_mean_db"] = ev.mean()
    out["loud_p90_db"] = pct(dbs, 0.9)
    out["loud_p50_db"] = pct(dbs, 0.5)
    out["loud_peak_minus_mean_db"] = pct(dbs, 0.95) - db.mean()
    # power-mean (energy-weighted) level of active frames
    out["loud_power_db"] = 10 * np.log10(np.mean(10 ** (db / 10)))
    out["loud_voiced_std_db"] = ev.std()
    for k in ("slope", "hammarberg", "b1", "b2", "b3", "flatness", "cpp", "centroid", "alpha"):
        x = g(k)
        out[k + "_v"] = x[V].mean()
    out["slope_a"] = g("slope")[a_mask].mean()
    out["cpp_a"] = g("cpp")[a_mask].mean()
    d = np.clip(g("dmin")[V], 1e-3, 0.999)
    out["hnr_db"] = float(np.mean(10 * np.log10((1 - d) / d)))
    out["dmin_v"] = float(d.mean())
    out["flux_v"] = g("flux")[V].mean()  # frames.rs flux, over the voiced frames of the pitch statistics
    out["flux_v_raw"] = g("flux_raw")[V].mean()
    out["flux_a"] = g("flux_raw")[a_mask].mean()
    # LTAS over voiced frames (energy-weighted)
    pw = 10 ** (E[V] / 10)
    bands = np.stack([10 ** (g(k)[V] / 10) for k in ("b1", "b2", "b3")], 1) * pw[:, None]
    L = bands.sum(0) + 1e-20
    out["ltas_b2_b1_db"] = 10 * np.log10(L[1] / L[0])
    out["ltas_b3_b1_db"] = 10 * np.log10(L[2] / L[0])
    out["ltas_hi_lo_db"] = 10 * np.log10((L[1] + L[2]) / L[0])
    lm = fr["logmel"][sl].astype(np.float64)
    mf = dct(lm[V], type=2, norm="ortho", axis=1)[:, 1:13]
    for k in range(12):
        out[f"mfcc{k + 1}_v"] = mf[:, k].mean()
    mfa = dct(lm[a_mask], type=2, norm="ortho", axis=1)[:, 1:13]
    for k in range(4):
        out[f"mfcc{k + 1}_std_a"] = mfa[:, k].std()
    ltas = np.log10((10 ** lm[V]).sum(0) + 1e-20)
    lc = dct(ltas, type=2, norm="ortho")
    for k in range(1, 5):
        out[f"ltas_c{k}"] = lc[k]
    out["delta_mfcc_a"] = float(np.abs(np.diff(mfa, axis=0)).mean()) if len(mfa) > 1 else 0.0
    # cepstral change between active frames lag frames apart (both active), coefficients lo..hi-1
    call = dct(lm, type=2, norm="ortho", axis=1)

    analysed = E >= -70.0  # frames.rs analyses no spectrum below -70 dBFS

    def dm(lo, hi, lag=1, mask=a_mask):
        mask = mask & analysed
        idx = np.nonzero(mask)[0]
        idx = idx[idx >= lag]
        idx = idx[mask[idx - lag]]
        if len(idx) < 3:
            return 0.0
        return float(np.abs(call[idx, lo:hi] - call[idx - lag, lo:hi]).mean())
    out["dm_1_13"] = dm(1, 13)
    out["dm_1_13_lag2"] = dm(1, 13, 2)
    out["dm_7_13"] = dm(7, 13)
    out["dm_7_13_lag2"] = dm(7, 13, 2)
    out["dm_1_7"] = dm(1, 7)
    out["dm_7_20"] = dm(7, 20)
    out["dm_13_20"] = dm(13, 20)
    out["dm_7_13_v"] = dm(7, 13, 1, v_mask)
    out["cstd_1_13"] = float(call[a_mask, 1:13].std(0).mean())
    out["cstd_7_13"] = float(call[a_mask, 7:13].std(0).mean())
    out["n_voiced"] = len(vi)
    out["span_s"] = span_s
    # peak-to-rms of the whole utterance span: a gain-free loudness cue (dB)
    out["crest_db"] = pct(dbs, 1.0) - db.mean()
    return out


def table(corpus, phone):
    path = os.path.join(CACHE, f"stats_{corpus}_{'8k' if phone else '16k'}.pkl")
    if os.path.exists(path):
        with open(path, "rb") as f:
            return pickle.load(f)
    rows = load_cache(corpus, phone)
    meta, vals = [], []
    names = None
    for p, s, c, fr in rows:
        u = utterance(fr)
        if u is None:
            continue
        if names is None:
            names = list(u.keys())
        meta.append(dict(path=p, speaker=s, cls=c, corpus=corpus))
        vals.append([u[n] for n in names])
    res = (meta, names, np.array(vals, dtype=np.float64))
    with open(path, "wb") as f:
        pickle.dump(res, f)
    return res


if __name__ == "__main__":
    for c in ("emodb", "casia", "ravdess"):
        for ph in (False, True):
            m, n, X = table(c, ph)
            print(c, ph, X.shape, "dropped", {"emodb": 535, "casia": 600, "ravdess": 240}[c] - len(m))
