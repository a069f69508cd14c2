#!/usr/bin/env python3
"""Writes the seed corpus tests/fuzz/corpus/<target>/ (small valid inputs for each parser, from
which libFuzzer mutates). Run from anywhere; the files are committed, so this only needs rerunning
when a format changes. The checkpoint seed comes from `lowbit`, see tests/fuzz/README.md."""
import gzip
import io
import os
import shutil
import struct
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def npy(descr, shape, payload, version=1):
    shape_text = "(" + "".join(f"{d}, " for d in shape).rstrip(" ")
    shape_text = shape_text.rstrip(",") + ("," if len(shape) == 1 else "") + ")"
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}"
    prelude = 10 if version == 1 else 12
    pad = 64 - (prelude + len(header) + 1) % 64
    header += " " * pad + "\n"
    length = struct.pack("<H" if version == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header.encode() + payload


def npz(members, compressed):
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name + ".npy", data)
    return buffer.getvalue()


def idx(magic_dims, dims, payload):
    return struct.pack(">I", 0x800 | magic_dims) + b"".join(struct.pack(">I", d) for d in dims) + payload


def main():
    for target in ("npy", "npz", "idx", "cifar", "csv", "spec", "config", "model_json"):
        shutil.rmtree(os.path.join(ROOT, target), ignore_errors=True)
    f32 = npy("<f4", (2, 3), struct.pack("<6f", 0.0, 1.0, -2.5, 3.25, 1e-3, 7.0))
    i64 = npy("<i8", (2,), struct.pack("<2q", 0, 1))
    put("npy", "f4_2x3.npy", f32)
    put("npy", "i8_2.npy", i64)
    put("npy", "u1_2x2x2_v2.npy", npy("|u1", (2, 2, 2), bytes(range(8)), version=2))
    put("npy", "f8_scalar.npy", npy("<f8", (), struct.pack("<d", 1.5)))
    put("npy", "i4_0x3.npy", npy("<i4", (0, 3), b""))
    put("npz", "stored.npz", npz({"x": f32, "y": i64}, False))
    put("npz", "deflate.npz", npz({"x": f32, "y": i64}, True))
    images = idx(3, (2, 3, 3), bytes(range(18)))
    labels = idx(1, (2,), bytes([3, 7]))
    put("idx", "images.idx", images)
    put("idx", "labels.idx", labels)
    put("idx", "images.idx.gz", gzip.compress(images, mtime=0))
    put("idx", "labels.idx.gz", gzip.compress(labels, mtime=0))
    record = bytes([4]) + bytes(i % 256 for i in range(3072))
    put("cifar", "two_records.bin", record + bytes([9]) + bytes(3072))
    put("cifar", "one_record.bin.gz", gzip.compress(record, mtime=0))
    # The first byte picks the options (see harness/csv_fuzz.cpp): 0 = integer labels, ','.
    put("csv", "int_labels.csv", "\x00a,b,label\n1.0,2,0\n-3e2, 4.5 ,1\n0,0,2\n")
    put("csv", "float_labels.csv", "\x01a,b,label\r\n0.5,1,0.25\r\n\r\n2,3,1e-3\r\n")
    put("csv", "semicolon_features.csv", "\x06label;a;b\n1;0.5;2\n0;1;-1\n")
    for i, spec in enumerate([
            "uniform:bits=4", "uniform:bits=8,signed=0,integer=2", "uniform:bits=3,scale=mse",
            "binary", "ternary", "sym:bits=2", "nf4", "fp:e=2,m=1", "fp130", "lsq:bits=2",
            "pact:bits=4", "selfcompress", "quantized_relu:bits=4,integer=1", "clip:bits=8",
            "hard_tanh:bits=2", "uniform:bits=4,scale=percentile,percentile=99.9"]):
        put("spec", f"spec_{i:02d}.txt", spec)
    with open(os.path.join(os.path.dirname(ROOT), "..", "..", "configs",
                           "smartpix_progressive.yaml"), encoding="utf-8") as f:
        put("config", "smartpix_progressive.yaml", f.read())
    put("config", "minimal.yaml", """seed: 1
data: {source: smartpix, count: 64}
model: {type: mlp, widths: [8]}
stages:
  - name: fp
    epochs: 1
    batch_size: 16
    optimizer: {type: adam, lr: 0.01}
    loss: {type: bce_with_logits}
  - name: q
    from: fp
    epochs: 1
    optimizer: {type: sgd, lr: 0.01, momentum: 0.9}
    lr_schedule: {type: step, step_size: 1}
    loss: {type: bce_with_logits}
    quantization:
      weights: "lsq:bits=2"
      activations: "uniform:bits=8,signed=0,integer=2"
      layers: [{match: "fc1", weights: ternary}]
""")
    put("config", "anchors.yaml", "base: &b {epochs: 2, batch_size: 8, optimizer: {type: sgd, "
        "lr: 0.1}, loss: {type: mse}}\nseed: 2\ndata: {source: smartpix, count: 32}\n"
        "model: {type: mlp, widths: [4]}\nstages:\n  - <<: *b\n    name: a\n")
    put("model_json", "model.json", '{"prefix": "model", "input": {"shape": [1, 16, 16], '
        '"scale": 0.0078125, "zero_point": 0}, "provenance": {"source_run": "runs/x", '
        '"stage": "w4a8", "lowbit_version": "0.1.0"}, "layers": [{"name": "fc1", '
        '"op": "dense", "bits": 4}]}\n')


if __name__ == "__main__":
    main()
