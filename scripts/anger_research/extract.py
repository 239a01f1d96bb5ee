"""Extracts 10 ms frame features of every clip of the three corpora, clean (16 kHz) and through
an 8 kHz G.711 mu-law line, into var/anger_research/cache/<corpus>_<16k|8k>.pkl."""
import os
import pickle
import sys
import time

from common import CACHE, cache_path, clip_frames, corpus_clips

os.makedirs(CACHE, exist_ok=True)
corpora = sys.argv[1:] or ["emodb", "casia", "ravdess"]
for corpus in corpora:
    for phone in (False, True):
        out = cache_path(corpus, phone).replace(".npz", ".pkl")
        if os.path.exists(out):
            continue
        t = time.time()
        rows = [(p, s, c, clip_frames(p, phone)) for p, s, c in corpus_clips(corpus)]
        with open(out, "wb") as f:
            pickle.dump(rows, f)
        print(corpus, "8k" if phone else "16k", len(rows), "clips", f"{time.time() - t:.0f}s", flush=True)
