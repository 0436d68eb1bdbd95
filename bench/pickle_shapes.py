#!/usr/bin/env python3
"""Writes the pickle shapes of `bench/pickle.bench.mjs` with CPython's own pickler (deterministic:
fixed seeds, no timestamps), so the layout is exactly what real files have.

    python3 bench/pickle_shapes.py SHAPE OUT [SCALE]

Shapes (sizes at SCALE 1):
  floats     206 MiB: a list of 24,000,000 random floats (protocol 4: BINFLOAT, APPENDS batches, frames)
  dict       56 MiB: a dict of 3,100,000 'key%08d' str -> int entries (protocol 4, memoized keys)
  tuples     61 MiB: a list of 2,200,000 (int, str, float, None) tuples (protocol 4)
  intlists   83 MiB: a protocol-2 list of 800,000 lists of 10 ints of 62 bits (LONG1, BINPUT/LONG_BINPUT)
  torch      ~475 MiB: torch.save of a GPT-2 (124M) sized state dict (float32 zeros), torch zip format
Prints the number of top-level items (for the bench's check that CPython reads the same object).
"""

import pickle
import random
import sys


def floats(n):
    rng = random.Random(1)
    r = rng.random
    return [r() for _ in range(n)]


def str_int_dict(n):
    return {"key%08d" % i: i for i in range(n)}


def tuples(n):
    rng = random.Random(2)
    r = rng.random
    return [(i, "s%07d" % i, r(), None) for i in range(n)]


def int_lists(n, width=10):
    rng = random.Random(3)
    g = rng.getrandbits
    return [[g(62) | (1 << 40) for _ in range(width)] for _ in range(n)]


def gpt2_state_dict():
    import torch

    d, layers, vocab, ctx = 768, 12, 50257, 1024
    z = lambda *shape: torch.zeros(*shape, dtype=torch.float32)  # noqa: E731
    sd = {"transformer.wte.weight": z(vocab, d), "transformer.wpe.weight": z(ctx, d)}
    for i in range(layers):
        p = "transformer.h.%d." % i
        sd[p + "ln_1.weight"] = z(d)
        sd[p + "ln_1.bias"] = z(d)
        sd[p + "attn.c_attn.weight"] = z(d, 3 * d)
        sd[p + "attn.c_attn.bias"] = z(3 * d)
        sd[p + "attn.c_proj.weight"] = z(d, d)
        sd[p + "attn.c_proj.bias"] = z(d)
        sd[p + "ln_2.weight"] = z(d)
        sd[p + "ln_2.bias"] = z(d)
        sd[p + "mlp.c_fc.weight"] = z(d, 4 * d)
        sd[p + "mlp.c_fc.bias"] = z(4 * d)
        sd[p + "mlp.c_proj.weight"] = z(4 * d, d)
        sd[p + "mlp.c_proj.bias"] = z(d)
    sd["transformer.ln_f.weight"] = z(d)
    sd["transformer.ln_f.bias"] = z(d)
    sd["lm_head.weight"] = sd["transformer.wte.weight"]  # tied, as in GPT2LMHeadModel
    return sd


def main():
    shape, out = sys.argv[1], sys.argv[2]
    scale = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    n = lambda base: max(1, int(base * scale))  # noqa: E731
    if shape == "torch":
        import torch

        sd = gpt2_state_dict()
        torch.save(sd, out)
        print(len(sd))
        return
    if shape == "floats":
        obj, proto = floats(n(24_000_000)), 4
    elif shape == "dict":
        obj, proto = str_int_dict(n(3_100_000)), 4
    elif shape == "tuples":
        obj, proto = tuples(n(2_200_000)), 4
    elif shape == "intlists":
        obj, proto = int_lists(n(800_000)), 2
    else:
        raise SystemExit("unknown shape %r" % shape)
    with open(out, "wb") as f:
        pickle.dump(obj, f, protocol=proto)
    print(len(obj))


if __name__ == "__main__":
    main()
