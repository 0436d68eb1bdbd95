"""Samples for the CycloneDX / policy tests: a tiny Hugging Face-style model directory.

Weights are written by real torch (torch.save, torch.onnx.export). transformers is not installed
here, so config.json and generation_config.json are written with the keys transformers'
save_pretrained writes (architectures, model_type, torch_dtype, transformers_version 4.46.1 -- a
release affected by CVE-2024-11392/11393/11394).
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "teams", "tiny-llama")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)


class TinyLM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(16, 8)
        self.proj = torch.nn.Linear(8, 8)
        self.lm_head = torch.nn.Linear(8, 16, bias=False)

    def forward(self, ids):
        return self.lm_head(torch.relu(self.proj(self.embed_tokens(ids))))


model = TinyLM().eval()
torch.save(model.state_dict(), os.path.join(OUT, "pytorch_model.bin"))
torch.onnx.export(
    model,
    torch.zeros((1, 4), dtype=torch.long),
    os.path.join(OUT, "model.onnx"),
    input_names=["input_ids"],
    output_names=["logits"],
    opset_version=13,
)

config = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 8,
    "vocab_size": 16,
    "num_hidden_layers": 1,
    "torch_dtype": "float32",
    "transformers_version": "4.46.1",
}
with open(os.path.join(OUT, "config.json"), "w") as f:
    json.dump(config, f, indent=2, sort_keys=True)
    f.write("\n")
with open(os.path.join(OUT, "generation_config.json"), "w") as f:
    json.dump({"_from_model_config": True, "transformers_version": "4.46.1"}, f, indent=2)
    f.write("\n")
with open(os.path.join(OUT, "README.md"), "w") as f:
    f.write("# tiny-llama\n\nA 300-parameter test model made by samples/generate/teams.py.\n")
