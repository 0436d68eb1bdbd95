/**
 * The collectors of code references (`auto_map`, diffusers components, remote-code modules and
 * their relative imports) never drop a reference past a cap silently: each item is judged, or the
 * overflow makes the file non-clean (`scan/budget-exceeded`). An attacker pads with harmless
 * entries so the dangerous one comes past the cap.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { JsonObject } from "../../../src/core/json.js";
import { collectReferences, relativeImports } from "../../../src/formats/hf/auto-map.js";
import { salvageReferences, specialTokens } from "../../../src/formats/hf/json-analyzer.js";
import { diffusersComponents } from "../../../src/formats/hf/loader-references.js";
import { parseConfigJson } from "../../../src/formats/hf/text.js";
import { scan } from "../../../src/index.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** n harmless `auto_map` entries, then one that loads another repository's code. */
function paddedAutoMap(n: number): Record<string, string> {
  const map: Record<string, string> = {};
  for (let i = 0; i < n; i++) map[`Pad${i}`] = "configuration_x.XConfig";
  map.AutoModel = "attacker/other--modeling_x.XModel";
  return map;
}

async function withDir(build: (dir: string) => Promise<void>, check: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "mg-caps-"));
  try {
    await build(dir);
    await check(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("auto_map padded past the reference budget", () => {
  it("200 harmless entries then another repository's class: it is judged (high)", async () => {
    const file = await scanOne(json({ model_type: "x", auto_map: paddedAutoMap(200) }), "config.json");
    expect(ruleIds(file)).toContain("repo/remote-code-external");
    expect(file.verdict).toBe("malicious");
  });

  it("a local class past the cap makes the file non-clean (scan/budget-exceeded)", async () => {
    const map = paddedAutoMap(200);
    map.Later = "modeling_later.Later";
    const file = await scanOne(json({ model_type: "x", auto_map: map }), "config.json");
    const f = file.findings.find((x) => x.ruleId === "scan/budget-exceeded");
    expect(f?.evidence?.budget).toBe("hf.autoMapReferences");
    expect(ruleIds(file)).toContain("repo/remote-code-external");
  });

  it("other repositories' classes past twice the cap overflow", () => {
    const map: Record<string, string> = {};
    for (let i = 0; i < 450; i++) map[`E${i}`] = `org/r${i}--m.X`;
    const refs = collectReferences(parseConfigJson(JSON.stringify({ auto_map: map })).value);
    expect(refs.refs).toHaveLength(400);
    expect(refs.overflow).toBe("hf.autoMapReferences");
  });

  it("a few entries are all judged, with no overflow", () => {
    const refs = collectReferences(parseConfigJson(JSON.stringify({ auto_map: paddedAutoMap(150) })).value);
    expect(refs.overflow).toBeUndefined();
    expect(refs.refs.some((r) => r.repo === "attacker/other")).toBe(true);
  });

  it("an auto_map nested as deep as the config parser allows is still found", () => {
    let v: unknown = { auto_map: { AutoModel: "attacker/other--m.X" } };
    for (let i = 0; i < 500; i++) v = { sub: v };
    const refs = collectReferences(parseConfigJson(JSON.stringify(v)).value);
    expect(refs.overflow).toBeUndefined();
    expect(refs.refs.map((r) => r.repo)).toEqual(["attacker/other"]);
  });

  it("salvaged auto_maps of an invalid config past the budget overflow", () => {
    const maps = Array.from({ length: 25 }, (_, i) => `"auto_map": {"A${i}": "m.X"}`).join(", ");
    const text = `{${maps}, "auto_map": {"AutoModel": "attacker/other--m.X"}, ]`;
    const s = salvageReferences(text);
    expect(s.overflow).toBe("hf.salvagedAutoMaps");
  });

  it("an invalid config with many auto_maps is not clean", async () => {
    const maps = Array.from({ length: 25 }, (_, i) => `"auto_map": {"A${i}": "m.X"}`).join(", ");
    const text = `{${maps}, "auto_map": {"AutoModel": "attacker/other--m.X"}, ]`;
    const file = await scanOne(new TextEncoder().encode(text), "config.json");
    expect(ruleIds(file)).toContain("scan/budget-exceeded");
  });
});

describe("diffusers components past 256 keys", () => {
  const index = () => {
    const root: Record<string, unknown> = { _class_name: "StableDiffusionPipeline", _diffusers_version: "0.30.0" };
    for (let i = 0; i < 300; i++) root[`_pad${i}`] = i;
    root.text_encoder = ["evil_installed_module", "CLIPTextModel"];
    root.unet = ["my_unet", "UNet2DConditionModel"];
    return root;
  };

  it("every component is read, whatever keys come first", () => {
    const names = diffusersComponents(parseConfigJson(JSON.stringify(index())).value as never).map((c) => c.name);
    expect(names).toEqual(["text_encoder", "unet"]);
  });

  it("the installed module and the custom component's code are reported", async () => {
    await withDir(
      async (dir) => {
        await mkdir(join(dir, "unet"));
        await writeFile(join(dir, "model_index.json"), JSON.stringify(index()));
        await writeFile(join(dir, "unet", "my_unet.py"), "import os\nos.system('id')\n");
      },
      async (dir) => {
        const report = await scan(dir);
        const of = (p: string) => report.files.find((f) => f.path === p) ?? expect.fail(p);
        expect(ruleIds(of("model_index.json"))).toContain("repo/installed-module-import");
        expect(ruleIds(of("unet/my_unet.py"))).toContain("repo/remote-code");
      },
    );
  });
});

describe("remote-code modules and their relative imports", () => {
  it("relativeImports lists every relative import", () => {
    const src = `${Array.from({ length: 150 }, (_, i) => `from .m${i} import X${i}`).join("\n")}\nfrom .evil import run\n`;
    expect(relativeImports(src)).toContain("evil.py");
  });

  it("a module imported past the 100th relative import is remote code", async () => {
    await withDir(
      async (dir) => {
        await writeFile(join(dir, "config.json"), JSON.stringify({ auto_map: { AutoModel: "modeling_x.XModel" } }));
        const pads = Array.from({ length: 120 }, (_, i) => `from .pad${i} import P`).join("\n");
        await writeFile(join(dir, "modeling_x.py"), `${pads}\nfrom .evil import run\nclass XModel: pass\n`);
        await writeFile(join(dir, "evil.py"), "def run(): pass\n");
      },
      async (dir) => {
        const report = await scan(dir);
        const evil = report.files.find((f) => f.path === "evil.py") ?? expect.fail("evil.py");
        expect(ruleIds(evil)).toContain("repo/remote-code");
      },
    );
  });

  it("more modules than the repository analysis follows make the config non-clean", async () => {
    await withDir(
      async (dir) => {
        await writeFile(join(dir, "config.json"), JSON.stringify({ auto_map: { AutoModel: "modeling_x.XModel" } }));
        const pads = Array.from({ length: 600 }, (_, i) => `from .pad${i} import P`).join("\n");
        await writeFile(join(dir, "modeling_x.py"), `${pads}\nclass XModel: pass\n`);
      },
      async (dir) => {
        const report = await scan(dir);
        const cfg = report.files.find((f) => f.path === "config.json") ?? expect.fail("config.json");
        const f = cfg.findings.find((x) => x.ruleId === "scan/budget-exceeded");
        expect(f?.evidence?.budget).toBe("hf.remoteCodeModules");
      },
    );
  });
});

describe("special tokens past 10,000 values", () => {
  const config = () => {
    const root: Record<string, unknown> = {};
    for (let i = 0; i < 10_005; i++) root[`pad${i}_token`] = `<p${i}>`;
    root.evil_token = "__globals__";
    return root;
  };

  it("a sandbox-escape token after 10,000 harmless ones is reported", async () => {
    const file = await scanOne(json(config()), "tokenizer_config.json");
    expect(ruleIds(file)).toContain("template/dunder-string");
  });

  it("its template variable is still known", () => {
    const root = parseConfigJson(JSON.stringify(config())).value;
    if (!(root instanceof JsonObject)) throw new Error("not an object");
    expect(specialTokens(root).variables.get("evil_token")).toBe("__globals__");
  });
});
