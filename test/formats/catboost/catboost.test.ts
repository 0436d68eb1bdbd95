import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readCbm } from "../../../src/formats/catboost/model.js";
import { sniff } from "../../../src/registry/catalog.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { SAMPLES, scanOne } from "../../helpers/scan.js";

const cbm = new Uint8Array(readFileSync(join(SAMPLES, "catboost", "model.cbm")));

describe("catboost", () => {
  it("is recognised by its magic and read", async () => {
    expect(sniff({ head: cbm, tail: cbm, size: cbm.length, name: "m" })[0]?.format).toBe("catboost");
    const m = await readCbm(new BufferSource(cbm), { maxEntries: 10 });
    expect(m.formatVersion).toBe("FlabuffersModel_v1");
    expect(m.info.get("model_guid")).toBe("0123456789abcdef");
    expect((await scanOne(cbm, "model.cbm")).verdict).toBe("clean");
  });

  it("checks every flatbuffer offset it follows", async () => {
    for (let at = 8; at < cbm.length; at += 4) {
      const bad = cbm.slice();
      bad[at + 3] = 0x7f; // a huge offset or length somewhere in the core
      await readCbm(new BufferSource(bad), { maxEntries: 10 }).catch((e: { code?: string }) =>
        expect(["MALFORMED", "TRUNCATED"]).toContain(e.code),
      );
    }
    const named = await scanOne(new TextEncoder().encode("not a model"), "model.cbm");
    expect(named.verdict).toBe("invalid");
  });
});
