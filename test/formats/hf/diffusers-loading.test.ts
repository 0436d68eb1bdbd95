/**
 * What diffusers loads beyond a pipeline's own folders: connected pipelines named by the model
 * card's `prior` (Kandinsky, Würstchen, Stable Cascade combined pipelines), the components of a
 * `modular_model_index.json` (`[library, Class, spec]`: the spec's type_hint library is imported,
 * its repository loaded), and a component's `<component>/<library>.py` whatever the library
 * (diffusers looks for it before importing `diffusers`, `transformers` or an older version's
 * unknown pipeline module).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { JsonObject } from "../../../src/core/json.js";
import { modularComponents } from "../../../src/formats/hf/loader-references.js";
import { connectedPipes } from "../../../src/formats/hf/model-card.js";
import { parseConfigJson } from "../../../src/formats/hf/text.js";
import { scan } from "../../../src/index.js";
import type { ScanReport } from "../../../src/report/schema.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

/** Scans a directory made of `files` (path → text). */
async function scanTree(files: Record<string, string>): Promise<ScanReport> {
  const dir = await mkdtemp(join(tmpdir(), "mg-diffusers-loading-"));
  try {
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    return await scan(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const fileOf = (report: ScanReport, path: string) =>
  report.files.find((f) => f.path === path) ?? expect.fail(`no report for ${path}`);

const kandinskyDecoder = (cls: string) =>
  JSON.stringify({
    _class_name: cls,
    _diffusers_version: "0.30.0",
    scheduler: ["diffusers", "DDPMScheduler"],
    unet: ["diffusers", "UNet2DConditionModel"],
    movq: ["diffusers", "VQModel"],
  });

describe("connected pipelines (model card prior)", () => {
  it.each([
    ["a combined pipeline (the reviewer's PoC)", "KandinskyV22CombinedPipeline"],
    ["a decoder that AutoPipeline and load_connected_pipeline=True combine", "KandinskyV22Pipeline"],
  ])("the README's prior beside %s is another model", async (_label, cls) => {
    const report = await scanTree({
      "model_index.json": kandinskyDecoder(cls),
      "README.md":
        "---\nlicense: apache-2.0\nprior:\n- attacker/unscanned-prior\ntags:\n- text-to-image\n---\n# decoder\n",
    });
    const card = fileOf(report, "README.md");
    expect(ruleIds(card)).toEqual(["repo/external-model"]);
    expect(card.findings[0]?.evidence?.path).toBe("attacker/unscanned-prior");
    expect(card.verdict).toBe("suspicious");
    expect(fileOf(report, "model_index.json").verdict).toBe("clean");
  });

  it("a card without prior, or a prior with no model_index.json beside it, is not reported", async () => {
    const plain = await scanTree({
      "model_index.json": kandinskyDecoder("KandinskyV22Pipeline"),
      "README.md": "---\nlicense: apache-2.0\ntags:\n- text-to-image\n---\n# decoder\n",
    });
    expect(plain.files.every((f) => f.verdict === "clean")).toBe(true);
    const alone = await scanTree({
      "config.json": "{}",
      "README.md": "---\nprior:\n- other/prior\n---\n",
    });
    expect(fileOf(alone, "README.md").findings).toEqual([]);
  });

  it.each([
    ["a list", "---\nprior:\n- attacker/x\n---\n# hi\n", "attacker/x"],
    ["leading blank lines", "\n\n---\nprior: [attacker/x]\n---\n", "attacker/x"],
    ["the last duplicate key", "---\nprior: [a/first]\nprior: [b/last]\n---\n", "b/last"],
    ["a merge key", "---\nbase: &b\n  prior: [m/merged]\n<<: *b\n---\n", "m/merged"],
    ["an alias", "---\nx: &p [al/ias]\nprior: *p\n---\n", "al/ias"],
    ["an escaped key", '---\n"pr\\u0069or": [esc/aped]\n---\n', "esc/aped"],
    ["spaces after the closing line", "---\nprior: [t/s]\n---  \nrest\n", "t/s"],
    ["a plain string (its first character)", "---\nprior: attacker/x\n---\n", "a"],
  ])("the prior is read through %s, as huggingface_hub and PyYAML read it", (_label, card, repo) => {
    const pipes = connectedPipes(card, false);
    expect(pipes.map((p) => (p.kind === "repo" ? p.repo : p.kind))).toContain(repo);
  });

  it("a null prior or no front matter names nothing; a mapping is reported as unknown", () => {
    expect(connectedPipes("---\nprior: [null]\n---\n", false)).toEqual([]);
    expect(connectedPipes("---\nprior: ~\n---\n", false)).toEqual([]);
    expect(connectedPipes("# no front matter\nprior: [x/y]\n", false)).toEqual([]);
    expect(connectedPipes("---\nprior: {0: m/ap}\n---\n", false).map((p) => p.kind)).toEqual(["unknown"]);
  });

  it("a front matter that does not end within what was read is unread when it may hold a prior", () => {
    const start = `---\nprior:\n- x/y\n${"k: v\n".repeat(10)}`;
    expect(connectedPipes(start, true).map((p) => p.kind)).toEqual(["unread"]);
    expect(connectedPipes(start, false)).toEqual([]);
    const long = `---\nprior: [x/y]\n${"k: v\n".repeat(600_000)}---\n`;
    expect(connectedPipes(long, false).map((p) => p.kind)).toEqual(["unread"]);
    // a long front matter that cannot spell the key is not parsed at all
    expect(connectedPipes(`---\n${"k: v\n".repeat(600_000)}---\n`, false)).toEqual([]);
  });

  it("runs of line breaks do not make the front matter search slow", () => {
    const started = performance.now();
    expect(connectedPipes(`---${"\r\n".repeat(1 << 20)}`, false)).toEqual([]);
    expect(connectedPipes(`${"\n".repeat(1 << 20)}---\n${"\n".repeat(1 << 20)}`, false)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe("modular_model_index.json components", () => {
  const poc = {
    _class_name: "StableDiffusionXLModularPipeline",
    _diffusers_version: "0.35.0",
    _blocks_class_name: "StableDiffusionXLAutoBlocks",
    text_encoder: [
      null,
      null,
      {
        repo: "attacker/unscanned",
        pretrained_model_name_or_path: "attacker/unscanned",
        subfolder: "text_encoder",
        revision: null,
        variant: null,
        type_hint: ["evil_installed_module", "CLIPTextModel"],
      },
    ],
    unet: [
      null,
      null,
      {
        pretrained_model_name_or_path: "attacker/unscanned",
        subfolder: "unet",
        revision: null,
        variant: null,
        type_hint: ["diffusers", "UNet2DConditionModel"],
      },
    ],
  };

  it("the spec's type_hint library is an import and its repository another model (the reviewer's PoC)", async () => {
    const file = await scanOne(new TextEncoder().encode(JSON.stringify(poc)), "modular_model_index.json");
    expect(ruleIds(file)).toEqual(["repo/external-model", "repo/installed-module-import"]);
    const imports = file.findings.filter((f) => f.ruleId === "repo/installed-module-import");
    expect(imports.map((f) => f.evidence?.library)).toEqual(["evil_installed_module"]);
    const external = file.findings.filter((f) => f.ruleId === "repo/external-model");
    expect(external.map((f) => f.evidence?.declaredAt)).toEqual(["text_encoder", "unet"]);
  });

  const parse = (v: unknown): JsonObject => {
    const root = parseConfigJson(JSON.stringify(v)).value;
    return root instanceof JsonObject ? root : expect.fail("object");
  };

  it("the scanned repository at the scanned revision is not another model; the older `repo` key counts", () => {
    const own = (spec: Record<string, unknown>) =>
      modularComponents(parse({ unet: [null, null, { type_hint: ["diffusers", "UNet2DConditionModel"], ...spec }] }), {
        repo: "Org/Pipe",
        revisions: ["main", "0123abcd"],
      });
    expect(own({ pretrained_model_name_or_path: "org/pipe", subfolder: "unet" })).toEqual([]);
    expect(own({ pretrained_model_name_or_path: "org/pipe", revision: "main" })).toEqual([]);
    expect(own({ pretrained_model_name_or_path: "org/pipe", revision: "other" }).map((r) => r.ruleId)).toEqual([
      "repo/external-model",
    ]);
    expect(own({ pretrained_model_name_or_path: null, repo: "attacker/x" }).map((r) => r.evidence.path)).toEqual([
      "attacker/x",
    ]);
    expect(own({ pretrained_model_name_or_path: ["a/b", "c/d"] }).map((r) => r.ruleId)).toEqual([
      "repo/external-model",
    ]);
  });

  it("type_hint as diffusers unpacks it: a pair, a mapping's keys; pipeline modules and null are not imports", () => {
    const imports = (hint: unknown) =>
      modularComponents(parse({ c: [null, null, { type_hint: hint }] }))
        .filter((r) => r.ruleId === "repo/installed-module-import")
        .map((r) => r.evidence.library);
    expect(imports(["evil", "X"])).toEqual(["evil"]);
    expect(imports({ evil: 1, X: 2 })).toEqual(["evil"]);
    expect(imports(["stable_diffusion", "StableDiffusionSafetyChecker"])).toEqual([]);
    expect(imports(["transformers", "CLIPTextModel"])).toEqual([]);
    expect(imports([null, null])).toEqual([]);
  });

  it("every entry is read: padding does not hide a later component", () => {
    const padded: Record<string, unknown> = {};
    for (let i = 0; i < 2000; i++) padded[`p${i}`] = [null, null, { type_hint: ["diffusers", "X"] }];
    padded.late = [null, null, { type_hint: ["evil", "X"] }];
    expect(modularComponents(parse(padded)).map((r) => r.evidence.declaredAt)).toEqual(["late"]);
  });
});

describe("a component's <component>/<library>.py whatever the library", () => {
  const index = JSON.stringify({
    _class_name: "DDPMPipeline",
    _diffusers_version: "0.30.0",
    scheduler: ["diffusers", "DDPMScheduler"],
    unet: ["diffusers", "UNet2DModel"],
    safety_checker: ["stable_diffusion", "StableDiffusionSafetyChecker"],
  });
  const benign = "from diffusers import UNet2DModel as _U\n\n\nclass UNet2DModel(_U):\n    pass\n";

  it("unet/diffusers.py and a pipeline module's file are remote code (the reviewer's PoC)", async () => {
    const report = await scanTree({
      "model_index.json": index,
      "unet/config.json": '{"_class_name": "UNet2DModel"}',
      "unet/diffusers.py": benign,
      "safety_checker/stable_diffusion.py": "class StableDiffusionSafetyChecker:\n    pass\n",
    });
    expect(ruleIds(fileOf(report, "unet/diffusers.py"))).toContain("repo/remote-code");
    expect(ruleIds(fileOf(report, "safety_checker/stable_diffusion.py"))).toContain("repo/remote-code");
    // the config names diffusers' own libraries: no installed-module import
    expect(fileOf(report, "model_index.json").findings).toEqual([]);
  });

  it("a genuine pipeline layout (no such file) stays clean", async () => {
    const report = await scanTree({
      "model_index.json": index,
      "unet/config.json": '{"_class_name": "UNet2DModel"}',
      "scheduler/scheduler_config.json": '{"_class_name": "DDPMScheduler"}',
    });
    expect(report.files.every((f) => f.verdict === "clean")).toBe(true);
  });
});
