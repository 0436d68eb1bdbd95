/**
 * A hub kernel named in a sub-config after a large padding value is still found.
 */
import { describe, expect, it } from "vitest";
import { ruleIds, scanOne } from "../../helpers/scan.js";

describe("attn_implementation behind padding", () => {
  it("a text_config kernel after 150,000 padding objects is reported", async () => {
    const config = {
      model_type: "llava",
      padding: Array.from({ length: 150_000 }, () => ({})),
      text_config: { attn_implementation: "attacker/flash-kernel" },
    };
    const file = await scanOne(new TextEncoder().encode(JSON.stringify(config)), "config.json");
    expect(ruleIds(file)).toContain("repo/remote-code-external");
  });
});
