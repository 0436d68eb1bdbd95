/**
 * latent-diffusion / generative-models configs: `instantiate_from_config` imports a mapping's
 * `target` and calls it with `params`; Stable Diffusion UIs load the `.yaml` beside a checkpoint.
 */
import { describe, expect, it } from "vitest";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const text = (s: string) => new TextEncoder().encode(s);

/** The shape of CompVis' v1-inference.yaml (abridged). */
const SD1 = `model:
  base_learning_rate: 1.0e-04
  target: ldm.models.diffusion.ddpm.LatentDiffusion
  params:
    linear_start: 0.00085
    first_stage_key: "jpg"
    scheduler_config:
      target: ldm.lr_scheduler.LambdaLinearScheduler
      params:
        warm_up_steps: [ 10000 ]
    unet_config:
      target: ldm.modules.diffusionmodules.openaimodel.UNetModel
      params:
        image_size: 32
        in_channels: 4
    first_stage_config:
      target: ldm.models.autoencoder.AutoencoderKL
      params:
        embed_dim: 4
        lossconfig:
          target: torch.nn.Identity
    cond_stage_config:
      target: ldm.modules.encoders.modules.FrozenCLIPEmbedder
`;

/** The shape of generative-models' sd_xl_base.yaml (abridged). */
const SDXL = `model:
  target: sgm.models.diffusion.DiffusionEngine
  params:
    denoiser_config:
      target: sgm.modules.diffusionmodules.denoiser.DiscreteDenoiser
      params:
        weighting_config:
          target: sgm.modules.diffusionmodules.denoiser_weighting.EpsWeighting
    conditioner_config:
      target: sgm.modules.GeneralConditioner
      params:
        emb_models:
          - is_trainable: False
            target: sgm.modules.encoders.modules.FrozenCLIPEmbedder
`;

describe("instantiate_from_config targets", () => {
  it.each([
    ["v1-inference.yaml", SD1],
    ["sd_xl_base.yaml", SDXL],
  ])("%s (real shape) is clean", async (name, src) => {
    const file = await scanOne(text(src), name);
    expect(file.verdict).toBe("clean");
  });

  it("a nested target calling a process function is reported at the denylist's severity", async () => {
    const evil = SD1.replace(
      "target: torch.nn.Identity",
      "target: os.system\n          params:\n            command: id",
    );
    const file = await scanOne(text(evil), "model.yaml");
    expect(ruleIds(file)).toContain("yaml/hydra-target");
    expect(file.verdict).toBe("malicious");
    const f = file.findings.find((x) => x.ruleId === "yaml/hydra-target");
    expect(f?.evidence?.callee).toBe("os.system");
  });

  it("a target outside the allowlist is high; a value that is not a dotted path is data", async () => {
    const unknown = await scanOne(text("model:\n  target: mypkg.loader.Evil\n  params: {}\n"), "config.yaml");
    expect(unknown.findings.find((x) => x.ruleId === "yaml/hydra-target")?.severity).toBe("high");
    const data = await scanOne(text("deploy:\n  target: production\n  port: 80\n"), "deploy.yaml");
    expect(ruleIds(data)).not.toContain("yaml/hydra-target");
  });
});

describe("what allowlisted diffusion classes load", () => {
  const ae = (params: string) =>
    `model:\n  target: ldm.models.autoencoder.AutoencoderKL\n  params:\n    embed_dim: 4\n${params}`;

  it.each([
    ["an absolute checkpoint path", "    ckpt_path: /tmp/outside/avatar.png\n"],
    ["a parent path", "    ckpt_path: ../../weights/vae.ckpt\n"],
    ["a URL", "    ckpt_path: https://example.com/vae.ckpt\n"],
    ["an unknown model name", "    version: attacker/evil-clip\n"],
  ])("%s is external weights", async (_label, params) => {
    const file = await scanOne(text(ae(params)), "model.yaml");
    expect(ruleIds(file)).toContain("yaml/external-weights");
    expect(file.verdict).toBe("suspicious");
  });

  it("a checkpoint inside the artifact and the shipped encoders stay clean", async () => {
    const inside = await scanOne(text(ae("    ckpt_path: vae/model.ckpt\n")), "model.yaml");
    expect(inside.verdict).toBe("clean");
    const encoder = await scanOne(
      text(
        "cond:\n  target: ldm.modules.encoders.modules.FrozenCLIPEmbedder\n  params:\n    version: openai/clip-vit-large-patch14\n",
      ),
      "model.yaml",
    );
    expect(encoder.verdict).toBe("clean");
  });

  it("a network_wrapper is judged as a target", async () => {
    const src =
      "model:\n  target: sgm.models.diffusion.DiffusionEngine\n  params:\n    network_wrapper: builtins.exec\n";
    const file = await scanOne(text(src), "model.yaml");
    expect(ruleIds(file)).toContain("yaml/hydra-target");
    expect(file.verdict).toBe("malicious");
  });
});
