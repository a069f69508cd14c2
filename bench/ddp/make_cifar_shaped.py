#!/usr/bin/env python3
"""Random CIFAR-shaped data (float32 [N, 3, 32, 32], int64 labels) as .npy files, written without
numpy, for timing ResNet-20 epochs where the CIFAR-10 files are absent. Usage: OUT_DIR N SEED."""
import random
import struct
import sys


def write_npy(path, descr, shape, payload):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join("%d, " % d for d in shape))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        f.write(payload)


def main():
    out, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    pixels = [rng.gauss(0.0, 1.0) for _ in range(n * 3 * 32 * 32)]
    write_npy(out + "/inputs.npy", "<f4", (n, 3, 32, 32), struct.pack("<%df" % len(pixels), *pixels))
    labels = [rng.randrange(10) for _ in range(n)]
    write_npy(out + "/targets.npy", "<i8", (n,), struct.pack("<%dq" % n, *labels))


if __name__ == "__main__":
    main()
