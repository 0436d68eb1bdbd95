"""Writes marshal seeds for the marshal fuzz target, made by the running CPython.

Code objects change shape between Python versions, so run it with every interpreter at hand:

    for v in 3.8 3.9 3.10 3.11 3.12 3.13; do python$v test/fuzz/python/marshal_seeds.py test/fuzz/seeds/marshal; done

(any CPython ≥ 3.8 works; the files are committed, tests never need Python).
"""
import marshal
import os
import sys

SNIPPETS = {
    "module": "import os\nx = [1, 2.5, 3j, 'é', b'b', None, True, ...]\nos.system('id')\n",
    "closure": (
        "def outer(a, *args, b=2, **kw):\n"
        "    c = {a: b}\n"
        "    def inner():\n"
        "        nonlocal c\n"
        "        return [c, args, kw, frozenset({1, 2})]\n"
        "    return inner\n"
    ),
    "classy": (
        "class K:\n"
        "    def __reduce__(self):\n"
        "        return (eval, ('__import__(\"os\").system(\"id\")',))\n"
        "async def f():\n"
        "    async with x as y:\n"
        "        await y\n"
        "lam = lambda q: (yield q)\n"
    ),
}

DATA = {
    "values": (0, -1, 2**31, 2**64 + 1, -(2**100), 1.5, float("inf"), 2 + 3j, "str", "é" * 3, b"\x00\xff", None,
               True, False, ..., StopIteration),
    "containers": [{"k": [1, (2, 3)], "s": {4, 5}, "f": frozenset({"a"})}, [], (), {}, set()],
    "refs": [("shared",) * 3, ["x"] * 4],
}


def main() -> None:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    tag = f"py{sys.version_info[0]}{sys.version_info[1]}"
    for name, src in SNIPPETS.items():
        code = compile(src, f"<{name}>", "exec")
        for version in (4,) if sys.version_info >= (3, 4) else (2,):
            with open(os.path.join(out, f"{tag}-{name}-v{version}.bin"), "wb") as f:
                f.write(marshal.dumps(code, version))
    for name, value in DATA.items():
        for version in (2, 4):
            with open(os.path.join(out, f"{tag}-{name}-v{version}.bin"), "wb") as f:
                f.write(marshal.dumps(value, version))


if __name__ == "__main__":
    main()
