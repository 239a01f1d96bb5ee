#!/usr/bin/env python3
"""Makes a tiny VITS-format voice for testing voicegate's sherpa-onnx TTS engine.

The model has the inputs, output and metadata that sherpa-onnx 1.12.9 reads from a VITS voice
(inputs x, x_length, noise_scale, length_scale, noise_scale_w; output y; sample_rate,
n_speakers, language, comment, frontend, ...), and random weights: each known character becomes
SAMPLES_PER_TOKEN samples of noise. It says nothing, but it exercises the real loading,
tokenising and synthesis path, and the length of what it produces is known exactly:
(number of characters found in tokens.txt) x SAMPLES_PER_TOKEN.

Regenerate with: python3 -m pip install onnx && python3 models/tts-test/make_tiny_vits.py
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE_RATE = 16000
SAMPLES_PER_TOKEN = 256
SYMBOLS = list("abcdefghijklmnopqrstuvwxyz") + [" ", ".", ",", "?", "!", "'"]


def main() -> None:
    rng = np.random.default_rng(7)
    table = (rng.standard_normal((len(SYMBOLS), SAMPLES_PER_TOKEN)) * 0.1).astype(np.float32)

    inputs = [
        helper.make_tensor_value_info("x", TensorProto.INT64, [1, "n"]),
        helper.make_tensor_value_info("x_length", TensorProto.INT64, [1]),
        helper.make_tensor_value_info("noise_scale", TensorProto.FLOAT, [1]),
        helper.make_tensor_value_info("length_scale", TensorProto.FLOAT, [1]),
        helper.make_tensor_value_info("noise_scale_w", TensorProto.FLOAT, [1]),
    ]
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, "samples"])
    nodes = [
        # [1, n] token ids -> [1, n, SAMPLES_PER_TOKEN] rows of the table -> [1, 1, n * SAMPLES]
        helper.make_node("Gather", ["table", "x"], ["frames"], axis=0),
        helper.make_node("Reshape", ["frames", "shape"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "voicegate-tiny-vits",
        inputs,
        [output],
        initializer=[
            numpy_helper.from_array(table, "table"),
            numpy_helper.from_array(np.array([1, 1, -1], dtype=np.int64), "shape"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="voicegate")
    model.ir_version = 8
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


if __name__ == "__main__":
    main()
