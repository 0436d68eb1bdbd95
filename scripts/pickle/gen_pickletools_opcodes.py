#!/usr/bin/python3
"""Writes test/formats/pickle/data/pickletools-opcodes.json: CPython's own opcode table
(`pickletools.opcodes`: name, byte, argument descriptor, stack effect, protocol), which
test/formats/pickle/opcodes.test.ts checks src/formats/pickle/opcodes.ts against without Python.
Run with /usr/bin/python3 from the repository root, then
`npx biome check --write test/formats/pickle/data`."""
import json
import pickle
import pickletools
import sys

ops = []
for op in pickletools.opcodes:
    ops.append(
        {
            "name": op.name,
            "code": ord(op.code.encode("latin-1")),
            "arg": None if op.arg is None else {"name": op.arg.name, "n": op.arg.n},
            "stackBefore": [s.name for s in op.stack_before],
            "stackAfter": [s.name for s in op.stack_after],
            "proto": op.proto,
        }
    )
out = {
    "source": "CPython %d.%d.%d pickletools.opcodes" % sys.version_info[:3],
    "highestProtocol": pickle.HIGHEST_PROTOCOL,
    "argN": {
        "UP_TO_NEWLINE": pickletools.UP_TO_NEWLINE,
        "TAKEN_FROM_ARGUMENT1": pickletools.TAKEN_FROM_ARGUMENT1,
        "TAKEN_FROM_ARGUMENT4": pickletools.TAKEN_FROM_ARGUMENT4,
        "TAKEN_FROM_ARGUMENT4U": pickletools.TAKEN_FROM_ARGUMENT4U,
        "TAKEN_FROM_ARGUMENT8U": pickletools.TAKEN_FROM_ARGUMENT8U,
    },
    "opcodes": ops,
}
with open("test/formats/pickle/data/pickletools-opcodes.json", "w") as f:
    json.dump(out, f, indent=2, ensure_ascii=True)
    f.write("\n")
