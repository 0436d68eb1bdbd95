#!/usr/bin/python3
"""Writes src/formats/pickle/data/compat.json: the Python 2 -> 3 module/name renames CPython's
unpickler applies for protocols < 3 (the data of Lib/_compat_pickle.py, as facts).
Run with /usr/bin/python3 from the repository root, then `npx biome check --write src/formats/pickle/data`."""
import json
import _compat_pickle as c

names = sorted([f"{m}\u0000{n}", f"{m2}\u0000{n2}"] for (m, n), (m2, n2) in c.NAME_MAPPING.items())
out = {
    "source": "CPython Lib/_compat_pickle.py (NAME_MAPPING, IMPORT_MAPPING)",
    "importMapping": dict(sorted(c.IMPORT_MAPPING.items())),
    "nameMapping": [[a.replace("\u0000", " "), b.replace("\u0000", " ")] for a, b in names],
}
with open("src/formats/pickle/data/compat.json", "w") as f:
    json.dump(out, f, indent=2, ensure_ascii=True)
    f.write("\n")
