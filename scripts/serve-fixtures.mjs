// `npm run serve:fixtures`: starts the loopback stand-ins the tests use, serving files built from
// samples/, and prints the environment that points modelgate at them, so that the examples of
// docs/hub.md and docs/sources.md can be run by hand. Stays up until Ctrl-C.
//
//   - the stand-in Hub of test/docs/hub-fixture.ts (its CDN on a second port): the repositories
//     docs/hub.md scans (models, a dataset, a Space);
//   - the HTTP stand-in (test/helpers/http-standin.ts): a few files under /models/;
//   - the S3 stand-in (test/helpers/s3-standin.ts): bucket `models`.
//
// The stand-ins are TypeScript: Node 24 strips their types (npm run puts Node 24 first on PATH);
// the hooks of test/helpers/ts-hooks.mjs map their `./x.js` imports to `./x.ts`.
// Options: --base-port N picks the first of the ports (Hub, CDN, HTTP, S3 = N..N+3); default:
// ephemeral ports, printed. --json prints the environment as one JSON line instead (for scripts).
// Loopback only.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { register } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const [major] = process.versions.node.split(".").map(Number);
if (major < 23) {
  console.error(`serve:fixtures needs Node 24 (type stripping); this is ${process.version}. Run it with npm run.`);
  process.exit(2);
}

const { values } = parseArgs({
  options: { "base-port": { type: "string" }, json: { type: "boolean", default: false } },
});
const basePort = values["base-port"] === undefined ? undefined : Number(values["base-port"]);
if (basePort !== undefined && !(Number.isInteger(basePort) && basePort > 0 && basePort < 65533)) {
  console.error("--base-port must be a port number");
  process.exit(2);
}

register(pathToFileURL(join(ROOT, "test/helpers/ts-hooks.mjs")).href);
// The stand-ins listen on ephemeral ports; a fixed base port is obtained by pinning listen().
if (basePort !== undefined) {
  const { Server } = await import("node:net");
  const listen = Server.prototype.listen;
  let next = basePort;
  Server.prototype.listen = function (port, ...rest) {
    return listen.call(this, port === 0 ? next++ : port, ...rest);
  };
}

const { startDocsHub, DOCS_HUB_TOKEN } = await import(pathToFileURL(join(ROOT, "test/docs/hub-fixture.ts")).href);
const { HttpStandin } = await import(pathToFileURL(join(ROOT, "test/helpers/http-standin.ts")).href);
const { S3Standin } = await import(pathToFileURL(join(ROOT, "test/helpers/s3-standin.ts")).href);

const sample = (path) => new Uint8Array(readFileSync(join(ROOT, "samples", path)));
const files = {
  "model.safetensors": sample("hub/model.safetensors"),
  "model.onnx": sample("teams/tiny-llama/model.onnx"),
  "evil.pkl": sample("pickle/malicious/reduce_p2.pkl"),
};
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

const hub = await startDocsHub(ROOT);
const http = await HttpStandin.start(
  Object.fromEntries(Object.entries(files).map(([name, content]) => [`/models/${name}`, { content }])),
);
const s3 = await S3Standin.start(
  "models",
  Object.fromEntries(Object.entries(files).map(([name, content]) => [`tiny/${name}`, { content }])),
);

const env = {
  HF_ENDPOINT: hub.url,
  AWS_ENDPOINT_URL_S3: s3.endpoint,
  AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "example",
  AWS_REGION: "us-east-1",
};

if (values.json) {
  console.log(JSON.stringify({ env, http: http.origin, hubCdn: hub.cdnUrl, token: DOCS_HUB_TOKEN }));
} else {
  const exports = Object.entries(env)
    .map(([k, v]) => `  export ${k}=${v}`)
    .join("\n");
  console.log(`Loopback stand-ins are up (Ctrl-C stops them):

  Hub      ${hub.url}  (its CDN: ${hub.cdnUrl})
  HTTP     ${http.origin}/models/{${Object.keys(files).join(",")}}
  S3       ${s3.endpoint}  bucket "models", prefix tiny/

In another shell:

${exports}

and then, for example (npx modelgate … from this checkout, after npm run build):

  modelgate scan hf://acme/tiny-llama
  modelgate scan hf://acme/tiny-llama@refs/pr/1
  modelgate scan hf://datasets/acme/tiny-stories
  modelgate scan hf://datasets/acme/tiny-stories@v1.0
  modelgate scan hf://spaces/acme/tiny-llama-demo
  HF_TOKEN=${DOCS_HUB_TOKEN} modelgate scan hf://acme/internal-model
  modelgate scan ${http.origin}/models/model.safetensors#sha256=${sha256(files["model.safetensors"])} --allow-http
  modelgate scan ${http.origin}/models/evil.pkl --allow-http
  modelgate scan s3://models/tiny/ --s3-path-style --verify full
`);
}

let closing = false;
const stop = async () => {
  if (closing) return;
  closing = true;
  await Promise.allSettled([hub.close(), http.close(), s3.close()]);
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
