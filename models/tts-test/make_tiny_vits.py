#!/usr/bin/env python3
"""Makes a tiny VITS-format voice for testing voicegate's sherpa-onnx TTS engine.

The model has the inputs, output and metadata that sherpa-onnx 1.12.9 reads from a VITS voice
(inputs x, x_length, noise_scale, length_scale, noise_scale_w; output y; sample_rate,
n_speakers, language, comment, frontend, ...), and random weights: each known character becomes
SAMPLES_PER_TOKEN samples of noise. It says nothing, but it exercises the real loading,
tokenising and synthesis path, and the length of what it produces is known exactly:
(number of characters found in tokens.txt) x SAMPLES_PER_TOKEN.

It also makes `piper-tiny.onnx` with `piper-tiny.onnx.json`: the same idea in the form the
Piper project ships its voices (inputs input, input_lengths, scales; no sherpa-onnx metadata; a
phoneme_id_map of IPA symbols espeak-ng produces), for testing `voicegate voices prepare`.

Regenerate with: python3 -m pip install onnx && python3 models/tts-test/make_tiny_vits.py
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE_RATE = 16000
SAMPLES_PER_TOKEN = 256
SYMBOLS = list("abcdefghijklmnopqrstuvwxyz") + [" ", ".", ",", "?", "!", "'"]


def gather_model(name, symbols, seed, inputs, ids, out):
    """A model whose output is, for each token id in input `ids`, that symbol's row of random
    samples: [1, n] ids -> [1, n, SAMPLES_PER_TOKEN] rows of the table -> [1, 1, n * SAMPLES]."""
    rng = np.random.default_rng(seed)
    table = (rng.standard_normal((len(symbols), SAMPLES_PER_TOKEN)) * 0.1).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["table", ids], ["frames"], axis=0),
        helper.make_node("Reshape", ["frames", "shape"], [out]),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        inputs,
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, 1, "samples"])],
        initializer=[
            numpy_helper.from_array(table, "table"),
            numpy_helper.from_array(np.array([1, 1, -1], dtype=np.int64), "shape"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="voicegate")
    model.ir_version = 8
    return model


def main() -> None:
    inputs = [
        helper.make_tensor_value_info("x", TensorProto.INT64, [1, "n"]),
        helper.make_tensor_value_info("x_length", TensorProto.INT64, [1]),
        helper.make_tensor_value_info("noise_scale", TensorProto.FLOAT, [1]),
        helper.make_tensor_value_info("length_scale", TensorProto.FLOAT, [1]),
        helper.make_tensor_value_info("noise_scale_w", TensorProto.FLOAT, [1]),
    ]
    model = gather_model("voicegate-tiny-vits", SYMBOLS, 7, inputs, "x", "y")
    meta = {
        "model_type": "vits",
        "comment": "voicegate test voice (random weights)",
        "language": "English",
        "frontend": "characters",
        "sample_rate": str(SAMPLE_RATE),
        "n_speakers": "1",
        "add_blank": "0",
        "use_eos_bos": "0",
        "punctuation": ". , ? ! '",
    }
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, "model.onnx"))

    with open(os.path.join(HERE, "tokens.txt"), "w", encoding="utf-8") as f:
        for i, s in enumerate(SYMBOLS):
            # sherpa-onnx reads a line holding only a number as the token for a space
            f.write(f"{i}\n" if s == " " else f"{s} {i}\n")


# Piper's pad, start and end symbols, then what espeak-ng's en-us phonemes use most.
PIPER_SYMBOLS = ["_", "^", "$", " ", ".", ",", "?", "!", "ˈ", "ˌ", "ː"] + list("abdefhijklmnoprstuvwz") + list("əɚɹɪʊɛæʌɔɑŋθðʃʒ")


def piper() -> None:
    inputs = [
        helper.make_tensor_value_info("input", TensorProto.INT64, [1, "n"]),
        helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1]),
        helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3]),
    ]
    model = gather_model("voicegate-tiny-piper", PIPER_SYMBOLS, 11, inputs, "input", "output")
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, "piper-tiny.onnx"))
    config = {
        "audio": {"sample_rate": SAMPLE_RATE, "quality": "x_low"},
        "espeak": {"voice": "en-us"},
        "inference": {"noise_scale": 0.667, "length_scale": 1, "noise_w": 0.8},
        "phoneme_type": "espeak",
        "num_speakers": 1,
        "language": {"code": "en_US", "name_english": "English"},
        "phoneme_id_map": {s: [i] for i, s in enumerate(PIPER_SYMBOLS)},
    }
    with open(os.path.join(HERE, "piper-tiny.onnx.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
    piper()
