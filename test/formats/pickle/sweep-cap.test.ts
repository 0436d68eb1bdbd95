/**
 * The sweep of unrecognised bytes for pickle imports keeps a bounded number of hits per severity:
 * padding with many lesser denied imports cannot hide a worse one that comes later.
 */
import { describe, expect, it } from "vitest";
import { BufferSource } from "../../../src/core/byte-source.js";
import { sweepPickleImports } from "../../../src/formats/pickle/sweep.js";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
/** Denied at high severity by the pickle denylist. */
const HIGH = [
  "socket\nsocket",
  "shutil\nrmtree",
  "builtins\nopen",
  "requests\nget",
  "urllib.request\nurlopen",
  "tempfile\nmkdtemp",
  "io\nopen",
  "glob\nglob",
];

describe("sweepPickleImports", () => {
  it("a critical import after eight high ones is kept", async () => {
    const text = `${HIGH.map((g) => `xx c${g}\n(S'a'\ntR. `).join("")}cos\nsystem\n(S'id'\ntR.`;
    const hits = await sweepPickleImports(new BufferSource(latin1(text)), () => undefined);
    expect(hits.map((h) => h.name)).toContain("os.system");
    expect(hits.find((h) => h.name === "os.system")?.severity).toBe("critical");
  });

  it("stays bounded per severity", async () => {
    const many = Array.from({ length: 3 }, () => HIGH.map((g) => `c${g}\n`).join(" ")).join(" ");
    const hits = await sweepPickleImports(new BufferSource(latin1(many)), () => undefined);
    expect(hits).toHaveLength(8);
  });
});
