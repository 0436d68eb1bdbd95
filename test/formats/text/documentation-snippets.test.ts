import { describe, expect, it } from "vitest";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const enc = (s: string) => new TextEncoder().encode(s);

// a model card as every Hugging Face repository has one: usage snippets are quoted code
const card = [
  "# all-MiniLM-L6-v2",
  "",
  "## Usage",
  "```python",
  "from sentence_transformers import SentenceTransformer",
  "import torch",
  "model = SentenceTransformer('all-MiniLM-L6-v2')",
  "state = torch.load('pytorch_model.bin')",
  "```",
  "",
].join("\n");

describe("code quoted in documentation is not Python source", () => {
  it.each(["README.md", "notes.txt", "usage.rst", "index.html"])(
    "%s with a usage snippet is clean text",
    async (name) => {
      const file = await scanOne(enc(card), name);
      expect(ruleIds(file)).not.toContain("repo/python-file");
      expect(ruleIds(file)).not.toContain("repo/risky-code");
      expect(file.verdict).toBe("clean");
    },
  );

  it("a token list with `import` on one line and a word on the next is not Python", async () => {
    const file = await scanOne(enc("[PAD]\nthe\nimport\nmodule\n"), "tokens");
    expect(file.format).not.toBe("python");
  });

  it("the same code under a name without a documentation extension is still Python", async () => {
    const file = await scanOne(enc(card.split("\n").slice(4, 8).join("\n")), "modeling_custom");
    expect(file.format).toBe("python");
  });
});
