#!/usr/bin/python3
"""TorchScript archives written by real torch (Debian python3-torch 1.13): scripted modules whose code
raises built-in exceptions (`ops.prim.RaiseException(msg, "builtins.RuntimeError")` in every
scripted LSTM and Transformer layer) must scan clean; a scripted module that raises an exception
class of another module is still reported.

    /usr/bin/python3 samples/generate/torchscript_real.py
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "torchscript-real")
AREA = "torchscript-real"


class Custom(Exception):
    pass


class RaisesCustom(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 1e9:
            raise Custom("too large")
        return x


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    expected = {}
    for name, module in [
        ("lstm", torch.nn.LSTM(4, 4)),
        ("transformer_layer", torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)),
    ]:
        path = os.path.join(OUT, f"{name}.pt")
        torch.jit.save(torch.jit.script(module), path)
        torch.jit.load(path)
        expected[f"{AREA}/{name}.pt"] = {"verdict": "clean"}
    path = os.path.join(OUT, "raises_custom.pt")
    torch.jit.save(torch.jit.script(RaisesCustom()), path)
    expected[f"{AREA}/raises_custom.pt"] = {"verdict": "malicious", "rules": ["pickle/torchscript-op"]}
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
