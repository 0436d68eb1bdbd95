"""Hub-sized samples: real model files larger than a range reader's read-ahead.

The other samples are a few KB, so a Hub scan reads them whole in its first request and says
nothing about how much of a file the analyzers need. These are 0.2-1.2 MB each, made by the
reference writers, so the bytes-transferred tests (test/sources/hub/transfer.test.ts) can check
that a remote scan reads headers and directories, not tensor data:

- ``model.safetensors``: ``safetensors.torch.save_file`` of a small llama-shaped state dict;
- ``model.gguf``: ``gguf.GGUFWriter`` (llama.cpp's writer) with llama metadata and F32/F16 tensors;
- ``pytorch_model.bin``: ``torch.save`` of the same state dict (zip: data.pkl, then one member per
  storage);
- ``forest.pkl``: ``pickle.dumps`` (protocol 4) of a fitted sklearn RandomForestClassifier, which a
  scan must stream whole.

Tensor values are smooth deterministic ramps, so the files compress well in git. Needs Debian's
python3-torch, python3-numpy and python3-sklearn, plus the safetensors and gguf wheels installed in
a directory named by MODELGATE_PYLIB (see formats_a.py). Run with /usr/bin/python3.
"""

import json
import os
import sys
from pathlib import Path

# This directory holds pickle.py (the pickle samples' generator): keep it from shadowing the stdlib.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
import pickle  # noqa: E402

for extra in filter(None, os.environ.get("MODELGATE_PYLIB", "").split(os.pathsep)):
    sys.path.insert(0, extra)

import numpy as np  # noqa: E402
import torch  # noqa: E402

try:
    import gguf  # noqa: E402
    import safetensors.torch  # noqa: E402
except ImportError as error:  # pragma: no cover
    sys.stderr.write(f"hub.py: {error}. Install safetensors and gguf into MODELGATE_PYLIB. Samples left unchanged.\n")
    sys.exit(0)

from sklearn.datasets import make_classification  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "hub"
OUT.mkdir(parents=True, exist_ok=True)

# The embedding and output matrices (320 KiB each) are larger than the zip reader's local-header
# window and the range reader's read-ahead, as real weight matrices are; the rest are small.
HIDDEN, LAYERS, VOCAB = 64, 4, 1280


def ramp(*shape: int, seed: int) -> torch.Tensor:
    n = int(np.prod(shape))
    values = (torch.arange(n, dtype=torch.float32) * (seed + 1) % 97) / 97.0 - 0.5
    return values.reshape(shape)


def state_dict() -> dict[str, torch.Tensor]:
    sd: dict[str, torch.Tensor] = {"model.embed_tokens.weight": ramp(VOCAB, HIDDEN, seed=0)}
    for i in range(LAYERS):
        p = f"model.layers.{i}"
        for j, name in enumerate(["q_proj", "k_proj", "v_proj", "o_proj"]):
            sd[f"{p}.self_attn.{name}.weight"] = ramp(HIDDEN, HIDDEN, seed=10 * i + j)
        sd[f"{p}.mlp.up_proj.weight"] = ramp(2 * HIDDEN, HIDDEN, seed=10 * i + 5)
        sd[f"{p}.mlp.down_proj.weight"] = ramp(HIDDEN, 2 * HIDDEN, seed=10 * i + 6)
        sd[f"{p}.input_layernorm.weight"] = torch.ones(HIDDEN)
    sd["model.norm.weight"] = torch.ones(HIDDEN)
    sd["lm_head.weight"] = ramp(VOCAB, HIDDEN, seed=99)
    return sd


def main() -> None:
    sd = state_dict()
    safetensors.torch.save_file(sd, OUT / "model.safetensors", metadata={"format": "pt"})
    safetensors.torch.load_file(OUT / "model.safetensors")  # the reference reader accepts it

    torch.save(sd, OUT / "pytorch_model.bin")
    assert torch.equal(torch.load(OUT / "pytorch_model.bin")["lm_head.weight"], sd["lm_head.weight"])

    writer = gguf.GGUFWriter(str(OUT / "model.gguf"), "llama")
    writer.add_name("hub-sample")
    writer.add_context_length(256)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(2 * HIDDEN)
    writer.add_head_count(4)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model("llama")
    writer.add_token_list([f"tok{i}".encode() for i in range(VOCAB)])
    writer.add_token_scores([0.0] * VOCAB)
    writer.add_token_types([1] * VOCAB)
    writer.add_chat_template("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}")
    writer.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"].numpy())
    for i in range(LAYERS):
        p = f"model.layers.{i}"
        writer.add_tensor(f"blk.{i}.attn_q.weight", sd[f"{p}.self_attn.q_proj.weight"].numpy().astype(np.float16))
        writer.add_tensor(f"blk.{i}.attn_k.weight", sd[f"{p}.self_attn.k_proj.weight"].numpy().astype(np.float16))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", sd[f"{p}.mlp.up_proj.weight"].numpy())
        writer.add_tensor(f"blk.{i}.attn_norm.weight", sd[f"{p}.input_layernorm.weight"].numpy())
    writer.add_tensor("output.weight", sd["lm_head.weight"].numpy())
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    gguf.GGUFReader(str(OUT / "model.gguf"))  # llama.cpp's reader accepts it

    x, y = make_classification(n_samples=400, n_features=12, random_state=0)
    forest = RandomForestClassifier(n_estimators=40, random_state=0).fit(x, y)
    (OUT / "forest.pkl").write_bytes(pickle.dumps(forest, protocol=4))

    expected = {
        "hub/model.safetensors": {"verdict": "clean"},
        "hub/model.gguf": {"verdict": "clean"},
        "hub/pytorch_model.bin": {"verdict": "clean"},
        "hub/forest.pkl": {"verdict": "clean"},
    }
    (OUT / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    for name in sorted(expected):
        print(name, (OUT.parent / name).stat().st_size)


main()
