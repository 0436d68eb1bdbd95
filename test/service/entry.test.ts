// `modelgate/service`: the subpath exports the service's library API, and the root entry does not
// load the service (Fastify, BullMQ, ioredis) through its static imports.
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import * as service from "../../src/entries/service.js";
import { REPO_ROOT } from "../helpers/scan.js";

/** Static `import`/`export ... from` specifiers of a TypeScript file (type-only ones included; dynamic `import()` not). */
function staticImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?\bfrom\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gms)) {
    out.push((m[1] ?? m[2])!);
  }
  return out;
}

/** Every file and package reached from `entry` through static imports. */
function closure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith(".")) {
        const target = resolve(dirname(file), spec).replace(/\.js$/, ".ts");
        if (target.startsWith(join(REPO_ROOT, "src"))) todo.push(target);
      } else if (!spec.startsWith("node:")) {
        packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
      }
    }
  }
  return { files, packages };
}

describe("modelgate/service", () => {
  it("exports the queue, the worker, the Redis verdict cache and the server", () => {
    expect(typeof service.createScanQueue).toBe("function");
    expect(typeof service.runWorker).toBe("function");
    expect(typeof service.RedisVerdictCache).toBe("function");
    expect(typeof service.startServer).toBe("function");
    expect(typeof service.RedisScanCounters).toBe("function");
    expect(typeof service.createLocalScanQueue).toBe("function");
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      exports: Record<string, { types: string; default: string }>;
    };
    expect(pkg.exports["./service"]).toEqual({
      types: "./dist/entries/service.d.ts",
      default: "./dist/entries/service.js",
    });
  });

  it("is not reached from the root entry's static imports (no Fastify, BullMQ or ioredis in `import('modelgate')`)", () => {
    const root = closure(join(REPO_ROOT, "src/index.ts"));
    expect(root.files.size).toBeGreaterThan(20);
    const serviceFiles = [...root.files].map((f) => relative(REPO_ROOT, f)).filter((f) => f.startsWith("src/service/"));
    expect(serviceFiles).toEqual([]);
    for (const p of ["bullmq", "ioredis", "fastify"]) expect(root.packages.has(p), p).toBe(false);
    // The scanner does see them from the subpath.
    const sub = closure(join(REPO_ROOT, "src/entries/service.ts"));
    for (const p of ["bullmq", "ioredis", "fastify"]) expect(sub.packages.has(p), p).toBe(true);
  });
});
