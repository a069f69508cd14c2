#!/usr/bin/env python3
"""Generate tests/runtime/golden_vectors.h for the lowbit C runtime tests.

This is an independent reference: it implements the arithmetic exactly as docs/runtime.md and
runtime/include/lowbit_runtime.h describe it, with Python's unbounded integers, exact fractions
and whole-row bit strings, not by mirroring the C code. Pure Python 3, no third-party modules.

Usage: python3 tests/runtime/gen_golden.py [--check] [OUTPUT]
  OUTPUT defaults to golden_vectors.h beside this file; --check compares instead of writing and
  exits 1 when the file differs from what this script generates.
"""

import math
import os
import random
import sys
from fractions import Fraction

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
Q31_MAX = 2**31 - 1

# name, enum, bits, encoding ("twos" or "odd"); the documented formats.
FORMATS = [
    ("int8", "LOWBIT_FORMAT_INT8", 8, "twos"),
    ("int4", "LOWBIT_FORMAT_INT4", 4, "twos"),
    ("int2", "LOWBIT_FORMAT_INT2", 2, "twos"),
    ("binary", "LOWBIT_FORMAT_BINARY", 1, "odd"),
    ("sym2", "LOWBIT_FORMAT_SYM2", 2, "odd"),
    ("sym4", "LOWBIT_FORMAT_SYM4", 4, "odd"),
]


def codes_of(bits, encoding):
    """Every code of a format, smallest first."""
    if encoding == "twos":
        return list(range(-(2 ** (bits - 1)), 2 ** (bits - 1)))
    return [2 * i - (2**bits - 1) for i in range(2**bits)]


# ----------------------------------------------------------------------------------------------
# The documented arithmetic
# ----------------------------------------------------------------------------------------------


def round_half_away(value):
    """Round a Fraction to the nearest integer, ties away from zero."""
    magnitude = abs(value)
    whole = math.floor(magnitude)
    if magnitude - whole >= Fraction(1, 2):
        whole += 1
    return whole if value >= 0 else -whole


def requantize(acc, multiplier, shift, zero_point, act_min, act_max):
    """clamp(round_half_away(acc * multiplier * 2^(shift - 31)) + zero_point, act_min, act_max)."""
    scaled = round_half_away(Fraction(acc * multiplier) * Fraction(2) ** (shift - 31))
    return min(max(scaled + zero_point, act_min), act_max)


def quantize_multiplier(real_scale):
    """The exporter's recipe from docs/runtime.md: real_scale ~= multiplier * 2^(shift - 31)."""
    assert real_scale > 0
    mantissa, exponent = math.frexp(real_scale)  # real_scale = mantissa * 2^exponent, [0.5, 1)
    multiplier = math.floor(mantissa * 2**31 + 0.5)
    if multiplier == 2**31:
        multiplier //= 2
        exponent += 1
    if exponent > 30:
        raise ValueError("scale too large for the runtime")
    if exponent < -31:
        multiplier = math.floor(real_scale * 2**62 + 0.5)
        exponent = -31
    return multiplier, exponent


def saturate_i32(value):
    return min(max(value, INT32_MIN), INT32_MAX)


def field_of(code, bits, encoding):
    if encoding == "twos":
        return code % (2**bits)
    return (code + 2**bits - 1) // 2


def pack(rows_of_codes, bits, encoding):
    """Each row becomes one little-endian integer, weight j at bit j * bits, padded to bytes."""
    out = bytearray()
    for row in rows_of_codes:
        value = 0
        for j, code in enumerate(row):
            value |= field_of(code, bits, encoding) << (j * bits)
        out += value.to_bytes((len(row) * bits + 7) // 8, "little")
    return bytes(out)


def fully_connected(x, zp_in, w_rows, bias, requant_rows):
    """x: [batch][in]; w_rows: [out][in] codes; requant_rows[o] = (M, shift); returns [batch][out]."""
    zp_out, lo, hi = requant_rows["zp"], requant_rows["min"], requant_rows["max"]
    out = []
    for xb in x:
        row = []
        for o, w in enumerate(w_rows):
            acc = (bias[o] if bias is not None else 0) + sum(
                (xi - zp_in) * wi for xi, wi in zip(xb, w)
            )
            m, s = requant_rows["ms"][o]
            row.append(requantize(saturate_i32(acc), m, s, zp_out, lo, hi))
        out.append(row)
    return out


def conv2d(x, cfg, zp_in, w_rows, bias, rq):
    """x: [C][H][W]; builds the padded image explicitly (pad value zp_in) and slides over it."""
    cin, h, w = cfg["cin"], cfg["h"], cfg["w"]
    pt, pb, pl, pr = cfg["pad"]
    kh, kw = cfg["k"]
    sh, sw = cfg["stride"]
    groups, cout = cfg["groups"], cfg["cout"]
    padded = [
        [[zp_in] * (w + pl + pr) for _ in range(pt)]
        + [[zp_in] * pl + list(x[c][y]) + [zp_in] * pr for y in range(h)]
        + [[zp_in] * (w + pl + pr) for _ in range(pb)]
        for c in range(cin)
    ]
    ph, pw = h + pt + pb, w + pl + pr
    oh, ow = (ph - kh) // sh + 1, (pw - kw) // sw + 1
    gin, gout = cin // groups, cout // groups
    out = []
    for o in range(cout):
        g = o // gout
        kernel = w_rows[o]  # [gin][kh][kw] flattened
        plane = []
        for oy in range(oh):
            line = []
            for ox in range(ow):
                acc = bias[o] if bias is not None else 0
                for ci in range(gin):
                    src = padded[g * gin + ci]
                    for ky in range(kh):
                        for kx in range(kw):
                            wv = kernel[(ci * kh + ky) * kw + kx]
                            acc += (src[oy * sh + ky][ox * sw + kx] - zp_in) * wv
                m, s = rq["ms"][o]
                line.append(requantize(saturate_i32(acc), m, s, rq["zp"], rq["min"], rq["max"]))
            plane.append(line)
        out.append(plane)
    return out, oh, ow


def pool(x, cfg, is_max):
    """Windows over the real elements only; average rounds half away from zero."""
    c, h, w = cfg["c"], cfg["h"], cfg["w"]
    kh, kw = cfg["k"]
    sh, sw = cfg["stride"]
    pt, pb, pl, pr = cfg["pad"]
    oh, ow = (h + pt + pb - kh) // sh + 1, (w + pl + pr - kw) // sw + 1
    out = []
    for ch in range(c):
        plane = []
        for oy in range(oh):
            line = []
            for ox in range(ow):
                ys = range(max(oy * sh - pt, 0), min(oy * sh - pt + kh, h))
                xs = range(max(ox * sw - pl, 0), min(ox * sw - pl + kw, w))
                vals = [x[ch][y][xx] for y in ys for xx in xs]
                assert vals
                if is_max:
                    line.append(max(vals))
                else:
                    line.append(round_half_away(Fraction(sum(vals), len(vals))))
            plane.append(line)
        out.append(plane)
    return out, oh, ow


def activation_range(act, zp, upper_q):
    if act == "LOWBIT_ACT_NONE":
        return -128, 127
    if act == "LOWBIT_ACT_RELU":
        return max(-128, zp), 127
    return max(-128, zp), min(127, zp + upper_q)


# ----------------------------------------------------------------------------------------------
# C emission
# ----------------------------------------------------------------------------------------------


class Emitter:
    def __init__(self):
        self.lines = []

    def array(self, ctype, name, values):
        assert len(values) > 0
        self.lines.append(f"static const {ctype} {name}[{len(values)}] = {{")
        for i in range(0, len(values), 16):
            self.lines.append("    " + ", ".join(c_int(v) for v in values[i : i + 16]) + ",")
        self.lines.append("};")
        return name

    def raw(self, text):
        self.lines.append(text)


def c_int(v):
    if v == INT32_MIN:
        return "INT32_MIN"
    if v == INT32_MAX:
        return "INT32_MAX"
    return str(v)


def flat(nested):
    if isinstance(nested, (list, tuple)):
        return [v for item in nested for v in flat(item)]
    return [nested]


def requant_init(em, prefix, rq):
    ms = rq["ms"] if rq["per_channel"] else rq["ms"][:1]
    mult = em.array("int32_t", prefix + "_mult", [m for m, _ in ms])
    shift = em.array("int32_t", prefix + "_shift", [s for _, s in ms])
    return f"{{{mult}, {shift}, {len(ms)}, {rq['zp']}, {rq['min']}, {rq['max']}}}"


def make_requant(rng, channels, per_channel, accs, act):
    """Scales chosen from the actual accumulators so outputs spread over the int8 range."""
    zp = rng.randint(-20, 20)
    upper = rng.randint(60, 200)
    lo, hi = activation_range(act, zp, upper)
    ms = []
    peak = max([abs(a) for a in accs] + [1])
    for c in range(channels):
        # Per-channel scales an octave or two apart so channels also differ in shift.
        real = rng.uniform(60.0, 160.0) / peak * rng.choice([0.25, 0.5, 1.0, 2.0])
        ms.append(quantize_multiplier(real))
    if not per_channel:
        ms = [ms[0]] * channels
    return {"ms": ms, "zp": zp, "min": lo, "max": hi, "per_channel": per_channel}


ACTS = ["LOWBIT_ACT_NONE", "LOWBIT_ACT_RELU", "LOWBIT_ACT_RELU6", "LOWBIT_ACT_HARD_SIGMOID"]


def gen_requant(em, rng):
    cases = []
    accs = [INT32_MIN, INT32_MIN + 1, -(2**30), -12345, -3, -1, 0, 1, 3, 777, 2**30, INT32_MAX]
    mults = [0, 1, 2**30, 2**30 + 1, Q31_MAX - 1, Q31_MAX]
    shifts = [-31, -30, -16, -1, 0, 1, 8, 29, 30]
    for a in accs:
        for m in mults:
            for s in shifts:
                zp = rng.choice([-128, -7, 0, 5, 127])
                lo = rng.choice([-128, -128, zp if zp > -128 else -128, -50])
                hi = rng.choice([127, 127, max(lo, 100), max(lo, 0)])
                cases.append((a, m, s, zp, lo, hi))
    # Exact ties at several shifts, both signs: x.5 must round away from zero.
    for s in [-31, -20, -1, 0, 1, 30]:
        r = 31 - s
        for sign in (1, -1):
            for whole in (0, 1, 2, 63):
                # acc * 2^30 * 2^-r = whole + 1/2  <=>  acc = (2 * whole + 1) * 2^(r - 31)
                if r >= 31:
                    acc = sign * (2 * whole + 1) * 2 ** (r - 31)
                    for a in (acc, acc + sign, acc - sign):
                        if INT32_MIN <= a <= INT32_MAX:
                            cases.append((a, 2**30, s, 0, -128, 127))
    for a, m, s in [(3, 2**30, 0), (-3, 2**30, 0), (5, 2**30, -1), (-6, 2**30, -1), (-5, 2**30, -1)]:
        cases.append((a, m, s, 0, -128, 127))
    for _ in range(300):
        m = rng.randint(2**30, Q31_MAX)
        s = rng.randint(-24, 4)
        a = rng.randint(INT32_MIN, INT32_MAX) >> rng.randint(0, 31)
        zp = rng.randint(-128, 127)
        lo = rng.randint(-128, 0)
        hi = rng.randint(max(lo, 1), 127)
        cases.append((a, m, s, zp, lo, hi))
    em.raw("static const golden_requant_case_t g_requant_cases[] = {")
    for a, m, s, zp, lo, hi in cases:
        exp = requantize(a, m, s, zp, lo, hi)
        em.raw(f"    {{{c_int(a)}, {c_int(m)}, {s}, {zp}, {lo}, {hi}, {exp}}},")
    em.raw("};")


def gen_activation(em):
    em.raw("static const golden_activation_case_t g_activation_cases[] = {")
    for act in ACTS:
        for zp in [-128, -5, 0, 100, 127]:
            for upper in [0, 3, 200, INT32_MAX]:
                lo, hi = activation_range(act, zp, upper)
                em.raw(f"    {{{act}, {zp}, {c_int(upper)}, {lo}, {hi}}},")
    em.raw("};")


def random_codes(rng, bits, encoding, n):
    pool_codes = codes_of(bits, encoding)
    out = [rng.choice(pool_codes) for _ in range(n)]
    # Make sure both ends of the code range appear whenever there is room.
    if n >= 2:
        out[0], out[-1] = pool_codes[0], pool_codes[-1]
    return out


def gen_pack(em, rng):
    rows_out = []
    k = 0
    for fname, fenum, bits, enc in FORMATS:
        for length in [1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33]:
            rows = 1 if length % 2 else 3
            codes = [random_codes(rng, bits, enc, length) for _ in range(rows)]
            packed = pack(codes, bits, enc)
            c = em.array("int8_t", f"g_pack_{k}_codes", flat(codes))
            p = em.array("uint8_t", f"g_pack_{k}_packed", list(packed))
            rows_out.append(
                f'    {{"{fname} {rows}x{length}", {fenum}, {rows}, {length}, {c}, {p}, {len(packed)}}},'
            )
            k += 1
    em.raw("static const golden_pack_case_t g_pack_cases[] = {")
    em.lines += rows_out
    em.raw("};")


def gen_fc(em, rng):
    # The last two give every format rows of several 16-byte blocks plus a tail.
    sizes = [(1, 1, 1), (1, 3, 7), (2, 7, 3), (1, 15, 17), (1, 17, 15), (1, 31, 33), (1, 33, 31),
             (1, 300, 5), (2, 129, 4)]
    rows_out = []
    k = 0
    for fname, fenum, bits, enc in FORMATS:
        for si, (batch, nin, nout) in enumerate(sizes):
            per_channel = (si + k) % 2 == 1
            act = ACTS[(si + k) % 3]
            zp_in = rng.randint(-128, 127)
            x = [[rng.randint(-128, 127) for _ in range(nin)] for _ in range(batch)]
            w = [random_codes(rng, bits, enc, nin) for _ in range(nout)]
            bias = None if si == 2 else [rng.randint(-3000, 3000) for _ in range(nout)]
            accs = [
                (bias[o] if bias else 0) + sum((xi - zp_in) * wi for xi, wi in zip(xb, w[o]))
                for xb in x
                for o in range(nout)
            ]
            rq = make_requant(rng, nout, per_channel, accs, act)
            rows_out.append(emit_fc(em, k, f"{fname} b{batch} {nin}->{nout} "
                                    f"{'per-channel' if per_channel else 'per-layer'} {act}",
                                    fenum, bits, enc, batch, nin, nout, zp_in, x, w, bias, rq))
            k += 1
    # Hard-sigmoid through the exporter recipe of docs/runtime.md, checked against real values.
    for fname, fenum, bits, enc in [FORMATS[1], FORMATS[4], FORMATS[3]]:
        rows_out.append(hard_sigmoid_fc(em, rng, k, fname, fenum, bits, enc))
        k += 1
    # Saturation edges: accumulators beyond int32, multipliers near 2^31, both shift extremes.
    edges = [
        ("acc saturates high, M max, shift 30", INT32_MAX, 127, Q31_MAX, 30, 0),
        ("acc saturates low, M max, shift 30", INT32_MIN, -128, Q31_MAX, 30, 0),
        ("acc saturates high, shift -31", INT32_MAX, 127, Q31_MAX, -31, 3),
        ("acc saturates low, shift -31", INT32_MIN, -128, Q31_MAX, -31, -3),
        ("acc near int32 max, M 2^31-2, shift -8", INT32_MAX - 5000, -3, Q31_MAX - 1, -8, 0),
        ("acc near int32 min, M 2^30, shift -23", INT32_MIN + 5000, 3, 2**30, -23, 10),
    ]
    for name, bias_value, xval, mult, shift, zp_out in edges:
        for fname, fenum, bits, enc in [FORMATS[0], FORMATS[3]]:
            nin, nout = 33, 3
            zp_in = -128 if xval > 0 else 127
            x = [[xval] * nin]
            pool_codes = codes_of(bits, enc)
            w = [[pool_codes[-1]] * nin, [pool_codes[0]] * nin, random_codes(rng, bits, enc, nin)]
            bias = [bias_value, bias_value, bias_value]
            rq = {"ms": [(mult, shift)] * nout, "zp": zp_out, "min": -128, "max": 127,
                  "per_channel": False}
            rows_out.append(emit_fc(em, k, f"{fname} {name}", fenum, bits, enc, 1, nin, nout,
                                    zp_in, x, w, bias, rq))
            k += 1
    em.raw("static const golden_fc_case_t g_fc_cases[] = {")
    em.lines += rows_out
    em.raw("};")


def hard_sigmoid_fc(em, rng, k, fname, fenum, bits, enc):
    """FC + hard-sigmoid quantized as documented; asserts the integer result tracks the real one."""
    nin, nout = 17, 7
    s_in, zp_in = 0.05, rng.randint(-10, 10)
    s_w = [rng.uniform(0.01, 0.03) for _ in range(nout)]
    s_out, zp_out = 1.0 / 255.0, -128
    x = [[rng.randint(-128, 127) for _ in range(nin)]]
    w = [random_codes(rng, bits, enc, nin) for _ in range(nout)]
    bias = [rng.randint(-300, 300) for _ in range(nout)]
    s_acc = [s_in * sw for sw in s_w]
    folded = [b + math.floor(3.0 / sa + 0.5) for b, sa in zip(bias, s_acc)]
    lo, hi = activation_range("LOWBIT_ACT_HARD_SIGMOID", zp_out, math.floor(1.0 / s_out + 0.5))
    rq = {"ms": [quantize_multiplier(sa / (6.0 * s_out)) for sa in s_acc], "zp": zp_out,
          "min": lo, "max": hi, "per_channel": True}
    got = fully_connected(x, zp_in, w, folded, rq)[0]
    for o in range(nout):
        v = s_acc[o] * (bias[o] + sum((xi - zp_in) * wi for xi, wi in zip(x[0], w[o])))
        want = zp_out + min(max(v / 6.0 + 0.5, 0.0), 1.0) / s_out
        assert abs(got[o] - want) <= 1.0, (o, got[o], want)
    return emit_fc(em, k, f"{fname} 17->7 hard-sigmoid recipe", fenum, bits, enc, 1, nin, nout,
                   zp_in, x, w, folded, rq)


def emit_fc(em, k, name, fenum, bits, enc, batch, nin, nout, zp_in, x, w, bias, rq):
    expected = fully_connected(x, zp_in, w, bias, rq)
    packed = pack(w, bits, enc)
    p = f"g_fc_{k}"
    xin = em.array("int8_t", p + "_input", flat(x))
    wt = em.array("uint8_t", p + "_weights", list(packed))
    b = em.array("int32_t", p + "_bias", bias) if bias is not None else "NULL"
    rqi = requant_init(em, p, rq)
    ex = em.array("int8_t", p + "_expected", flat(expected))
    return (f'    {{"{name}", {{{batch}, {nin}, {nout}, {zp_in}, {fenum}, {rqi}}}, {xin}, {wt}, '
            f"{len(packed)}, {b}, {ex}, {batch * nout}, {fc_scratch_size(bits, nin)}}},")


SCRATCH_SLACK = 15  # LOWBIT_SCRATCH_SLACK: room to align scratch to 16 bytes


def fc_scratch_size(bits, nin):
    """lowbit_fc_scratch_size: 16 / bits int16 lanes of ceil(nin * bits / 16) inputs (one per
    16-bit word of a packed row), each rounded up to a multiple of 8, plus slack."""
    lanes = 16 // bits
    per_lane = (nin + lanes - 1) // lanes
    return 2 * lanes * ((per_lane + 7) // 8 * 8) + SCRATCH_SLACK


def conv_scratch_size(cin, h, w, ks, st, pad, groups):
    """lowbit_conv2d_scratch_size: one group's padded input planes as int16 (columns split into
    stride_w phases) and one output channel's tap list (8 bytes a tap), plus slack."""
    padded_h = h + pad[0] + pad[1]
    padded_w = w + pad[2] + pad[3]
    phase_width = (padded_w + st[1] - 1) // st[1]
    plane = padded_h * st[1] * phase_width
    group_in = cin // groups
    return 2 * plane * group_in + 8 * group_in * ks[0] * ks[1] + SCRATCH_SLACK


CONV_CONFIGS = [
    # cin, h, w, cout, (kh, kw), (sh, sw), (pt, pb, pl, pr), groups
    (1, 5, 5, 1, (3, 3), (1, 1), (1, 1, 1, 1), 1),
    (3, 7, 5, 4, (3, 3), (2, 2), (1, 1, 1, 1), 1),
    (3, 6, 6, 3, (3, 3), (1, 1), (1, 1, 1, 1), 3),
    (4, 5, 7, 8, (3, 2), (1, 2), (0, 2, 1, 0), 2),
    (2, 4, 4, 6, (1, 1), (1, 1), (0, 0, 0, 0), 1),
    (3, 3, 3, 6, (3, 3), (1, 1), (2, 2, 2, 2), 3),
    (1, 17, 15, 1, (5, 3), (3, 2), (2, 1, 0, 2), 1),
    (15, 3, 3, 17, (3, 3), (1, 1), (1, 1, 1, 1), 1),
    (33, 3, 3, 33, (3, 3), (2, 1), (1, 1, 1, 1), 33),
    (7, 1, 1, 31, (1, 1), (1, 1), (0, 0, 0, 0), 1),
    # Rows of 16 + 4, 16 + 8 + 3 and strided 16 + 4 outputs: every block size of the kernel.
    (2, 6, 20, 3, (3, 3), (1, 1), (1, 1, 1, 1), 1),
    (1, 4, 27, 2, (2, 3), (2, 1), (0, 1, 1, 1), 1),
    (4, 5, 40, 4, (3, 3), (1, 2), (1, 1, 1, 1), 4),
]


def emit_conv(em, p, conv_cfg, fenum, bits, enc, zp_in, x, wts, bias, rq):
    """Emits a conv case's input, packed weights, bias and requantization arrays (prefix p);
    returns their names, the packed size and the lowbit_conv2d_params_t initializer."""
    cin, h, w, cout, ks, st, pad, groups = conv_cfg
    packed = pack(wts, bits, enc)
    xin = em.array("int8_t", p + "_input", flat(x))
    wt = em.array("uint8_t", p + "_weights", list(packed))
    b = em.array("int32_t", p + "_bias", bias) if bias is not None else "NULL"
    rqi = requant_init(em, p, rq)
    params = (f"{{{cin}, {h}, {w}, {cout}, {ks[0]}, {ks[1]}, {st[0]}, {st[1]}, {pad[0]}, "
              f"{pad[1]}, {pad[2]}, {pad[3]}, {groups}, {zp_in}, {fenum}, {rqi}}}")
    return xin, wt, len(packed), b, params


def random_conv(rng, conv_cfg, bits, enc, with_bias, per_channel, act):
    """A random conv2d case: input, codes, bias and a requantization fitted to its sums; returns
    (cfg, zp_in, x, codes, bias, rq, requantized output, out_h, out_w)."""
    cin, h, w, cout, ks, st, pad, groups = conv_cfg
    cfg = {"cin": cin, "h": h, "w": w, "cout": cout, "k": ks, "stride": st, "pad": pad,
           "groups": groups}
    zp_in = rng.randint(-128, 127)
    x = [[[rng.randint(-128, 127) for _ in range(w)] for _ in range(h)] for _ in range(cin)]
    row_len = (cin // groups) * ks[0] * ks[1]
    wts = [random_codes(rng, bits, enc, row_len) for _ in range(cout)]
    bias = [rng.randint(-2000, 2000) for _ in range(cout)] if with_bias else None
    # Exact accumulators (identity multiplier, no clamp) to pick a sensible output scale.
    raw, _, _ = conv2d(x, cfg, zp_in, wts, bias,
                       {"ms": [(2**30, 1)] * cout, "zp": 0, "min": INT32_MIN, "max": INT32_MAX})
    rq = make_requant(rng, cout, per_channel, flat(raw), act)
    out, oh, ow = conv2d(x, cfg, zp_in, wts, bias, rq)
    return cfg, zp_in, x, wts, bias, rq, out, oh, ow


def gen_conv(em, rng):
    rows_out = []
    k = 0
    for fname, fenum, bits, enc in FORMATS:
        for ci_, conv_cfg in enumerate(CONV_CONFIGS):
            cin, h, w, cout, ks, st, pad, groups = conv_cfg
            per_channel = (ci_ + k) % 2 == 0
            act = ACTS[(ci_ + 2 * k) % 3]
            cfg, zp_in, x, wts, bias, rq, out, oh, ow = random_conv(
                rng, conv_cfg, bits, enc, ci_ != 4, per_channel, act)
            p = f"g_conv_{k}"
            xin, wt, nbytes, b, params = emit_conv(em, p, conv_cfg, fenum, bits, enc, zp_in, x, wts,
                                                   bias, rq)
            ex = em.array("int8_t", p + "_expected", flat(out))
            name = (f"{fname} c{cin}x{h}x{w}->{cout} k{ks[0]}x{ks[1]} s{st[0]}x{st[1]} "
                    f"p{pad[0]}{pad[1]}{pad[2]}{pad[3]} g{groups} "
                    f"{'per-channel' if per_channel else 'per-layer'} {act}")
            rows_out.append(f'    {{"{name}", {params}, {xin}, {wt}, {nbytes}, {b}, {ex}, '
                            f"{oh}, {ow}, {conv_scratch_size(cin, h, w, ks, st, pad, groups)}, "
                            f"{cout * oh * ow}}},")
            k += 1
    em.raw("static const golden_conv_case_t g_conv_cases[] = {")
    em.lines += rows_out
    em.raw("};")


POOL_CONFIGS = [
    # c, h, w, (kh, kw), (sh, sw), (pt, pb, pl, pr)
    (1, 4, 4, (2, 2), (2, 2), (0, 0, 0, 0)),
    (3, 7, 5, (3, 3), (2, 2), (1, 1, 1, 1)),
    (2, 5, 5, (3, 2), (1, 2), (2, 0, 1, 1)),
    (1, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0)),
    (17, 3, 3, (3, 3), (1, 1), (1, 1, 1, 1)),
    (2, 15, 1, (2, 1), (2, 1), (0, 1, 0, 0)),
    (3, 6, 6, (6, 6), (1, 1), (0, 0, 0, 0)),
    (33, 2, 3, (2, 2), (1, 1), (1, 0, 0, 1)),
]


def gen_pool(em, rng):
    rows_out = []
    k = 0
    for is_max in (1, 0):
        for c, h, w, ks, st, pad in POOL_CONFIGS:
            cfg = {"c": c, "h": h, "w": w, "k": ks, "stride": st, "pad": pad}
            x = [[[rng.randint(-128, 127) for _ in range(w)] for _ in range(h)] for _ in range(c)]
            out, oh, ow = pool(x, cfg, is_max)
            k = emit_pool(em, rows_out, k, is_max, cfg, x, out, oh, ow)
        # Hand-made ties and extremes: means of x.5 both signs, all -128, all 127.
        for vals in ([1, 2, -1, -2], [-128, -128, -128, -127], [127, 127, 126, 127], [0, 1, 0, 0],
                     [-3, -2, -2, -2]):
            cfg = {"c": 1, "h": 2, "w": 2, "k": (2, 2), "stride": (1, 1), "pad": (0, 0, 0, 0)}
            x = [[vals[0:2], vals[2:4]]]
            out, oh, ow = pool(x, cfg, is_max)
            k = emit_pool(em, rows_out, k, is_max, cfg, x, out, oh, ow)
        for pair in ([1, 2], [-1, -2], [5, -6], [-128, 127]):
            cfg = {"c": 1, "h": 1, "w": 2, "k": (1, 2), "stride": (1, 1), "pad": (0, 0, 0, 0)}
            out, oh, ow = pool([[pair]], cfg, is_max)
            k = emit_pool(em, rows_out, k, is_max, cfg, [[pair]], out, oh, ow)
    em.raw("static const golden_pool_case_t g_pool_cases[] = {")
    em.lines += rows_out
    em.raw("};")


def emit_pool(em, rows_out, k, is_max, cfg, x, out, oh, ow):
    p = f"g_pool_{k}"
    xin = em.array("int8_t", p + "_input", flat(x))
    ex = em.array("int8_t", p + "_expected", flat(out))
    ks, st, pad = cfg["k"], cfg["stride"], cfg["pad"]
    name = (f"{'max' if is_max else 'avg'} c{cfg['c']}x{cfg['h']}x{cfg['w']} k{ks[0]}x{ks[1]} "
            f"s{st[0]}x{st[1]} p{pad[0]}{pad[1]}{pad[2]}{pad[3]}")
    params = (f"{{{cfg['c']}, {cfg['h']}, {cfg['w']}, {ks[0]}, {ks[1]}, {st[0]}, {st[1]}, "
              f"{pad[0]}, {pad[1]}, {pad[2]}, {pad[3]}}}")
    rows_out.append(f'    {{"{name}", {is_max}, {params}, {xin}, {ex}, {oh}, {ow}, '
                    f"{cfg['c'] * oh * ow}}},")
    return k + 1


def gen_concat(em, rng):
    identity = (2**30, 1)
    cases = [
        ("two branches, equal scales", 0, [(17, 0, identity, None), (15, 0, identity, None)]),
        ("two branches, equal scales, zero points move", -5,
         [(3, 10, identity, None), (7, -20, identity, None)]),
        ("three inputs, different scales", 3,
         [(1, 0, quantize_multiplier(0.5), None), (17, -7, quantize_multiplier(1.75), None),
          (33, 12, quantize_multiplier(0.031), None)]),
        ("saturating rescale", 0,
         [(31, 0, (Q31_MAX, 30), None), (5, -128, quantize_multiplier(2.0**-40), None)]),
        ("extremes identity", 127, [(4, -128, identity, [-128, 127, 0, -1])]),
        ("extremes identity low zero point", -128, [(4, 127, identity, [-128, 127, 0, 1])]),
    ]
    rows_out = []
    for k, (name, zp_out, inputs) in enumerate(cases):
        descs = []
        expected = []
        for n, (length, zp, (m, s), values) in enumerate(inputs):
            vals = values if values is not None else [rng.randint(-128, 127) for _ in range(length)]
            arr = em.array("int8_t", f"g_concat_{k}_in{n}", vals)
            descs.append(f"{{{arr}, {length}, {zp}, {m}, {s}}}")
            expected += [requantize(v - zp, m, s, zp_out, -128, 127) for v in vals]
        em.raw(f"static const lowbit_concat_input_t g_concat_{k}_inputs[] = {{")
        em.raw("    " + ", ".join(descs) + ",")
        em.raw("};")
        ex = em.array("int8_t", f"g_concat_{k}_expected", expected)
        rows_out.append(f'    {{"{name}", g_concat_{k}_inputs, {len(inputs)}, {zp_out}, {ex}, '
                        f"{len(expected)}}},")
    em.raw("static const golden_concat_case_t g_concat_cases[] = {")
    em.lines += rows_out
    em.raw("};")


def gen_argmax(em, rng):
    cases = [
        ("single", [-128]),
        ("all equal", [-128] * 7),
        ("tie picks first", [3, 9, -1, 9, 9]),
        ("max at end", [-5, -4, -3, -2, -1, 0, 127]),
        ("ten classes", [rng.randint(-128, 127) for _ in range(10)]),
        ("thirty-three", [rng.randint(-128, 127) for _ in range(33)]),
    ]
    rows_out = []
    for k, (name, vals) in enumerate(cases):
        arr = em.array("int8_t", f"g_argmax_{k}_values", vals)
        rows_out.append(f'    {{"{name}", {arr}, {len(vals)}, {vals.index(max(vals))}}},')
    em.raw("static const golden_argmax_case_t g_argmax_cases[] = {")
    em.lines += rows_out
    em.raw("};")


CONV_POOL_CONFIGS = [
    # conv (cin, h, w, cout, (kh, kw), (sh, sw), pads, groups), pool ((kh, kw), (sh, sw), pads)
    ((1, 16, 16, 4, (3, 3), (1, 1), (1, 1, 1, 1), 1), ((2, 2), (2, 2), (0, 0, 0, 0))),
    ((4, 8, 8, 4, (3, 3), (1, 1), (1, 1, 1, 1), 4), ((2, 2), (2, 2), (0, 0, 0, 0))),
    ((3, 7, 9, 5, (3, 3), (2, 1), (1, 0, 1, 1), 1), ((3, 3), (2, 2), (1, 1, 1, 1))),
    ((2, 6, 20, 3, (3, 3), (1, 1), (1, 1, 1, 1), 1), ((2, 3), (2, 3), (1, 0, 2, 0))),
]


def gen_conv_pool(em, rng):
    """lowbit_conv2d_max_pool_s8: expected = max pool of the requantized conv output."""
    rows_out = []
    k = 0
    for fname, fenum, bits, enc in FORMATS:
        for ci_, (conv_cfg, pool_cfg) in enumerate(CONV_POOL_CONFIGS):
            cin, h, w, cout, ks, st, pad, groups = conv_cfg
            pks, pst, ppad = pool_cfg
            _, zp_in, x, wts, bias, rq, conv_out, oh, ow = random_conv(
                rng, conv_cfg, bits, enc, ci_ != 1, (ci_ + k) % 2 == 0, ACTS[(ci_ + k) % 3])
            pcfg = {"c": cout, "h": oh, "w": ow, "k": pks, "stride": pst, "pad": ppad}
            out, ph, pw = pool(conv_out, pcfg, 1)
            p = f"g_conv_pool_{k}"
            xin, wt, nbytes, b, conv_params = emit_conv(em, p, conv_cfg, fenum, bits, enc, zp_in, x,
                                                        wts, bias, rq)
            ex = em.array("int8_t", p + "_expected", flat(out))
            name = (f"{fname} c{cin}x{h}x{w}->{cout} k{ks[0]}x{ks[1]} s{st[0]}x{st[1]} g{groups} "
                    f"+ max k{pks[0]}x{pks[1]} s{pst[0]}x{pst[1]}")
            pool_params = (f"{{{cout}, {oh}, {ow}, {pks[0]}, {pks[1]}, {pst[0]}, {pst[1]}, "
                           f"{ppad[0]}, {ppad[1]}, {ppad[2]}, {ppad[3]}}}")
            # The conv's scratch, then one channel's int32 sums, a row of window maxima and a row
            # of pooled sums.
            scratch = conv_scratch_size(cin, h, w, ks, st, pad, groups) + 4 * ((oh + 1) * ow + pw)
            rows_out.append(f'    {{"{name}", {conv_params}, {pool_params}, {xin}, {wt}, '
                            f"{nbytes}, {b}, {ex}, {cout * ph * pw}, {scratch}}},")
            k += 1
    em.raw("static const golden_conv_pool_case_t g_conv_pool_cases[] = {")
    em.lines += rows_out
    em.raw("};")


def shared_shift(ratio_a, ratio_b):
    """The exporter's add rescale: the larger ratio's Q31 multiplier fixes the shared shift."""
    big, shift = quantize_multiplier(max(ratio_a, ratio_b))

    def in_shift(r):
        return min(math.floor(math.ldexp(r, 31 - shift) + 0.5), big)

    m_a = big if ratio_a >= ratio_b else in_shift(ratio_a)
    m_b = big if ratio_b > ratio_a else in_shift(ratio_b)
    return m_a, m_b, shift


def add_element(a, b, p):
    """One output of lowbit_add_s8, from exact rationals: one rounding of the whole sum."""
    total = Fraction((a - p["zp_a"]) * p["m_a"] + (b - p["zp_b"]) * p["m_b"])
    scaled = round_half_away(total * Fraction(2) ** (p["shift"] - 31))
    return min(max(scaled + p["zp_out"], p["act_min"]), p["act_max"])


def gen_add(em, rng):
    def params(zp_a, zp_b, ratios, zp_out, act_min=-128, act_max=127):
        m_a, m_b, shift = shared_shift(*ratios) if isinstance(ratios[0], float) else ratios
        return {"zp_a": zp_a, "zp_b": zp_b, "m_a": m_a, "m_b": m_b, "shift": shift,
                "zp_out": zp_out, "act_min": act_min, "act_max": act_max}

    cases = [
        ("equal scales", 1, params(0, 0, (1.0, 1.0), 0), None),
        ("equal scales relu", 3, params(-4, 9, (1.0, 1.0), -10, -10, 127), None),
        ("different scales relu", 7, params(-128, 5, (0.7, 0.31), -128, -128, 127), None),
        ("skip larger", 17, params(12, -3, (0.045, 1.9), 6), None),
        ("ties round away", 8, params(0, 0, (0.5, 0.5), 0),
         ([1, -1, 3, -3, 1, -1, 0, 5], [0, 0, 0, 0, 2, -2, 1, -4])),
        ("relu6 clamp", 33, params(7, -7, (2.5, 3.25), -100, -100, -76), None),
        ("tiny ratios below 2^-32", 5, params(0, 0, (2.0**-40, 2.0**-45), 3), None),
        ("largest multipliers shift 30", 15, params(0, 0, (Q31_MAX, Q31_MAX, 30), 0), None),
        ("extremes", 4, params(-128, 127, (1.0, 1.0), 0),
         ([127, -128, 127, -128], [-128, 127, 127, -128])),
        ("sixty-five", 65, params(20, -20, (0.013, 0.021), -1, -1, 127), None),
    ]
    rows_out = []
    for k, (name, length, p, values) in enumerate(cases):
        if values is None:
            a = [rng.randint(-128, 127) for _ in range(length)]
            b = [rng.randint(-128, 127) for _ in range(length)]
        else:
            a, b = values
        expected = [add_element(x, y, p) for x, y in zip(a, b)]
        arr_a = em.array("int8_t", f"g_add_{k}_a", a)
        arr_b = em.array("int8_t", f"g_add_{k}_b", b)
        ex = em.array("int8_t", f"g_add_{k}_expected", expected)
        rows_out.append(f'    {{"{name}", {{{p["zp_a"]}, {p["zp_b"]}, {p["m_a"]}, {p["m_b"]}, '
                        f'{p["shift"]}, {p["zp_out"]}, {p["act_min"]}, {p["act_max"]}}}, '
                        f"{arr_a}, {arr_b}, {ex}, {length}}},")
    em.raw("static const golden_add_case_t g_add_cases[] = {")
    em.lines += rows_out
    em.raw("};")


# ----------------------------------------------------------------------------------------------
# Decoder and spiking operators (the integer spiking spec of issue 15, docs/runtime.md)
# ----------------------------------------------------------------------------------------------


def conv_transpose2d(x, cfg, zp_in, w_rows, bias, rq):
    """Gather form of the spec: output (o, y, x) sums the taps whose input position
    ((y + pad_top - ky) / stride_h, (x + pad_left - kx) / stride_w) is whole and inside."""
    cin, h, w = cfg["cin"], cfg["h"], cfg["w"]
    kh, kw = cfg["k"]
    sh, sw = cfg["stride"]
    pt, pl = cfg["pad"]
    oh, ow = cfg["out"]
    out = []
    for o in range(cfg["cout"]):
        plane = []
        for y in range(oh):
            line = []
            for xx in range(ow):
                acc = bias[o] if bias is not None else 0
                for i in range(cin):
                    for ky in range(kh):
                        for kx in range(kw):
                            ny, nx = y + pt - ky, xx + pl - kx
                            if ny % sh or nx % sw:
                                continue
                            iy, ix = ny // sh, nx // sw
                            if 0 <= iy < h and 0 <= ix < w:
                                acc += (x[i][iy][ix] - zp_in) * w_rows[o][(i * kh + ky) * kw + kx]
                m, s = rq["ms"][o]
                line.append(requantize(saturate_i32(acc), m, s, rq["zp"], rq["min"], rq["max"]))
            plane.append(line)
        out.append(plane)
    return out


CONVT_CONFIGS = [
    # cin, h, w, cout, (kh, kw), (sh, sw), (pad_top, pad_left), (out_h, out_w); torch's full size
    # is (in - 1) * stride - 2 * pad + kernel.
    (1, 1, 1, 1, (1, 1), (1, 1), (0, 0), (1, 1)),
    (3, 3, 4, 5, (3, 3), (2, 2), (1, 1), (5, 7)),  # full
    (2, 3, 2, 3, (3, 3), (3, 3), (0, 0), (9, 6)),  # stride 3, full
    (2, 3, 2, 3, (3, 3), (3, 3), (0, 0), (7, 4)),  # stride 3, cropped
    (5, 2, 3, 1, (4, 4), (2, 2), (1, 1), (3, 5)),  # full 4 x 6, cropped
    (2, 2, 2, 2, (3, 3), (2, 2), (1, 1), (4, 4)),  # output_padding 1 (full 3 x 3)
    (3, 3, 3, 2, (2, 2), (3, 3), (0, 0), (8, 8)),  # kernel < stride: rows with no tap
    (2, 4, 1, 3, (2, 1), (2, 1), (0, 0), (8, 1)),
    (1, 3, 3, 2, (5, 3), (3, 2), (2, 1), (6, 5)),  # full 7 x 5, cropped
    (17, 2, 2, 3, (3, 3), (2, 2), (1, 1), (3, 3)),
    (3, 2, 9, 2, (2, 3), (1, 3), (1, 2), (2, 24)),  # stride 1 rows, long columns
]


def gen_conv_transpose(em, rng):
    rows_out = []
    k = 0
    cases = []
    for fname, fenum, bits, enc in FORMATS:
        for ci_, cfg_t in enumerate(CONVT_CONFIGS):
            cases.append((fname, fenum, bits, enc, ci_, cfg_t, None))
    # Saturation: a bias at the int32 edge with the largest products, both signs.
    for fname, fenum, bits, enc in [FORMATS[0], FORMATS[3]]:
        cases.append((fname, fenum, bits, enc, 0, CONVT_CONFIGS[1], INT32_MAX))
        cases.append((fname, fenum, bits, enc, 1, CONVT_CONFIGS[1], INT32_MIN))
    for fname, fenum, bits, enc, ci_, cfg_t, edge in cases:
        cin, h, w, cout, ks, st, pad, osz = cfg_t
        cfg = {"cin": cin, "h": h, "w": w, "cout": cout, "k": ks, "stride": st, "pad": pad,
               "out": osz}
        per_channel = (ci_ + k) % 2 == 0
        act = ACTS[(ci_ + 2 * k) % 3]
        row_len = cin * ks[0] * ks[1]
        if edge is None:
            zp_in = rng.randint(-128, 127)
            x = [[[rng.randint(-128, 127) for _ in range(w)] for _ in range(h)] for _ in range(cin)]
            wts = [random_codes(rng, bits, enc, row_len) for _ in range(cout)]
            bias = None if ci_ == 4 else [rng.randint(-2000, 2000) for _ in range(cout)]
            raw = conv_transpose2d(x, cfg, zp_in, wts, bias, {"ms": [(2**30, 1)] * cout, "zp": 0,
                                                             "min": INT32_MIN, "max": INT32_MAX})
            rq = make_requant(rng, cout, per_channel, flat(raw), act)
        else:
            sign = 1 if edge > 0 else -1
            zp_in = -128 if sign > 0 else 127
            x = [[[127 if sign > 0 else -128] * w for _ in range(h)] for _ in range(cin)]
            top = codes_of(bits, enc)[-1]
            wts = [[top] * row_len, [-top] * row_len] + [
                random_codes(rng, bits, enc, row_len) for _ in range(cout - 2)]
            bias = [edge - sign * 5000] * cout
            rq = {"ms": [(Q31_MAX, -20)] * cout, "zp": 0, "min": -128, "max": 127,
                  "per_channel": False}
            act = "LOWBIT_ACT_NONE"
        out = conv_transpose2d(x, cfg, zp_in, wts, bias, rq)
        packed = pack(wts, bits, enc)
        p = f"g_convt_{k}"
        xin = em.array("int8_t", p + "_input", flat(x))
        wt = em.array("uint8_t", p + "_weights", list(packed))
        b = em.array("int32_t", p + "_bias", bias) if bias is not None else "NULL"
        rqi = requant_init(em, p, rq)
        ex = em.array("int8_t", p + "_expected", flat(out))
        params = (f"{{{cin}, {h}, {w}, {cout}, {osz[0]}, {osz[1]}, {ks[0]}, {ks[1]}, {st[0]}, "
                  f"{st[1]}, {pad[0]}, {pad[1]}, {zp_in}, {fenum}, {rqi}}}")
        name = (f"{fname} c{cin}x{h}x{w}->{cout}x{osz[0]}x{osz[1]} k{ks[0]}x{ks[1]} "
                f"s{st[0]}x{st[1]} p{pad[0]}{pad[1]} "
                f"{'per-channel' if rq['per_channel'] else 'per-layer'} {act}"
                + ("" if edge is None else " saturating bias"))
        scratch = 4 * osz[0] * osz[1] + SCRATCH_SLACK
        rows_out.append(f'    {{"{name}", {params}, {xin}, {wt}, {len(packed)}, {b}, {ex}, '
                        f"{cout * osz[0] * osz[1]}, {scratch}}},")
        k += 1
    em.raw("static const golden_convt_case_t g_convt_cases[] = {")
    em.lines += rows_out
    em.raw("};")


RESETS = ["LOWBIT_LIF_RESET_SUBTRACT", "LOWBIT_LIF_RESET_ZERO", "LOWBIT_LIF_RESET_NONE"]


def lif_leak(u, leak_shift, beta_q15):
    """beta = 1 - 2^-k: U - floor(U / 2^k); else floor((U * beta_q15 + 2^14) / 2^15)."""
    if leak_shift > 0:
        return u - math.floor(Fraction(u, 2**leak_shift))
    return math.floor(Fraction(u * beta_q15 + 16384, 32768))


def lif_run(cfg, currents, membrane, pending):
    """Steps the spec's LIF over currents[t][i]; returns spikes, membranes and pending resets
    after every step (the state lists are updated in place)."""
    bits = cfg["bits"]
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def sat(v):
        return min(max(v, lo), hi)

    plane, zp, reset, delay = cfg["plane"], cfg["zp"], cfg["reset"], cfg["delay"]
    spikes_t, mem_t, pend_t = [], [], []
    for step in currents:
        spikes = []
        for i, q in enumerate(step):
            c = i // plane
            e = 0 if len(cfg["thr"]) == 1 else c
            thr = cfg["thr"][e]
            beta = cfg["beta"][e] if cfg["leak_shift"] == 0 else None
            cur = q - zp
            u = membrane[i]
            leaked = lif_leak(u, cfg["leak_shift"], beta)
            if delay:
                r = pending[i]
                if reset == 0:
                    u = sat(leaked + cur - (thr if r else 0))
                elif reset == 1:
                    u = sat((0 if r else leaked) + cur)
                else:
                    u = sat(leaked + cur)
                s = 1 if u > thr else 0
                pending[i] = s
            else:
                u = sat(leaked + cur)
                s = 1 if u > thr else 0
                if s and reset == 0:
                    u = u - thr
                elif s and reset == 1:
                    u = 0
            membrane[i] = u
            spikes.append(s)
        spikes_t.append(spikes)
        mem_t.append(list(membrane))
        pend_t.append(list(pending))
    return spikes_t, mem_t, pend_t


def gen_lif(em, rng):
    shapes = [(3, 7), (5, 1), (1, 1), (2, 7), (1, 7), (4, 3)]
    cases = []
    k = 0
    for bits in (16, 32):
        for reset in range(3):
            for delay in (1, 0):
                for leak_kind in ("shift", "beta"):
                    channels, plane = shapes[k % len(shapes)]
                    per_channel = k % 2 == 1
                    count = channels if per_channel else 1
                    cases.append({
                        "name": f"{RESETS[reset][17:].lower()} delay {delay} {leak_kind} leak "
                                f"int{bits} c{channels}x{plane} "
                                f"{'per-channel' if per_channel else 'per-layer'}",
                        "channels": channels, "plane": plane, "bits": bits, "reset": reset,
                        "delay": delay, "zp": rng.randint(-30, 30),
                        "leak_shift": rng.randint(1, 15) if leak_kind == "shift" else 0,
                        "beta": [rng.randint(0, 32768) for _ in range(count)],
                        "thr": [rng.randint(1, 300) for _ in range(count)],
                        "steps": 7, "init": None, "currents": None})
                    k += 1
    # Edges: leak shifts 1 and 15, betas 0 and 2^15, threshold 1.
    cases.append({"name": "leak shift 1, threshold 1, int16", "channels": 2, "plane": 3,
                  "bits": 16, "reset": 0, "delay": 1, "zp": 0, "leak_shift": 1, "beta": [0],
                  "thr": [1], "steps": 6, "init": None, "currents": None})
    cases.append({"name": "leak shift 15 per channel, int32", "channels": 3, "plane": 1,
                  "bits": 32, "reset": 1, "delay": 0, "zp": -3, "leak_shift": 15, "beta": [0],
                  "thr": [5, 50, 500], "steps": 6, "init": None, "currents": None})
    cases.append({"name": "beta 0 and 2^15 per channel, int16", "channels": 2, "plane": 7,
                  "bits": 16, "reset": 0, "delay": 0, "zp": 4, "leak_shift": 0,
                  "beta": [0, 32768], "thr": [100, 100], "steps": 6, "init": None,
                  "currents": None})
    # Saturation of the int16 membrane from zero: 255 (then -255) per step, no reset, no leak.
    for sign, name in ((1, "up"), (-1, "down")):
        steps = 135
        cases.append({"name": f"int16 saturates {name}, reset none", "channels": 1, "plane": 1,
                      "bits": 16, "reset": 2, "delay": 1, "zp": -128 if sign > 0 else 127,
                      "leak_shift": 0, "beta": [32768], "thr": [100], "steps": steps,
                      "init": None,
                      "currents": [[127 if sign > 0 else -128] for _ in range(steps)]})
    # Saturation from a stored state (the state is caller memory): membranes at the type's edges,
    # pending resets set, thresholds beyond the int16 range and up to INT32_MAX.
    for bits in (16, 32):
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        for reset in range(3):
            for leak_shift, beta in ((0, 32768), (0, 32000), (3, 0)):
                init_u = [hi, hi - 100, lo, lo + 100, 0, -1, 1, hi // 2, lo // 2]
                init_r = [1, 0, 1, 1, 1, 0, 1, 1, 0]
                thr = [40000 if bits == 16 else INT32_MAX, 30000 if bits == 16 else 2**30,
                       7]
                cases.append({"name": f"int{bits} {RESETS[reset][17:].lower()} from edge state, "
                              f"{'beta ' + str(beta) if leak_shift == 0 else 'shift 3'}",
                              "channels": 3, "plane": 3, "bits": bits, "reset": reset,
                              "delay": 1 if leak_shift != 3 else 0, "zp": 0,
                              "leak_shift": leak_shift, "beta": [beta] * 3, "thr": thr,
                              "steps": 3, "init": (init_u, init_r),
                              "currents": [[127, 127, -128, -128, 5, -5, 127, 127, -128],
                                           [127, -128, -128, 127, 0, 0, 127, -128, -128],
                                           [-128, 127, 127, -128, 9, -9, 0, 127, 127]]})
    rows_out = []
    for k, cs in enumerate(cases):
        n = cs["channels"] * cs["plane"]
        if cs["currents"] is None:
            # Mostly positive currents so that neurons fire, with negative ones to drive
            # membranes below zero (the floor of negative values).
            cs["currents"] = [[rng.choice([rng.randint(-128, 127), rng.randint(0, 127),
                                           rng.randint(40, 127)]) for _ in range(n)]
                              for _ in range(cs["steps"])]
        if cs["init"] is None:
            membrane, pending = [0] * n, [0] * n
        else:
            membrane, pending = list(cs["init"][0]), list(cs["init"][1])
        p = f"g_lif_{k}"
        init_m = em.array("int32_t", p + "_init_membrane", membrane) if cs["init"] else "NULL"
        init_r = (em.array("uint8_t", p + "_init_pending", pending)
                  if cs["init"] and cs["delay"] else "NULL")
        spikes, mems, pends = lif_run(cs, cs["currents"], membrane, pending)
        cur = em.array("int8_t", p + "_currents", flat(cs["currents"]))
        thr = em.array("int32_t", p + "_threshold", cs["thr"])
        beta = em.array("int32_t", p + "_beta", cs["beta"]) if cs["leak_shift"] == 0 else "NULL"
        sp = em.array("int8_t", p + "_spikes", flat(spikes))
        mm = em.array("int32_t", p + "_membrane", flat(mems))
        pr = em.array("uint8_t", p + "_pending", flat(pends)) if cs["delay"] else "NULL"
        state = n * cs["bits"] // 8 + (n if cs["delay"] else 0)
        params = (f"{{{cs['channels']}, {cs['plane']}, {cs['zp']}, {thr}, {beta}, "
                  f"{len(cs['thr'])}, {cs['leak_shift']}, {RESETS[cs['reset']]}, {cs['delay']}, "
                  f"{cs['bits']}}}")
        rows_out.append(f'    {{"{cs["name"]}", {params}, {cs["steps"]}, {n}, {init_m}, {init_r}, '
                        f"{cur}, {sp}, {mm}, {pr}, {state}}},")
    em.raw("static const golden_lif_case_t g_lif_cases[] = {")
    em.lines += rows_out
    em.raw("};")


def gen_time_sum(em, rng):
    cases = [("one element", 1, 0, 3, [[5], [-7], [127]]),
             ("seven, saturating up", 7, -128, 4, None),
             ("seven, saturating down", 7, 127, 4, None),
             ("thirty-three, zero point 9", 33, 9, 6, None),
             ("spikes 0/1 over eight steps", 17, 0, 8, "spikes")]
    rows_out = []
    for k, (name, n, zp, steps, values) in enumerate(cases):
        if values is None:
            values = [[rng.randint(-128, 127) for _ in range(n)] for _ in range(steps)]
        elif values == "spikes":
            values = [[rng.randint(0, 1) for _ in range(n)] for _ in range(steps)]
        total = [0] * n
        sums = []
        for step in values:
            total = [min(max(s + q - zp, -128), 127) for s, q in zip(total, step)]
            sums.append(list(total))
        xin = em.array("int8_t", f"g_time_sum_{k}_inputs", flat(values))
        ex = em.array("int8_t", f"g_time_sum_{k}_sums", flat(sums))
        rows_out.append(f'    {{"{name}", {zp}, {steps}, {n}, {xin}, {ex}}},')
    em.raw("static const golden_time_sum_case_t g_time_sum_cases[] = {")
    em.lines += rows_out
    em.raw("};")


def gen_leaky_relu(em, rng):
    every = list(range(-128, 128))
    cases = [("slope 0.1 zp 0 every code", 0, 3277, every),
             ("slope 0.1 zp -128 every code", -128, 3277, every),
             ("slope 0.5 zp 17 ties", 17, 16384, every),
             ("slope 0.01 zp 127 every code", 127, 328, every),
             ("slope 0 zp -5", -5, 0, [rng.randint(-128, 127) for _ in range(15)]),
             ("slope max zp 3", 3, 32767, [rng.randint(-128, 127) for _ in range(7)]),
             ("slope 0.3 zp -60", -60, 9830, [rng.randint(-128, 127) for _ in range(1)])]
    rows_out = []
    for k, (name, zp, slope, values) in enumerate(cases):
        expected = [v if v >= zp else zp + round_half_away(Fraction((v - zp) * slope, 32768))
                    for v in values]
        xin = em.array("int8_t", f"g_leaky_relu_{k}_input", values)
        ex = em.array("int8_t", f"g_leaky_relu_{k}_expected", expected)
        rows_out.append(f'    {{"{name}", {zp}, {slope}, {xin}, {ex}, {len(values)}}},')
    em.raw("static const golden_leaky_relu_case_t g_leaky_relu_cases[] = {")
    em.lines += rows_out
    em.raw("};")


def fc_dynshift(x, zp_in, w_rows, bias, code_max, relu):
    """BitNetMCU's ReLUNorm as the dynshift quantizer defines it: the sums; the smallest integer
    shift s with max < (code_max + 1) * 2^s (0 for max 0; negative, a left shift, for small
    sums); round half up (floor of (acc + half) / 2^s) or acc * 2^-s; clamp. Returns
    (outputs, shift)."""
    accs = [saturate_i32((bias[o] if bias is not None else 0) +
                         sum((xi - zp_in) * wi for xi, wi in zip(x, w)))
            for o, w in enumerate(w_rows)]
    largest = max(max(accs), 0) if relu else max(abs(a) for a in accs)
    shift = 0
    if largest > 0:
        # Exact rationals: the defining inequality, not the C code's loops.
        while Fraction(largest) >= (code_max + 1) * Fraction(2) ** shift:
            shift += 1
        while Fraction(largest) < (code_max + 1) * Fraction(2) ** (shift - 1):
            shift -= 1
    low = 0 if relu else -code_max

    def scaled(a):
        return (a + ((1 << shift) >> 1)) // (1 << shift) if shift > 0 else a * (1 << -shift)
    out = [min(max(scaled(a), low), code_max) for a in accs]
    return out, shift


def gen_fc_dynshift(em, rng):
    cases = []
    for fname, fenum, bits, enc in FORMATS:
        for relu in (1, 0):
            nin, nout = rng.randint(1, 70), rng.randint(1, 12)
            zp = rng.randint(-128, 127)
            cases.append((f"{fname} relu {relu}", fenum, bits, enc, nin, nout, zp, 127, relu,
                          rng.random() < 0.5, "random"))
    # Small sums (a left shift spreads them to the top half of the codes), ties to round up, a
    # 2-bit code range and a layer whose sums are all negative (relu: all outputs 0, shift 0).
    cases.append(("small sums left shift", "LOWBIT_FORMAT_BINARY", 1, "odd", 3, 4, 0, 127, 1,
                  False, "small"))
    cases.append(("small signed sums", "LOWBIT_FORMAT_INT4", 4, "twos", 5, 6, 0, 63, 0,
                  False, "small"))
    cases.append(("code_max 1 signed", "LOWBIT_FORMAT_INT4", 4, "twos", 9, 5, 3, 1, 0, True,
                  "random"))
    cases.append(("all negative relu", "LOWBIT_FORMAT_INT8", 8, "twos", 6, 3, -128, 127, 1,
                  False, "negative"))
    # A small largest sum beside large negative ones: relu outputs 0 there, without overflow in
    # the left shift.
    cases.append(("small max large negatives relu", "LOWBIT_FORMAT_INT4", 4, "twos", 4, 5, 0,
                  127, 1, True, "small_negatives"))
    rows_out = []
    for k, (name, fenum, bits, enc, nin, nout, zp, code_max, relu, with_bias, kind) in \
            enumerate(cases):
        w = [random_codes(rng, bits, enc, nin) for _ in range(nout)]
        if kind == "small":
            x = [1] * nin
            w[0] = [1] * nin  # the largest sum is nin: a left shift by several bits
        elif kind == "negative":
            x = [127] * nin
            w = [[-1 - (j % 100) for j in range(nin)] for _ in range(nout)]
        else:
            x = [rng.randint(-128, 127) for _ in range(nin)]
        bias = [rng.randint(-40000, 40000) for _ in range(nout)] if with_bias else None
        if kind == "small_negatives":
            x = [1] * nin
            w[0] = [1] * nin
            bias = [0] + [-2**31 + 7 * o for o in range(1, nout)]
        out, shift = fc_dynshift(x, zp, w, bias, code_max, relu)
        xin = em.array("int8_t", f"g_fc_dynshift_{k}_input", x)
        packed = pack(w, bits, enc)
        wp = em.array("uint8_t", f"g_fc_dynshift_{k}_weights", list(packed))
        bp = em.array("int32_t", f"g_fc_dynshift_{k}_bias", bias) if bias else "NULL"
        ex = em.array("int8_t", f"g_fc_dynshift_{k}_expected", out)
        rows_out.append(f'    {{"{name}", {{{nin}, {nout}, {zp}, {fenum}, {code_max}, {relu}}}, '
                        f"{xin}, {wp}, {len(packed)}, {bp}, {ex}, {shift}}},")
    em.raw("static const golden_fc_dynshift_case_t g_fc_dynshift_cases[] = {")
    em.lines += rows_out
    em.raw("};")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    args = sys.argv[1:]
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    target = args[0] if args else os.path.join(here, "golden_vectors.h")
    rng = random.Random(20261123)
    em = Emitter()
    em.raw("/* @generated by gen_golden.py -- do not edit; regenerate with")
    em.raw(" *   python3 tests/runtime/gen_golden.py")
    em.raw(" * Expected values come from the independent Python reference in gen_golden.py. */")
    em.raw("#ifndef LOWBIT_TESTS_RUNTIME_GOLDEN_VECTORS_H_")
    em.raw("#define LOWBIT_TESTS_RUNTIME_GOLDEN_VECTORS_H_")
    em.raw("")
    em.raw("#include <stddef.h>")
    em.raw("#include <stdint.h>")
    em.raw("")
    em.raw('#include "golden_types.h"')
    em.raw("")
    gen_requant(em, rng)
    gen_activation(em)
    gen_pack(em, rng)
    gen_fc(em, rng)
    gen_conv(em, rng)
    gen_pool(em, rng)
    gen_concat(em, rng)
    gen_argmax(em, rng)
    gen_conv_pool(em, rng)
    gen_add(em, rng)
    # The spiking-flow operators draw from their own generator, so adding them left every
    # earlier vector as it was.
    rng_snn = random.Random(20261206)
    gen_conv_transpose(em, rng_snn)
    gen_lif(em, rng_snn)
    gen_time_sum(em, rng_snn)
    gen_leaky_relu(em, rng_snn)
    # The dynamic-shift dense layer (issue 17) draws from a generator of its own as well.
    gen_fc_dynshift(em, random.Random(20261207))
    em.raw("")
    em.raw("#endif /* LOWBIT_TESTS_RUNTIME_GOLDEN_VECTORS_H_ */")
    text = "\n".join(em.lines) + "\n"
    if check:
        with open(target, encoding="ascii") as f:
            if f.read() != text:
                print(f"{target} is stale: regenerate it with python3 tests/runtime/gen_golden.py")
                return 1
        print(f"{target} is up to date")
        return 0
    with open(target, "w", encoding="ascii") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
