/**
 * URLs in safetensors metadata: documentation links (reported as info) cannot fill the list
 * before a URL of another host, which is judged higher.
 */
import { describe, expect, it } from "vitest";
import { findUrls } from "../../../src/formats/safetensors/text-inspect.js";

describe("findUrls", () => {
  it("a URL after ten documentation links is listed", () => {
    const docs = Array.from({ length: 12 }, (_, i) => `https://huggingface.co/doc${i}`).join(" ");
    const urls = findUrls(`${docs} https://evil.example/payload`);
    expect(urls.filter((u) => !u.documentation).map((u) => u.host)).toEqual(["evil.example"]);
    expect(urls.filter((u) => u.documentation)).toHaveLength(10);
  });

  it("stays bounded", () => {
    const many = Array.from({ length: 500 }, (_, i) => `https://h${i}.example/ https://github.com/${i}`).join(" ");
    expect(findUrls(many)).toHaveLength(20);
  });
});
