/**
 * The published report schema (generated from the zod schemas at build) keeps its public shape:
 * the format enum, every other enum and const, and the top-level and per-file fields are compared
 * with a committed snapshot, so that moving a type (format ids are declared by the format modules)
 * never changes the public enum by accident. The enum is sorted (`FORMATS` in
 * `src/registry/catalog.ts`), so the order of the registry never shows in it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import type { Evidence } from "../../src/core/findings.js";
import type { Format } from "../../src/core/formats.js";
import { SEVERITIES, type Severity, VERDICTS, type Verdict } from "../../src/core/severity.js";
import { FORMATS } from "../../src/registry/catalog.js";
import {
  type EvidenceSchema,
  type FormatSchema,
  reportJsonSchema,
  type SeveritySchema,
  type VerdictSchema,
} from "../../src/report/schema.js";
import { REPO_ROOT } from "../helpers/scan.js";

interface Shape {
  header: Record<string, unknown>;
  required: string[];
  properties: string[];
  fileProperties: string[];
  fileRequired: string[];
  formats: string[];
  enums: Record<string, unknown[]>;
}

type Node = { [key: string]: unknown };
const isNode = (x: unknown): x is Node => typeof x === "object" && x !== null && !Array.isArray(x);

/** Every `enum` and `const` of a JSON Schema, by JSON pointer. */
function enumsOf(node: unknown, path = "", out: Record<string, unknown[]> = {}): Record<string, unknown[]> {
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) enumsOf(item, `${path}/${i}`, out);
  } else if (isNode(node)) {
    if (Array.isArray(node.enum)) out[path] = node.enum;
    if ("const" in node) out[path] = [node.const];
    for (const [key, value] of Object.entries(node))
      if (key !== "enum" && key !== "const") enumsOf(value, `${path}/${key}`, out);
  }
  return out;
}

/** The public shape of a generated report schema. */
function shapeOf(schema: Node): Shape {
  const properties = schema.properties as Node;
  const files = (properties.files as Node).items as Node;
  const fileProperties = files.properties as Node;
  return {
    header: Object.fromEntries(
      ["$schema", "$id", "title", "type", "additionalProperties", "description"].map((k) => [k, schema[k]]),
    ),
    required: schema.required as string[],
    properties: Object.keys(properties),
    fileProperties: Object.keys(fileProperties),
    fileRequired: files.required as string[],
    formats: (fileProperties.format as Node).enum as string[],
    enums: enumsOf(schema),
  };
}

const snapshot = JSON.parse(
  readFileSync(join(REPO_ROOT, "test", "report", "report-schema.snapshot.json"), "utf8"),
) as Shape & { $comment: string };
const { $comment: _, ...expected } = snapshot;

describe("published report schema", () => {
  const generated = reportJsonSchema();

  it("keeps the committed public shape (format enum, every enum, top-level and file fields)", () => {
    if (process.env.MODELGATE_UPDATE_SCHEMA_SNAPSHOT === "1") {
      // A deliberate change of the published format: rewrite the snapshot, then review its diff.
      const file = join(REPO_ROOT, "test", "report", "report-schema.snapshot.json");
      writeFileSync(file, `${JSON.stringify({ $comment: snapshot.$comment, ...shapeOf(generated) }, null, 2)}\n`);
      return;
    }
    expect(shapeOf(generated)).toEqual(expected);
  });

  it("lists the registry's formats, sorted, in every place a format appears", () => {
    expect(expected.formats).toEqual([...FORMATS]);
    const formatEnums = Object.entries(expected.enums).filter(([path]) => /\/format(s\/items)?$/.test(path));
    expect(formatEnums.map(([path]) => path)).toEqual([
      "/properties/files/items/properties/format",
      "/properties/files/items/properties/formats/items",
      "/properties/files/items/properties/members/items/properties/format",
    ]);
    for (const [, values] of formatEnums) expect(values).toEqual([...FORMATS]);
    expect(expected.enums["/properties/verdict"]).toEqual([...VERDICTS]);
    expect(expected.enums["/properties/files/items/properties/findings/items/properties/severity"]).toEqual([
      ...SEVERITIES,
    ]);
  });

  it("is the file the build publishes", () => {
    const published = JSON.parse(readFileSync(join(REPO_ROOT, "schema", "report-v1.schema.json"), "utf8")) as Node;
    expect(shapeOf(published)).toEqual(expected);
  });

  it("infers the same types as src/core declares", () => {
    expectTypeOf<z.infer<typeof FormatSchema>>().toEqualTypeOf<Format>();
    expectTypeOf<z.infer<typeof SeveritySchema>>().toEqualTypeOf<Severity>();
    expectTypeOf<z.infer<typeof VerdictSchema>>().toEqualTypeOf<Verdict>();
    expectTypeOf<z.infer<typeof EvidenceSchema>>().toEqualTypeOf<Evidence>();
  });
});
