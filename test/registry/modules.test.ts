/**
 * Guards of the registry: every module folder is registered, every format id has exactly one
 * owner and something that deals with it, every rules file's ids are in the rule registry, and the
 * tables derived from the modules say what the engine relied on before they were derived.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import type { Format } from "../../src/core/formats.js";
import type { FormatModule } from "../../src/core/module.js";
import {
  ANALYZERS,
  CLAIM_EXTENSIONS,
  expectedFormatsForName,
  FORMAT_SPECS,
  FORMATS,
  INERT,
  pickleContextFor,
  REPO_ANALYZERS,
  sniff,
  TEXTUAL,
  tarFlavor,
  zipFlavor,
} from "../../src/registry/catalog.js";
import { MODULES } from "../../src/registry/modules.js";
import { getRule, RULES } from "../../src/registry/rules.js";
import { REPO_ROOT } from "../helpers/scan.js";

const SRC = join(REPO_ROOT, "src");
const modules: readonly FormatModule[] = MODULES;

/** Formats that are neither inert nor analysed, and why that is right. */
const REPORTED_BY_ENGINE: Readonly<Partial<Record<Format, string>>> = {
  executable: "the engine reports it (format/executable)",
  rar: "recognised, not read: format/unsupported keeps it from passing as clean",
};

function filesNamed(dir: string, name: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name === name)
    .map((e) => join(e.parentPath, e.name));
}

describe("module registry", () => {
  it("registers every module a folder declares", async () => {
    const declared: string[] = [];
    for (const file of [...filesNamed(SRC, "index.ts"), ...filesNamed(SRC, "module.ts")]) {
      const text = readFileSync(file, "utf8");
      if (!/satisfies FormatModule/.test(text)) continue;
      const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      for (const value of Object.values(mod)) {
        if (typeof value === "object" && value !== null && "name" in value) {
          declared.push(`${relative(SRC, file).split(sep).join("/")}:${(value as FormatModule).name}`);
          expect(modules, `${relative(SRC, file)} is not in src/registry/modules.ts`).toContain(value);
        }
      }
    }
    expect(declared.length).toBe(modules.length);
    expect(new Set(modules.map((m) => m.name)).size).toBe(modules.length);
  });

  it("gives every format id exactly one owner, and the enum is sorted", () => {
    const owners = new Map<string, string[]>();
    for (const m of modules) for (const f of m.formats ?? []) owners.set(f.id, [...(owners.get(f.id) ?? []), m.name]);
    expect([...owners].filter(([, by]) => by.length > 1)).toEqual([]);
    expect([...FORMATS]).toEqual([...FORMAT_SPECS.keys()].sort());
    expect(FORMATS).toContain("empty");
    expect(FORMATS).toContain("unknown");
    expect(new Set(FORMATS).size).toBe(FORMATS.length);
  });

  it("deals with every format: inert, analysed, a zip flavour, or reported by the engine", () => {
    const analysed = new Set(ANALYZERS.flatMap((a) => a.formats));
    const orphans = FORMATS.filter(
      (f) =>
        !INERT.has(f) &&
        !analysed.has(f) &&
        FORMAT_SPECS.get(f)?.zipSignature === undefined &&
        FORMAT_SPECS.get(f)?.tarSignature === undefined &&
        REPORTED_BY_ENGINE[f] === undefined,
    );
    expect(orphans).toEqual([]);
    // an entry of REPORTED_BY_ENGINE must go once its format is analysed
    expect(Object.keys(REPORTED_BY_ENGINE).filter((f) => analysed.has(f as Format))).toEqual([]);
    // every analyzer handles registered formats only
    expect(ANALYZERS.flatMap((a) => a.formats).filter((f) => !FORMAT_SPECS.has(f))).toEqual([]);
    expect(REPO_ANALYZERS.length).toBeGreaterThanOrEqual(4);
  });

  it("registers every rule a rules file defines, once", async () => {
    const ids = RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const registry = join(SRC, "registry", "rules.ts");
    const files = [
      ...filesNamed(SRC, "rules.ts").filter((f) => f !== registry),
      join(SRC, "registry", "engine-rules.ts"),
    ];
    let defined = 0;
    for (const file of files) {
      const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      for (const value of Object.values(mod)) {
        if (!Array.isArray(value)) continue;
        for (const rule of value as { id?: unknown }[]) {
          if (typeof rule?.id !== "string") continue;
          defined++;
          // the registry loads a module's rules file with require() (lazyRules): under the test
          // runner that is another instance of the file than this import, with equal definitions
          expect(getRule(rule.id), `${relative(SRC, file)}: ${rule.id} is not registered`).toStrictEqual(rule);
        }
      }
    }
    expect(defined).toBe(RULES.length);
  });
});

describe("derived tables", () => {
  it("classify zips by their members", () => {
    expect(zipFlavor(["a/data.pkl", "a/data/0"])).toEqual({ format: "pytorch-zip", archiveRoot: "a" });
    expect(zipFlavor(["b/data.pkl", "a/data.pkl", "b/code/__torch__.py"])).toEqual({
      format: "torchscript",
      archiveRoot: "b",
    });
    expect(zipFlavor(["x.npy", "dir/"]).format).toBe("npz");
    expect(zipFlavor(["config.json", "metadata.json"]).format).toBe("keras");
    expect(zipFlavor(["config.json"]).format).toBe("zip");
  });

  it("classify tars by their members", () => {
    expect(tarFlavor(["./model_config.yaml", "./model_weights.ckpt"])).toBe("nemo");
    expect(tarFlavor(["model_config.yaml"])).toBe("nemo");
    expect(tarFlavor(["sub/model_config.yaml", "pickle"])).toBe("tar");
  });

  it("pick the pickle context of the closest-ranked enclosing format", () => {
    expect(pickleContextFor(["zip", "torchscript", "pytorch-zip"])).toBe("torchscript");
    expect(pickleContextFor(["npz", "joblib"])).toBe("joblib");
    expect(pickleContextFor(["tar"])).toBe("pickle");
  });

  it("map extensions to hints and claims", () => {
    expect(new Set(expectedFormatsForName("x.json"))).toEqual(
      new Set(["json", "notebook", "oms-signature", "xgboost", "mxnet-symbol"]),
    );
    expect(new Set(expectedFormatsForName("README.md"))).toEqual(
      new Set(["text", "jinja", "python", "json", "shell", "empty"]),
    );
    expect(expectedFormatsForName("model.bin")).toBeUndefined();
    expect(new Set(CLAIM_EXTENSIONS.get("zip")?.accepts)).toEqual(
      new Set(["zip", "pytorch-zip", "torchscript", "npz", "keras", "torch-package"]),
    );
    expect(new Set(CLAIM_EXTENSIONS.get("nemo")?.accepts)).toEqual(new Set(["tar", "gzip", "nemo"]));
    expect(CLAIM_EXTENSIONS.get("lzma")?.probe).toBe("lzma");
  });

  it("sniff by rank, with trailers beside the primary detection", () => {
    const zip = Buffer.from(`PK\x05\x06${"\0".repeat(18)}`, "latin1");
    const pickleThenZip = Buffer.concat([Buffer.from([0x80, 0x02, 0x4e, 0x2e]), zip]);
    const found = sniff({ head: pickleThenZip, tail: pickleThenZip, size: pickleThenZip.length, name: "x" });
    expect(found.map((d) => d.format)).toEqual(["pickle", "zip"]);
    expect(sniff({ head: zip, tail: zip, size: zip.length, name: "x" }).map((d) => d.format)).toEqual(["zip"]);
    const text = Buffer.from('{"a": 1}');
    expect(sniff({ head: text, tail: text, size: text.length, name: "x.json" })[0]?.format).toBe("json");
    expect(TEXTUAL.has("json") && !TEXTUAL.has("pickle")).toBe(true);
  });
});
