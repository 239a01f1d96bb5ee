"""Shared code for the anger research scripts: corpora, the telephone line, the telephone band
and 10 ms frame features (a numpy replica of src/prosody/{band,pitch,frames}.rs plus candidate
extra features), cached per clip.

Data caches live under var/anger_research/cache (not in the repository)."""
import glob
import os
import re

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly, lfilter

ROOT = os.environ.get("EMOTION_ROOT", "../shared/datasets/emotion")
CACHE = os.environ.get("ANGER_CACHE", "var/anger_research/cache")
RATE = 8000
HOP = 80
FFT = 256
YIN_WINDOW = 160
F0_MIN, F0_MAX = 60.0, 500.0
YIN_TH, VOICED_MAX = 0.15, 0.35
FLOOR_DB = -70.0

# classes: angry, neutral (calm), happy, sad, other
CLASSES = ["angry", "neutral", "happy", "sad"]


def corpus_clips(name):
    """[(path, speaker, class)] sorted by speaker and path, as src/prosody/corpus.rs does.
    class is one of CLASSES or 'other'. RAVDESS 'calm' counts as neutral (calm)."""
    out = []
    if name == "emodb":
        m = {"W": "angry", "N": "neutral", "F": "happy", "T": "sad"}
        for p in sorted(glob.glob(f"{ROOT}/emodb/*.flac")):
            s = os.path.basename(p)
            out.append((p, "emodb-" + s[:2], m.get(s[5], "other")))
    elif name == "casia":
        for p in sorted(glob.glob(f"{ROOT}/casia/*/*/*.flac")):
            spk, emo = p.split("/")[-3], p.split("/")[-2]
            out.append((p, "casia-" + spk, emo if emo in CLASSES else "other"))
    elif name == "ravdess":
        for p in sorted(glob.glob(f"{ROOT}/ravdess/*/*/*.flac")):
            spk, emo = p.split("/")[-3], p.split("/")[-2]
            out.append((p, "ravdess-" + spk, "neutral" if emo == "calm" else emo))
    out.sort(key=lambda c: (c[1], c[0]))
    return out


def load16k(path):
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    x = x[:, 0]
    if sr != 16000:
        g = np.gcd(sr, 16000)
        x = resample_poly(x, 16000 // g, sr // g).astype(np.float32)
    return x


# ---- G.711 mu-law (ITU-T G.191 style, as src/audio/g711.rs) ----
def _ulaw_tables():
    BIAS, CLIP = 0x84, 8159
    lin = np.arange(-32768, 32768, dtype=np.int32)
    v = lin >> 2
    neg = v < 0
    v = np.where(neg, -v, v)
    mask = np.where(neg, 0x7F, 0xFF)
    v = np.minimum(v, CLIP) + (BIAS >> 2)
    seg = np.full(v.shape, 8)
    for s in range(7, -1, -1):
        seg = np.where(v <= ((0x3F + 1) << s) - 1, s, seg)
    code = (seg << 4) | ((v >> (seg + 1)) & 0x0F)
    code = np.where(seg >= 8, 0x7F, code) ^ mask
    code = code.astype(np.uint8)
    u = (~np.arange(256, dtype=np.uint8)).astype(np.int32)
    t = (((u & 0x0F) << 3) + BIAS) << ((u & 0x70) >> 4)
    dec = np.where(u & 0x80, BIAS - t, t - BIAS).astype(np.float32) / 32768.0
    return code, dec


_ENC, _DEC = _ulaw_tables()


def ulaw_roundtrip(x):
    i = np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int32) + 32768
    return _DEC[_ENC[i]]


def telephone(x16):
    """16 kHz audio as it arrives from a phone call: 8 kHz, mu-law, back to 16 kHz."""
    n = resample_poly(x16, 1, 2)
    n = ulaw_roundtrip(n)
    return resample_poly(n, 2, 1).astype(np.float32)


# ---- telephone band (src/prosody/band.rs) ----
def _fir():
    taps, fc = 63, 3400.0 / 16000.0
    m = taps - 1
    i = np.arange(taps)
    x = i - m / 2
    sinc = np.where(x == 0, 2 * fc, np.sin(2 * np.pi * fc * x) / (np.pi * np.where(x == 0, 1, x)))
    bl = 0.42 - 0.5 * np.cos(2 * np.pi * i / m) + 0.08 * np.cos(4 * np.pi * i / m)
    h = sinc * bl
    return h / h.sum()


def _hp(f=300.0, rate=8000.0):
    w = 2 * np.pi * f / rate
    alpha = np.sin(w) / (2 * np.sqrt(0.5))
    c = np.cos(w)
    a0 = 1 + alpha
    b = np.array([(1 + c) / 2, -(1 + c), (1 + c) / 2]) / a0
    a = np.array([1.0, -2 * c / a0, (1 - alpha) / a0])
    return b, a


FIR = _fir()
HP_B, HP_A = _hp()


def telephone_band(x16):
    y = np.convolve(x16, FIR)[: len(x16)]
    y = y[1::2]  # samples n = 2, 4, ... (1-based) survive
    return lfilter(HP_B, HP_A, y).astype(np.float32)


# ---- frames (src/prosody/frames.rs + extras) ----
MIN_LAG = int(np.floor(RATE / F0_MAX))
MAX_LAG = int(np.ceil(RATE / F0_MIN))
NEEDED = YIN_WINDOW + MAX_LAG + 1
KEEP = max(NEEDED, FFT)
HANN = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FFT) / FFT)).astype(np.float32)
HZ = np.arange(FFT // 2 + 1) * RATE / FFT
BAND = (HZ >= 300) & (HZ <= 3400)


def _mel(f):
    return 2595 * np.log10(1 + f / 700.0)


def _mel_fb(n=20, lo=300.0, hi=3400.0):
    pts = 700 * (10 ** (np.linspace(_mel(lo), _mel(hi), n + 2) / 2595) - 1)
    fb = np.zeros((n, len(HZ)))
    for k in range(n):
        l, c, r = pts[k], pts[k + 1], pts[k + 2]
        fb[k] = np.clip(np.minimum((HZ - l) / (c - l), (r - HZ) / (r - c)), 0, None)
    return fb


MEL = _mel_fb()


def yin(win):
    """win: (n, NEEDED). Returns f0 (0 = unvoiced), periodicity, aperiodicity at best lag (d)."""
    n = win.shape[0]
    w = YIN_WINDOW
    d = np.ones((n, MAX_LAG + 2), dtype=np.float64)
    x0 = win[:, :w].astype(np.float64)
    running = np.zeros(n)
    for tau in range(1, MAX_LAG + 2):
        s = ((x0 - win[:, tau:tau + w]) ** 2).sum(1)
        running += s
        d[:, tau] = np.where(running > 0, s * tau / np.where(running > 0, running, 1), 1.0)
    lo = max(MIN_LAG, 2)
    taus = np.arange(lo, MAX_LAG + 1)
    below = d[:, lo:MAX_LAG + 1] < YIN_TH
    has = below.any(1)
    first = lo + below.argmax(1)
    # follow the dip to its bottom
    t = first.copy()
    rows = np.arange(n)
    for _ in range(MAX_LAG):
        go = has & (t < MAX_LAG) & (d[rows, np.minimum(t + 1, MAX_LAG + 1)] < d[rows, t])
        if not go.any():
            break
        t = np.where(go, t + 1, t)
    gmin = lo + d[:, lo:MAX_LAG + 1].argmin(1)
    tau = np.where(has, t, gmin)
    b = d[rows, tau]
    a, c = d[rows, tau - 1], d[rows, tau + 1]
    den = a - 2 * b + c
    shift = np.where(np.abs(den) > 1e-9, np.clip(0.5 * (a - c) / np.where(np.abs(den) > 1e-9, den, 1), -0.5, 0.5), 0.0)
    voiced = b <= VOICED_MAX
    f0 = np.where(voiced, RATE / (tau + shift), 0.0)
    per = np.where(voiced, np.clip(1 - b, 0, 1), 0.0)
    return f0, per, b


def frame_features(narrow):
    """Per 10 ms frame of 8 kHz telephone-band audio: a dict of arrays.
    Replica fields: energy_db f0 periodicity centroid alpha flux.
    Extras: dmin (YIN aperiodicity, also for unvoiced), slope (dB/kHz regression over 300-3400),
    hammarberg (max dB 300-2000 minus max 2000-3400), b1/b2/b3 (dB share of 300-1000,
    1000-2000, 2000-3400 Hz), flatness (dB), logmel (20 bands 300-3400, log10 power),
    cpp (cepstral peak prominence, dB), and flux_raw (flux also for frames after silence)."""
    nf = len(narrow) // HOP
    buf = np.concatenate([np.zeros(KEEP, np.float32), narrow[: nf * HOP].astype(np.float32)])
    # frame i (0-based) ends at sample KEEP + (i+1)*HOP; buffer holds the last KEEP samples
    ends = KEEP + (np.arange(nf) + 1) * HOP
    idx = ends[:, None] - KEEP + np.arange(KEEP)[None, :]
    W = buf[idx]
    recent = W[:, -FFT:]
    power = (recent.astype(np.float64) ** 2).mean(1)
    energy_db = np.maximum(10 * np.log10(power + 1e-12), -120.0)
    active = energy_db >= FLOOR_DB
    f0, per, dmin = yin(W[:, -NEEDED:])
    spec = np.fft.rfft(recent * HANN, axis=1)
    mags = (spec.real ** 2 + spec.imag ** 2).astype(np.float64)
    mb = mags[:, BAND]
    hz = HZ[BAND]
    total = mb.sum(1)
    centroid = np.where(total > 0, (mb * hz).sum(1) / np.where(total > 0, total, 1), 0.0)
    low = 1e-12 + mb[:, hz < 1000].sum(1)
    high = 1e-12 + mb[:, hz >= 1000].sum(1)
    alpha = 10 * np.log10(high / low)
    amp = np.sqrt(mags)
    norm = np.maximum(np.sqrt((amp ** 2).sum(1)), 1e-9)
    un = amp / norm[:, None]
    flux = np.zeros(nf)
    prev = np.zeros(un.shape[1])
    for i in range(nf):
        if not active[i]:
            prev = np.zeros(un.shape[1])
            continue
        flux[i] = np.sqrt(((un[i] - prev) ** 2).sum())
        prev = un[i]
    flux_raw = np.r_[0.0, np.sqrt(((un[1:] - un[:-1]) ** 2).sum(1))]
    # extras
    ldb = 10 * np.log10(mb + 1e-12)
    khz = hz / 1000.0
    kc = khz - khz.mean()
    slope = (ldb * kc).sum(1) / (kc ** 2).sum()
    hamm = ldb[:, hz <= 2000].max(1) - ldb[:, hz > 2000].max(1)
    tot = total + 1e-12
    b1 = 10 * np.log10(mb[:, hz < 1000].sum(1) / tot + 1e-12)
    b2 = 10 * np.log10(mb[:, (hz >= 1000) & (hz < 2000)].sum(1) / tot + 1e-12)
    b3 = 10 * np.log10(mb[:, hz >= 2000].sum(1) / tot + 1e-12)
    flat = 10 * (np.log10(mb + 1e-12).mean(1) - np.log10(mb.mean(1) + 1e-12))
    logmel = np.log10(mags @ MEL.T + 1e-10)
    # cepstral peak prominence over quefrencies 2.5-16 ms (lags 20..128)
    lspec = 10 * np.log10(mags + 1e-12)
    cep = np.fft.irfft(lspec, axis=1)[:, : FFT // 2]
    q = np.arange(FFT // 2)
    qs = (q >= 20) & (q <= 127)
    cq = cep[:, qs]
    pk = cq.argmax(1)
    qv = q[qs].astype(float)
    A = np.vstack([qv, np.ones_like(qv)]).T
    coef, *_ = np.linalg.lstsq(A, cq.T, rcond=None)
    line = (A @ coef).T
    cpp = cq[np.arange(nf), pk] - line[np.arange(nf), pk]
    z = ~active
    for arr in (f0, per, centroid, alpha):
        arr[z] = 0.0
    return dict(energy_db=energy_db.astype(np.float32), f0=f0.astype(np.float32), periodicity=per.astype(np.float32),
                centroid=centroid.astype(np.float32), alpha=alpha.astype(np.float32), flux=flux.astype(np.float32),
                dmin=dmin.astype(np.float32), slope=slope.astype(np.float32), hammarberg=hamm.astype(np.float32),
                b1=b1.astype(np.float32), b2=b2.astype(np.float32), b3=b3.astype(np.float32), flatness=flat.astype(np.float32),
                logmel=logmel.astype(np.float32), cpp=cpp.astype(np.float32), flux_raw=flux_raw.astype(np.float32),
                active=active)


def clip_frames(path, phone):
    x = load16k(path)
    if phone:
        x = telephone(x)
    return frame_features(telephone_band(x))


def cache_path(corpus, phone):
    return os.path.join(CACHE, f"{corpus}_{'8k' if phone else '16k'}.npz")


def load_cache(corpus, phone):
    """List of (path, speaker, class, frames dict) for a corpus."""
    import pickle
    with open(cache_path(corpus, phone).replace(".npz", ".pkl"), "rb") as f:
        return pickle.load(f)
