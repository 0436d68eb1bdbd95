#!/usr/bin/python3
"""Samples for the Torch7, GGML/GGJT, TensorRT and llamafile analyzers.

None of the real tools is available here: Lua Torch, llama.cpp's pre-GGUF converters, TensorRT
and llamafile are not packaged in Debian. Every file is therefore written by this generator
exactly as the formats' public descriptions lay them out, and says so:

- Torch7 (samples/torch7/): the torch.File object format of torch7's File.lua (writeObject):
  int32 type tags NIL 0, NUMBER 1 (double), STRING 2 (int32 length + bytes), TABLE 3
  (int32 reference id, int32 size, key/value objects), TORCH 4 (id, "V <n>", class name, then
  the class's write: tensors nDimension, sizes and strides as int64, storageOffset (1-based), the
  storage object; storages an int64 size and raw elements; nn modules their field table),
  BOOLEAN 5 (int32), RECUR_FUNCTION 8 (id, int32 length + string.dump bytes, upvalues table).
  The ASCII variant writes the same values as text (numbers separated by newlines, raw strings
  followed by a newline). The serialized function is a Lua 5.1 bytecode chunk assembled by
  hand after lundump.c's layout: it calls os.execute("echo pwned") (harmless).
- GGML/GGJT (samples/ggml/): llama.cpp's pre-GGUF layout as its old converters wrote it (magic
  uint32 'ggml'/'ggmf'/'ggjt', version, 7 int32 hyperparameters, the vocabulary as length-prefixed
  strings with float32 scores (none in unversioned files), then tensors: int32 n_dims, name
  length, type, dims, name, data aligned to 32 bytes in ggjt) and whisper.cpp's 'ggml' layout.
- TensorRT (samples/tensorrt/): engines are a proprietary NVIDIA format; only their opening is
  public knowledge (the 'ftrt'/'ptrt' tag, optionally preceded by an int32-length JSON metadata
  block as Ultralytics exports write). The bodies here are filler with the strings a plugin-using
  engine carries (plugin creator names, a plugin library path).
- llamafile (samples/llamafile/): a real llamafile is hundreds of MB. The sample is APE-shaped:
  the 'MZqFpD=' shell-compatible header, a filler "program", then a zip (stored, 64-byte
  aligned members) holding a small GGUF from samples/gguf/ and a .args file, as llamafile's
  zipalign lays them out.

Run with /usr/bin/python3. Outputs and expected.json files under samples/<area>/.
"""

import json
import os
import struct
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
EXPECTED = {}


def out(area, rel):
    path = os.path.join(ROOT, area, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def expect(area, rel, verdict, rules=(), absent=()):
    entry = {"verdict": verdict, "rules": list(rules)}
    if absent:
        entry["absentRules"] = list(absent)
    EXPECTED.setdefault(area, {})[f"{area}/{rel}"] = entry


def write(area, rel, data, verdict, rules=(), absent=()):
    with open(out(area, rel), "wb") as f:
        f.write(data)
    expect(area, rel, verdict, rules, absent)


# ---------------------------------------------------------------------------------------------
# Torch7


class Tensor:
    def __init__(self, cls, shape, values):
        self.cls, self.shape, self.values = cls, shape, values


class Obj:
    """A torch class instance written with torch's default write (its field table)."""

    def __init__(self, cls, fields, version=1):
        self.cls, self.fields, self.version = cls, fields, version


class Func:
    def __init__(self, dump):
        self.dump = dump


class T7Writer:
    def __init__(self, ascii=False):
        self.ascii = ascii
        self.parts = []
        self.next_id = 0

    def int(self, v):
        self.parts.append(f"{v}\n".encode() if self.ascii else struct.pack("<i", v))

    def long(self, v):
        self.parts.append(f"{v}\n".encode() if self.ascii else struct.pack("<q", v))

    def double(self, v):
        self.parts.append(f"{v:.17g}\n".encode() if self.ascii else struct.pack("<d", v))

    def chars(self, b):
        self.parts.append(b + b"\n" if self.ascii else b)

    def string(self, s):
        b = s.encode() if isinstance(s, str) else s
        self.int(len(b))
        self.chars(b)

    def new_id(self):
        self.next_id += 1
        return self.next_id

    def obj(self, o):
        if o is None:
            self.int(0)
        elif isinstance(o, bool):
            self.int(5)
            self.int(1 if o else 0)
        elif isinstance(o, (int, float)):
            self.int(1)
            self.double(float(o))
        elif isinstance(o, (str, bytes)):
            self.int(2)
            self.string(o)
        elif isinstance(o, dict):
            self.int(3)
            self.int(self.new_id())
            self.int(len(o))
            for k, v in o.items():
                self.obj(k)
                self.obj(v)
        elif isinstance(o, Func):
            self.int(8)
            self.int(self.new_id())
            self.string(o.dump)
            self.obj({})  # upvalues
        elif isinstance(o, Tensor):
            self.int(4)
            self.int(self.new_id())
            self.string("V 1")
            self.string(f"torch.{o.cls}Tensor")
            self.int(len(o.shape))
            stride, strides = 1, []
            for d in reversed(o.shape):
                strides.insert(0, stride)
                stride *= d
            for d in o.shape:
                self.long(d)
            for s in strides:
                self.long(s)
            self.long(1)  # storageOffset, 1-based
            if not o.shape:
                self.int(0)  # no storage
                return
            self.int(4)
            self.int(self.new_id())
            self.string("V 1")
            self.string(f"torch.{o.cls}Storage")
            self.long(len(o.values))
            if self.ascii:
                self.parts.append((" ".join(f"{v:.9g}" for v in o.values) + "\n").encode())
            else:
                fmt = {"Float": "f", "Double": "d", "Long": "q", "Int": "i", "Byte": "B"}[o.cls]
                self.parts.append(struct.pack(f"<{len(o.values)}{fmt}", *o.values))
        elif isinstance(o, Obj):
            self.int(4)
            self.int(self.new_id())
            self.string(f"V {o.version}")
            self.string(o.cls)
            self.obj(o.fields)
        else:
            raise TypeError(o)

    def bytes(self):
        return b"".join(self.parts)


def t7(o, ascii=False):
    w = T7Writer(ascii)
    w.obj(o)
    return w.bytes()


def lua51_chunk_os_execute(cmd):
    """A Lua 5.1 main chunk `os.execute(cmd)`, laid out as lundump.c reads it."""

    def lstring(s):
        b = s.encode() + b"\0"
        return struct.pack("<Q", len(b)) + b

    def abc(op, a, b, c):
        return struct.pack("<I", op | (a << 6) | (c << 14) | (b << 23))

    def abx(op, a, bx):
        return struct.pack("<I", op | (a << 6) | (bx << 14))

    GETGLOBAL, GETTABLE, LOADK, CALL, RETURN = 5, 6, 1, 28, 30
    code = [
        abx(GETGLOBAL, 0, 0),  # R0 = _G["os"]
        abc(GETTABLE, 0, 0, 256 + 1),  # R0 = R0["execute"]
        abx(LOADK, 1, 2),  # R1 = cmd
        abc(CALL, 0, 2, 1),  # R0(R1)
        abc(RETURN, 0, 1, 0),
    ]
    constants = [b"\x04" + lstring(s) for s in ("os", "execute", cmd)]
    header = b"\x1bLua\x51\x00\x01\x04\x08\x04\x08\x00"
    fn = (
        lstring("=model")
        + struct.pack("<ii", 0, 0)
        + bytes([0, 0, 2, 2])  # upvalues, params, is_vararg, max stack
        + struct.pack("<i", len(code))
        + b"".join(code)
        + struct.pack("<i", len(constants))
        + b"".join(constants)
        + struct.pack("<i", 0)  # prototypes
        + struct.pack("<iii", 0, 0, 0)  # line info, locals, upvalue names
    )
    return header + fn


def linear(n_in, n_out, seed):
    w = [((i * 7 + seed) % 11 - 5) / 10 for i in range(n_in * n_out)]
    b = [((i + seed) % 5 - 2) / 10 for i in range(n_out)]
    return Obj(
        "nn.Linear",
        {
            "weight": Tensor("Float", [n_out, n_in], w),
            "bias": Tensor("Float", [n_out], b),
            "gradWeight": Tensor("Float", [n_out, n_in], [0.0] * (n_in * n_out)),
            "gradBias": Tensor("Float", [n_out], [0.0] * n_out),
            "output": Tensor("Float", [], []),
            "gradInput": Tensor("Float", [], []),
            "train": True,
            "_type": "torch.FloatTensor",
        },
    )


def sequential(modules):
    return Obj(
        "nn.Sequential",
        {
            "modules": {float(i + 1): m for i, m in enumerate(modules)},
            "output": Tensor("Float", [], []),
            "gradInput": Tensor("Float", [], []),
            "train": False,
            "_type": "torch.FloatTensor",
        },
    )


def relu():
    return Obj(
        "nn.ReLU",
        {"inplace": False, "threshold": 0, "val": 0, "output": Tensor("Float", [], []), "gradInput": Tensor("Float", [], [])},
    )


def torch7_samples():
    area = "torch7"
    benign = sequential([linear(4, 3, 1), relu(), linear(3, 2, 2)])
    write(area, "benign/sequential.t7", t7(benign), "clean")
    write(area, "benign/sequential-ascii.t7", t7(sequential([linear(3, 2, 3)]), ascii=True), "clean")
    write(area, "benign/tensor.t7", t7(Tensor("Double", [2, 2], [1.0, 2.0, 3.0, 4.0])), "clean")

    dump = lua51_chunk_os_execute("echo pwned")
    evil = linear(2, 2, 4)
    evil.fields["updateOutput"] = Func(dump)
    write(
        area,
        "malicious/serialized-function.t7",
        t7(sequential([evil])),
        "malicious",
        ["torch7/serialized-function"],
    )
    data = t7(sequential([evil]))
    cut = data.index(b"\x1bLua") + len(dump) + 6
    write(
        area,
        "malicious/truncated-after-function.t7",
        data[:cut],
        "malicious",
        ["torch7/serialized-function", "torch7/malformed"],
    )
    # Function found only by its signature: the walk breaks before it (an unknown tag).
    w = T7Writer()
    w.int(3)
    w.int(1)
    w.int(2)
    w.obj("x")
    w.int(42)  # no such type tag
    w.int(8)
    w.int(2)
    w.string(dump)
    w.obj({})
    write(area, "malicious/bytecode-after-break.t7", w.bytes(), "malicious", ["torch7/serialized-function", "torch7/malformed"])

    unknown = sequential([linear(2, 2, 5), Obj("evil.Loader", {"cmd": "id"})])
    write(area, "suspicious/unknown-class.t7", t7(unknown), "suspicious", ["torch7/unknown-class"])
    write(area, "invalid/truncated.t7", t7(benign)[:200], "invalid", ["torch7/malformed"])


# ---------------------------------------------------------------------------------------------
# GGML / GGMF / GGJT (llama.cpp before GGUF) and whisper.cpp ggml

GGML_TYPE_BYTES = {0: (1, 4), 1: (1, 2), 2: (32, 18), 8: (32, 34)}  # ggjt v3 sizes
MAGIC = {"ggml": 0x67676D6C, "ggmf": 0x67676D66, "ggjt": 0x67676A74}


def ggml_tensor(buf, name, dims, ttype, aligned, old_sizes=False):
    nb = name.encode()
    buf += struct.pack("<iii", len(dims), len(nb), ttype)
    buf += struct.pack(f"<{len(dims)}i", *dims)
    buf += nb
    if aligned:
        buf += b"\0" * ((-len(buf)) % 32)
    block, size = GGML_TYPE_BYTES[ttype]
    if old_sizes and ttype == 2:
        size = 20
    n = 1
    for d in dims:
        n *= d
    buf += bytes((i * 13) & 0xFF for i in range(n // block * size))
    return buf


def llama_ggml(magic, version=None, dup=False, tensor_type=0):
    buf = bytearray(struct.pack("<I", MAGIC[magic]))
    if version is not None:
        buf += struct.pack("<I", version)
    vocab = [b"<unk>", b"<s>", b"</s>", b"\xe2\x96\x81the", b"a", b"b"]
    n_embd = 32
    buf += struct.pack("<7i", len(vocab), n_embd, 256, 2, 1, 16, 0 if tensor_type == 0 else 2)
    for i, tok in enumerate(vocab):
        buf += struct.pack("<I", len(tok)) + tok
        if version is not None:
            buf += struct.pack("<f", -float(i))
    aligned = magic == "ggjt"
    old = version is None or version < 3
    buf = ggml_tensor(buf, "tok_embeddings.weight", [n_embd, len(vocab)], tensor_type, aligned, old)
    buf = ggml_tensor(buf, "norm.weight", [n_embd], 0, aligned)
    buf = ggml_tensor(buf, "output.weight" if not dup else "norm.weight", [n_embd, len(vocab)], tensor_type, aligned, old)
    return bytes(buf)


def whisper_ggml():
    buf = bytearray(struct.pack("<I", MAGIC["ggml"]))
    vocab = [b"!", b'"', b"#", b"the"]
    # n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state,
    # n_text_head, n_text_layer, n_mels, ftype
    buf += struct.pack("<11i", len(vocab), 8, 16, 2, 1, 8, 16, 2, 1, 4, 1)
    buf += struct.pack("<ii", 4, 5) + struct.pack("<20f", *[i / 20 for i in range(20)])
    buf += struct.pack("<i", len(vocab))
    for tok in vocab:
        buf += struct.pack("<I", len(tok)) + tok
    buf = ggml_tensor(buf, "encoder.positional_embedding", [16, 8], 0, False)
    buf = ggml_tensor(buf, "decoder.token_embedding.weight", [16, len(vocab)], 1, False)
    return bytes(buf)


def ggml_samples():
    area = "ggml"
    write(area, "benign/llama-ggjt-v3.bin", llama_ggml("ggjt", 3, tensor_type=2), "clean")
    write(area, "benign/llama-ggjt-v1.bin", llama_ggml("ggjt", 1, tensor_type=2), "clean")
    write(area, "benign/llama-ggmf.bin", llama_ggml("ggmf", 1), "clean")
    write(area, "benign/llama-unversioned.bin", llama_ggml("ggml"), "clean")
    write(area, "benign/ggml-tiny-whisper.bin", whisper_ggml(), "clean")
    good = llama_ggml("ggjt", 3)
    write(area, "invalid/truncated.bin", good[:-7], "invalid", ["ggml/malformed"])
    bad = bytearray(good)
    struct.pack_into("<i", bad, 8, 0x7FFFFFFF)  # n_vocab larger than the file
    write(area, "invalid/vocab-too-large.bin", bytes(bad), "invalid", ["ggml/malformed"])
    write(area, "invalid/duplicate-tensor.bin", llama_ggml("ggjt", 3, dup=True), "invalid", ["ggml/duplicate-tensor"])
    bad = bytearray(good)
    struct.pack_into("<I", bad, 4, 9)  # ggjt version 9
    write(area, "invalid/unknown-version.ggml", bytes(bad), "invalid", ["ggml/malformed"])


# ---------------------------------------------------------------------------------------------
# llamafile: an APE-shaped executable with a zip of stored, aligned members appended


def zip_aligned(prefix_len, members, align=64):
    """A zip whose offsets count from the start of the whole file (as zipalign writes them)."""
    import zlib

    body, central = bytearray(), bytearray()
    for name, data in members:
        nb = name.encode()
        offset = prefix_len + len(body)
        pad = (-(offset + 30 + len(nb))) % align
        extra = b""
        if pad:
            pad = pad if pad >= 4 else pad + align
            extra = struct.pack("<HH", 0x6666, pad - 4) + b"\0" * (pad - 4)
        crc = zlib.crc32(data)
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, crc, len(data), len(data), len(nb), len(extra))
        body += nb + extra + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 0x031E, 20, 0, 0, 0, 0x21, crc, len(data), len(data), len(nb), 0, 0, 0, 0, 0o100644 << 16, offset
        )
        central += nb
    cd_offset = prefix_len + len(body)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), cd_offset, 0)
    return bytes(body + central + end)


def ape_stub():
    head = bytearray(b"MZqFpD='\n")
    head += b"\0" * (0x3C - len(head))
    head += struct.pack("<I", 0x80)
    head += b"\n'\n# synthetic APE-shaped stub for tests: not a program\nexit 1\n"
    head += b"\0" * (0x80 - len(head))
    head += b"PE\0\0" + struct.pack("<HH", 0x8664, 0) + b"\0" * 16
    head += b"\0" * ((-len(head)) % 512)
    return bytes(head)


def llamafile_samples():
    area = "llamafile"
    with open(os.path.join(ROOT, "gguf", "clean-v2.gguf"), "rb") as f:
        gguf = f.read()
    with open(os.path.join(ROOT, "gguf", "malicious-template.gguf"), "rb") as f:
        evil_gguf = f.read()
    stub = ape_stub()
    args = b"-m\nmodel.gguf\n--host\n127.0.0.1\n...\n"
    write(
        area,
        "tiny.llamafile",
        stub + zip_aligned(len(stub), [(".args", args), ("model.gguf", gguf)]),
        "malicious",
        ["llamafile/executable"],
        ["format/executable"],
    )
    write(
        area,
        "template.llamafile",
        stub + zip_aligned(len(stub), [(".args", args), ("model.gguf", evil_gguf)]),
        "malicious",
        ["llamafile/executable", "template/dunder-access"],
    )
    jart = b"jartsr='" + stub[8:]
    write(
        area,
        "jartsr.llamafile",
        jart + zip_aligned(len(jart), [(".args", args), ("model.gguf", gguf)]),
        "malicious",
        ["llamafile/executable"],
    )
    write(area, "no-weights.llamafile", stub + zip_aligned(len(stub), [(".args", args)]), "malicious", ["llamafile/executable"])


# ---------------------------------------------------------------------------------------------
# TensorRT engines: only the opening is public (tag, then a uint32 serialization tag); the body is
# filler standing in for NVIDIA's undocumented layout, with the strings the tests look for.


def trt_engine(tag=b"ftrt", strings=(), extra=b""):
    body = bytearray(tag + struct.pack("<IIQ", 0x61, 0, 4096))
    body += bytes((i * 37 + 11) & 0xFF for i in range(512))
    for text in strings:
        body += struct.pack("<I", len(text)) + text.encode() + b"\0"
        body += bytes((i * 53 + 7) & 0xFF for i in range(64))
    body += extra
    return bytes(body)


def tensorrt_samples():
    area = "tensorrt"
    layers = ("input_0", "model.0.conv.weight", "Reformatting CopyNode for Input Tensor 0", "output_0")
    write(area, "resnet.engine", trt_engine(strings=layers), "suspicious", ["tensorrt/opaque-engine"], ["tensorrt/plugin-reference"])
    write(
        area,
        "yolo-nms.plan",
        trt_engine(strings=layers + ("EfficientNMS_TRT", "1", "libcustom_nms_plugin.so")),
        "suspicious",
        ["tensorrt/opaque-engine", "tensorrt/plugin-reference"],
    )
    meta = json.dumps({"description": "synthetic export", "task": "detect", "batch": 1, "imgsz": [64, 64]}).encode()
    write(
        area,
        "ultralytics-metadata.engine",
        struct.pack("<i", len(meta)) + meta + trt_engine(tag=b"ptrt", strings=layers),
        "suspicious",
        ["tensorrt/opaque-engine"],
    )
    elf = b"\x7fELF\x02\x01\x01\x00" + b"\0" * 8 + struct.pack("<HHI", 3, 0x3E, 1) + b"\0" * 40
    write(
        area,
        "embedded-plugin-library.trt",
        trt_engine(strings=layers + ("MyCustomPluginDynamic",), extra=elf),
        "malicious",
        ["tensorrt/embedded-library", "tensorrt/plugin-reference"],
    )


# ---------------------------------------------------------------------------------------------


def main():
    torch7_samples()
    ggml_samples()
    llamafile_samples()
    tensorrt_samples()
    for area, entries in EXPECTED.items():
        with open(out(area, "expected.json"), "w") as f:
            json.dump(entries, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
