/**
 * Gates of lazy repository analyzers (`lazyRepoAnalyzer(name, load, nothingToDo)`,
 * src/core/module.ts): a gate that says "nothing to do" keeps the analyzer from loading, so it must
 * never turn away a scan the analyzer would act on. For every gated analyzer of the registry, this
 * runs the real analyzer on many contexts its gate turns away (generated trees of names the
 * analyzers look for, and near misses) and checks that it reads nothing and records nothing there.
 * The analyzers' own tests and the samples cover the contexts the gates let through.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RepoAnalyzer, RepoContext, RepoFile } from "../../src/core/analyzer.js";
import type { Format } from "../../src/core/formats.js";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import type { LazyRepoAnalyzer } from "../../src/core/module.js";
import type { RootEntry, ScanRoot, Target } from "../../src/core/root.js";
import { MODULES } from "../../src/registry/modules.js";

type Gated = LazyRepoAnalyzer<unknown> & {
  readonly nothingToDo: NonNullable<LazyRepoAnalyzer<unknown>["nothingToDo"]>;
};

const GATED: Gated[] = MODULES.flatMap((m) => ("repoAnalyzers" in m ? [...m.repoAnalyzers] : [])).filter(
  (a): a is Gated => "nothingToDo" in a && typeof a.nothingToDo === "function",
);

/** Names the repository analyzers look for, and names that resemble them. */
const NAMES = [
  "model.pkl",
  "pytorch_model.bin",
  "model.safetensors",
  "model.safetensors.part",
  "sub/model.safetensors",
  "model.safetensors.index.json",
  "pytorch_model.bin.index.json",
  "config.json",
  "sub/config.json",
  "config.json.bak",
  "tokenizer_config.json",
  "generation_config.json",
  "README.md",
  "readme.MD",
  "README",
  "docs/README.md",
  "README.txt",
  "LICENSE",
  "LICENSE.txt",
  "LICENCE-MIT",
  "licenses/COPYING",
  "COPYING.LESSER",
  "NOTICE",
  "MLmodel",
  "mlflow/MLmodel",
  "conda.yaml",
  "requirements.txt",
  "python_env.yaml",
  "MAR-INF/MANIFEST.json",
  "m/MAR-INF/MANIFEST.json",
  "MAR-INF/MANIFEST.jsonx",
  "handler.py",
  "my_dataset.py",
  "modeling_x.py",
  "model.sig",
  "weights.bin",
  "notes.txt",
  ".modelgate.lock.json",
] as const;

const FORMATS: readonly Format[] = ["pickle", "safetensors", "mlflow", "json", "text", "zip", "unknown", "python"];

const entryArb = fc.record({
  path: fc.constantFrom(...NAMES),
  kind: fc.constantFrom<RootEntry["kind"]>("file", "file", "file", "symlink", "special"),
  size: fc.nat({ max: 4096 }),
});

const factsArb = fc.option(
  fc.oneof(
    fc.constant({ toolVersions: { transformers: "4.30.0" } }),
    fc.constant({ "keras.version": "2.11.0" }),
    fc.constant({ toolVersions: {} }),
    fc.constant({ parameterCount: 12 }),
  ),
  { nil: undefined },
);

const contextArb = fc.record({
  kind: fc.constantFrom<Target["kind"]>("file", "directory", "bytes", "hub"),
  local: fc.boolean(),
  repoType: fc.constantFrom<"model" | "dataset" | undefined>("model", "dataset", undefined),
  entries: fc.uniqueArray(entryArb, { selector: (e) => e.path, maxLength: 6 }),
  formats: fc.array(fc.subarray([...FORMATS], { maxLength: 2 }), { minLength: 6, maxLength: 6 }),
  facts: fc.array(factsArb, { minLength: 6, maxLength: 6 }),
  pins: fc.constantFrom<Readonly<Record<string, string>> | undefined>(undefined, {}),
  lockFile: fc.constantFrom<{ lockfileVersion: 1; files: Record<string, never> } | undefined>(undefined, {
    lockfileVersion: 1,
    files: {},
  }),
  signature: fc.constantFrom<false | Record<string, never> | undefined>(undefined, false, {}),
  flag: fc.constantFrom<readonly string[] | undefined>(undefined, ["mit"]),
});

type Effects = string[];

/** A repository context over a generated tree, recording every read and everything recorded. */
function build(spec: {
  kind: Target["kind"];
  local: boolean;
  repoType: "model" | "dataset" | undefined;
  entries: { path: string; kind: RootEntry["kind"]; size: number }[];
  formats: Format[][];
  facts: (Record<string, unknown> | undefined)[];
  pins: Readonly<Record<string, string>> | undefined;
  lockFile: { lockfileVersion: 1; files: Record<string, never> } | undefined;
  signature: false | Record<string, never> | undefined;
  flag: readonly string[] | undefined;
}): { ctx: RepoContext<unknown>; effects: Effects } {
  const effects: Effects = [];
  const target: Target = {
    kind: spec.kind,
    name: "target",
    ...(spec.kind === "hub"
      ? { hub: { repo: "owner/my_dataset", repoType: spec.repoType, revision: "main", commit: "0".repeat(40) } }
      : {}),
  };
  const root: ScanRoot = {
    target,
    ...(spec.local ? { localDir: "/nonexistent/modelgate-repo-gates" } : {}),
    list: (): AsyncIterable<RootEntry> => {
      effects.push("root.list");
      return { [Symbol.asyncIterator]: () => ({ next: async () => ({ done: true, value: undefined }) }) };
    },
    open: async (path) => {
      effects.push(`root.open ${path}`);
      throw new Error("not readable here");
    },
  };
  const entries: RootEntry[] = spec.entries.map((e) => ({ path: e.path, kind: e.kind, size: e.size }));
  const files: RepoFile[] = spec.entries
    .filter((e) => e.kind === "file")
    .map((e, i) => {
      const formats = spec.formats[i] ?? [];
      return {
        path: e.path,
        size: e.size,
        format: formats[0] ?? "unknown",
        formats,
        facts: spec.facts[i],
        findings: [],
      };
    });
  const ctx: RepoContext<unknown> = {
    root,
    entries,
    files,
    limits: DEFAULT_LIMITS,
    policy: {
      options: spec.flag === undefined ? {} : { licenses: { flag: spec.flag } },
      hash: "0".repeat(64),
    },
    signal: new AbortController().signal,
    options: {
      ...(spec.pins === undefined ? {} : { pins: spec.pins }),
      ...(spec.lockFile === undefined ? {} : { lockFile: spec.lockFile }),
      ...(spec.signature === undefined ? {} : { signature: spec.signature }),
    },
    openFile: async (path) => {
      effects.push(`openFile ${path}`);
      throw new Error("not readable here");
    },
    report: (path, finding) => void effects.push(`report ${path} ${finding.ruleId}`),
    fact: (path, key) => void effects.push(`fact ${path} ${key}`),
    setSignature: () => void effects.push("setSignature"),
    addHashes: (path) => void effects.push(`addHashes ${path}`),
  };
  return { ctx, effects };
}

describe("repository analyzer gates", () => {
  it("the registry gates the analyzers of whole repositories", () => {
    expect(GATED.map((a) => a.name).sort()).toEqual([
      "hf-repo",
      "license",
      "mlflow",
      "oms-signature",
      "pins",
      "tool-versions",
      "torchserve",
    ]);
  });

  it("turn away only contexts where the analyzer reads and records nothing", async () => {
    const loaded = new Map<string, RepoAnalyzer<unknown>>();
    for (const gated of GATED) loaded.set(gated.name, await gated.load());
    const turnedAway = new Map<string, number>(GATED.map((a) => [a.name, 0]));
    const letThrough = new Map<string, number>(GATED.map((a) => [a.name, 0]));
    await fc.assert(
      fc.asyncProperty(contextArb, async (spec) => {
        for (const gated of GATED) {
          const { ctx, effects } = build(spec);
          if (!gated.nothingToDo(ctx)) {
            letThrough.set(gated.name, (letThrough.get(gated.name) ?? 0) + 1);
            continue;
          }
          turnedAway.set(gated.name, (turnedAway.get(gated.name) ?? 0) + 1);
          await loaded.get(gated.name)!.analyze(ctx);
          expect(effects, `${gated.name} acted on a tree its gate turned away`).toEqual([]);
        }
      }),
      { numRuns: 400, seed: 18 },
    );
    // the generated trees exercise both sides of every gate
    for (const gated of GATED) {
      expect(turnedAway.get(gated.name), gated.name).toBeGreaterThan(10);
      expect(letThrough.get(gated.name), gated.name).toBeGreaterThan(10);
    }
  });

  it("a single file's scan (no repository files, no pins, not a directory) loads none of them", () => {
    const { ctx } = build({
      kind: "file",
      local: false,
      repoType: undefined,
      entries: [{ path: "small.pkl", kind: "file", size: 78 }],
      formats: [["pickle"]],
      facts: [undefined],
      pins: undefined,
      lockFile: undefined,
      signature: undefined,
      flag: undefined,
    });
    expect(GATED.filter((a) => !a.nothingToDo(ctx)).map((a) => a.name)).toEqual([]);
  });
});
