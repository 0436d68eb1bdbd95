/**
 * Code references transformers and sentence-transformers import that once scanned `clean`:
 * `auto_map` values ending in a dot, nested in processor sub-configs, or written as dicts, and
 * sentence-transformers `modules.json` types.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStrictJson } from "../../../src/core/json.js";
import { codeReferences, collectReferences, parseReference } from "../../../src/formats/hf/auto-map.js";
import { scan } from "../../../src/scan/engine.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const json = (v: unknown) => bytes(JSON.stringify(v));
const nest = (v: unknown, n: number): unknown => (n === 0 ? v : [nest(v, n - 1)]);

describe("auto_map values transformers imports a module from", () => {
  it("a value ending in a dot imports the module (class name empty)", () => {
    expect(parseReference("a", "modeling_evil.")).toMatchObject({ moduleFile: "modeling_evil.py", className: "" });
    expect(parseReference("a", "org/evil--evil_mod.")).toMatchObject({
      repo: "org/evil",
      moduleFile: "evil_mod.py",
      className: "",
    });
  });

  it("keeps the module name as transformers spells it (no trimming)", () => {
    expect(parseReference("a", " modeling_x.X")?.moduleFile).toBe(" modeling_x.py");
  });

  it.each([
    ["local, trailing dot", { AutoConfig: "modeling_evil.", AutoModel: "modeling_evil." }, "repo/remote-code"],
    ["external, trailing dot", { AutoConfig: "org/evil--evil_mod." }, "repo/remote-code-external"],
  ])("config.json %s is reported", async (_label, autoMap, rule) => {
    const file = await scanOne(json({ model_type: "bert", auto_map: autoMap }), "config.json");
    expect(ruleIds(file)).toContain(rule);
    expect(file.verdict).not.toBe("clean");
  });

  it.each([
    ["no dot", "NoDot"],
    ["empty", ""],
    ["a number", 7],
    ["a boolean", true],
    ["a deeply nested value", nest("m.C", 12)],
  ])("a value modelgate cannot read (%s) is at least a medium finding", async (_label, value) => {
    const { unread } = collectReferences(parseStrictJson(JSON.stringify({ auto_map: { AutoModel: value } })).value);
    expect(unread.map((u) => u.declaredAt)).toEqual([expect.stringMatching(/^auto_map\.AutoModel/)]);
    const file = await scanOne(json({ auto_map: { AutoModel: value } }), "config.json");
    expect(ruleIds(file)).toContain("repo/remote-code");
    expect(file.verdict).not.toBe("clean");
  });

  it("nulls (tokenizer pairs without a fast class) are not findings", () => {
    const { refs, unread } = collectReferences(
      parseStrictJson(JSON.stringify({ auto_map: { AutoTokenizer: ["tok.T", null] } })).value,
    );
    expect(refs.map((r) => r.moduleFile)).toEqual(["tok.py"]);
    expect(unread).toEqual([]);
  });
});

describe("auto_map in processor sub-configs and dict values", () => {
  it("finds auto_map nested in image_processor / feature_extractor / video_processor", () => {
    const root = parseStrictJson(
      JSON.stringify({
        processor_class: "LlavaProcessor",
        image_processor: { auto_map: { AutoImageProcessor: "attacker/evil--image_processing_evil.E" } },
        feature_extractor: { auto_map: { AutoFeatureExtractor: "fe.Evil" } },
        video_processor: { auto_map: { AutoVideoProcessor: "vp.Evil" } },
      }),
    ).value;
    expect(codeReferences(root).map((r) => `${r.declaredAt}=${r.repo ?? ""}:${r.moduleFile}`)).toEqual([
      "image_processor.auto_map.AutoImageProcessor=attacker/evil:image_processing_evil.py",
      "feature_extractor.auto_map.AutoFeatureExtractor=:fe.py",
      "video_processor.auto_map.AutoVideoProcessor=:vp.py",
    ]);
  });

  it("reads dict values ({pil, torchvision}) as image_processing_auto does", () => {
    const root = parseStrictJson(
      JSON.stringify({ auto_map: { AutoImageProcessor: { pil: "org/e--a.A", torchvision: "b.B" } } }),
    ).value;
    expect(codeReferences(root).map((r) => `${r.declaredAt}=${r.moduleFile}`)).toEqual([
      "auto_map.AutoImageProcessor.pil=a.py",
      "auto_map.AutoImageProcessor.torchvision=b.py",
    ]);
  });

  it("processor_config.json with a nested external auto_map is malicious", async () => {
    const file = await scanOne(
      json({ image_processor: { auto_map: { AutoImageProcessor: "/tmp/evilrepo--evil_mod.Evil" } } }),
      "processor_config.json",
    );
    expect(ruleIds(file)).toContain("repo/remote-code-external");
    expect(file.verdict).toBe("malicious");
  });

  it("preprocessor_config.json with a dict-valued auto_map is malicious", async () => {
    const file = await scanOne(
      json({
        auto_map: { AutoImageProcessor: { pil: "/tmp/e--evil_mod.Evil", torchvision: "/tmp/e--evil_mod.Evil" } },
      }),
      "preprocessor_config.json",
    );
    expect(ruleIds(file)).toContain("repo/remote-code-external");
    expect(file.verdict).toBe("malicious");
  });
});

describe("sentence-transformers modules.json", () => {
  it("standard sentence_transformers modules are clean", async () => {
    const file = await scanOne(
      json([
        { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
        { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
        { idx: 2, name: "2", path: "2_Normalize", type: "sentence_transformers.models.Normalize" },
      ]),
      "modules.json",
    );
    expect(file.findings).toEqual([]);
  });

  it("a type from another repository is remote-code-external", async () => {
    const file = await scanOne(
      json([{ idx: 0, name: "0", path: "", type: "/tmp/hr/evilrepo--evil_mod.Evil" }]),
      "modules.json",
    );
    expect(ruleIds(file)).toEqual(["repo/remote-code-external"]);
    expect(file.verdict).toBe("malicious");
  });

  it("a local type is remote code, and an unreadable one is not silent", async () => {
    const local = await scanOne(json([{ idx: 0, name: "0", path: "", type: "custom_st.Transformer" }]), "modules.json");
    expect(ruleIds(local)).toContain("repo/remote-code");
    expect(local.verdict).not.toBe("clean");
    const odd = await scanOne(json([{ idx: 0, name: "0", path: "", type: 12 }]), "modules.json");
    expect(ruleIds(odd)).toContain("repo/remote-code");
  });

  describe("in a directory", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "modelgate-hf-st-"));
      await mkdir(join(dir, "m"), { recursive: true });
      await writeFile(
        join(dir, "m", "modules.json"),
        JSON.stringify([
          { idx: 0, name: "0", path: "", type: "custom_st.Transformer" },
          { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
          { idx: 2, name: "2", path: "2", type: "gone_mod.X" },
        ]),
      );
      await writeFile(join(dir, "m", "custom_st.py"), "class Transformer: pass\n");
      await writeFile(
        join(dir, "m", "processor_config.json"),
        JSON.stringify({ image_processor: { auto_map: { AutoImageProcessor: "image_processing_m.P" } } }),
      );
      await writeFile(join(dir, "m", "image_processing_m.py"), "class P: pass\n");
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("marks the modules that run and names the missing ones", async () => {
      const report = await scan(join(dir, "m"));
      const byPath = new Map(report.files.map((f) => [f.path, f]));
      const remote = (p: string) =>
        byPath.get(p)?.findings.some((f) => f.ruleId === "repo/remote-code" && f.evidence?.config !== undefined);
      expect(remote("custom_st.py")).toBe(true);
      expect(remote("image_processing_m.py")).toBe(true);
      expect(
        byPath
          .get("modules.json")
          ?.findings.filter((f) => f.ruleId === "repo/remote-code-missing")
          .map((f) => f.evidence?.module),
      ).toEqual(["gone_mod.py"]);
      expect(report.verdict).not.toBe("clean");
    });
  });
});

describe("auto_map in a config nested past the parser's budget", () => {
  it("is still reported from the text (Python's parser takes 600 levels)", async () => {
    const deep = `${"[".repeat(600)}${"]".repeat(600)}`;
    const file = await scanOne(
      bytes(
        `{"model_type":"bert","auto_map":{"AutoConfig":"/tmp/evilrepo--evil_mod.Evil","AutoModel":"modeling_m.M"},"x":${deep}}`,
      ),
      "config.json",
    );
    expect(ruleIds(file)).toEqual(["repo/invalid-json", "repo/remote-code", "repo/remote-code-external"]);
    expect(file.verdict).toBe("malicious");
  });

  it("an escaped key (auto\\u005fmap) is found too", async () => {
    const deep = `${'{"a":'.repeat(600)}1${"}".repeat(600)}`;
    const file = await scanOne(
      bytes(`{"x":${deep},"auto\\u005fmap":{"AutoImageProcessor":{"pil":"org/e--m.E"}}}`),
      "preprocessor_config.json",
    );
    expect(ruleIds(file)).toContain("repo/remote-code-external");
  });
});
