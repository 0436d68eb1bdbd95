import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isModelgateError } from "../../../src/core/errors.js";
import { formatHubUri, parseHubUri, resolveHubSettings } from "../../../src/sources/hub/config.js";

describe("hf:// URIs", () => {
  it("parses repository, revision and path", () => {
    expect(parseHubUri("hf://acme/tiny")).toEqual({ repo: "acme/tiny" });
    expect(parseHubUri("hf://acme/tiny@v1.0")).toEqual({ repo: "acme/tiny", revision: "v1.0" });
    expect(parseHubUri("hf://acme/tiny@main/sub/model.safetensors")).toEqual({
      repo: "acme/tiny",
      revision: "main",
      path: "sub/model.safetensors",
    });
    expect(parseHubUri("hf://acme/tiny/onnx/")).toEqual({ repo: "acme/tiny", path: "onnx" });
    expect(parseHubUri("hf://models/acme/tiny")).toEqual({ repo: "acme/tiny" });
    expect(parseHubUri("hf://acme/tiny@refs/pr/3/x.bin")).toEqual({
      repo: "acme/tiny",
      revision: "refs/pr/3",
      path: "x.bin",
    });
    expect(parseHubUri("hf://acme/tiny@feature%2Fx")).toEqual({ repo: "acme/tiny", revision: "feature/x" });
  });

  it("round-trips through formatHubUri", () => {
    for (const uri of ["hf://acme/tiny", "hf://acme/tiny@refs/pr/3/a/b.bin", "hf://acme/tiny@feature%2Fx/a"]) {
      expect(formatHubUri(parseHubUri(uri))).toBe(uri);
    }
  });

  it("rejects what is not a repository, and traversal", () => {
    for (const bad of [
      "https://huggingface.co/acme/tiny",
      "hf://acme",
      "hf://acme/ti ny",
      "hf://acme/../x",
      "hf://acme/a--b",
      "hf://datasets/acme",
      "hf://spaces/acme/../x",
      "hf://acme/tiny@",
      "hf://acme/tiny@a..b",
      "hf://acme/tiny/a/../../b",
      "hf://acme/tiny@%zz",
    ]) {
      expect(() => parseHubUri(bad), bad).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    }
  });
});

describe("endpoint and token, as huggingface_hub resolves them", () => {
  it("explicit values win, then HF_ENDPOINT / HF_TOKEN / HUGGING_FACE_HUB_TOKEN, then the token file", async () => {
    const home = await mkdtemp(join(tmpdir(), "mg-hfhome-"));
    try {
      await writeFile(join(home, "token"), "hf_file\n");
      expect(await resolveHubSettings({}, { HF_HOME: home })).toEqual({
        hubUrl: "https://huggingface.co",
        token: "hf_file",
      });
      expect(await resolveHubSettings({}, { HF_HOME: home, HUGGING_FACE_HUB_TOKEN: "hf_old" })).toMatchObject({
        token: "hf_old",
      });
      expect(
        await resolveHubSettings({}, { HF_HOME: home, HUGGING_FACE_HUB_TOKEN: "hf_old", HF_TOKEN: "hf_env" }),
      ).toMatchObject({
        token: "hf_env",
      });
      expect(await resolveHubSettings({ token: "hf_x" }, { HF_TOKEN: "hf_env" })).toMatchObject({ token: "hf_x" });
      expect(await resolveHubSettings({}, { HF_HOME: home, HF_HUB_DISABLE_IMPLICIT_TOKEN: "1" })).toEqual({
        hubUrl: "https://huggingface.co",
      });
      const tokenPath = join(home, "elsewhere");
      await writeFile(tokenPath, "hf_path");
      expect(await resolveHubSettings({}, { HF_HOME: home, HF_TOKEN_PATH: tokenPath })).toMatchObject({
        token: "hf_path",
      });
      expect(await resolveHubSettings({}, { XDG_CACHE_HOME: join(home, "none") })).toEqual({
        hubUrl: "https://huggingface.co",
      });
    } finally {
      await rm(home, { recursive: true });
    }
    expect(
      await resolveHubSettings({}, { HF_ENDPOINT: "http://127.0.0.1:9/mirror/", HF_HOME: "/nonexistent" }),
    ).toEqual({
      hubUrl: "http://127.0.0.1:9/mirror",
    });
    expect(await resolveHubSettings({ hubUrl: "http://h:1" }, { HF_ENDPOINT: "http://other", HF_HOME: "/x" })).toEqual({
      hubUrl: "http://h:1",
    });
  });

  it("rejects bad endpoints and refuses offline mode", async () => {
    for (const hubUrl of ["ftp://x", "not a url", "http://user:pw@h", "http://h/?q=1"]) {
      await expect(resolveHubSettings({ hubUrl }, {})).rejects.toSatisfy((e) =>
        isModelgateError(e, "INVALID_ARGUMENT"),
      );
    }
    await expect(resolveHubSettings({}, { HF_HUB_OFFLINE: "1" })).rejects.toSatisfy((e) =>
      isModelgateError(e, "NETWORK"),
    );
  });
});
