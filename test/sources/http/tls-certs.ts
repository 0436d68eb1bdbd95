/**
 * Test-only certificates made at test time with /usr/bin/openssl (nothing committed): a private
 * CA, a leaf it signs for `localhost` and 127.0.0.1, the same leaf expired (valid in January 2020),
 * a leaf it signs for another host name only, and a self-signed leaf. Keys are P-256.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A PEM key and certificate. */
export interface KeyCert {
  key: string;
  cert: string;
}

/** The certificates of a test run. */
export interface TestCerts {
  dir: string;
  /** Path of the CA certificate (PEM), for NODE_EXTRA_CA_CERTS. */
  caFile: string;
  ca: string;
  good: KeyCert;
  expired: KeyCert;
  wrongHost: KeyCert;
  selfSigned: KeyCert;
}

export const OPENSSL = "/usr/bin/openssl";
export const hasOpenssl = existsSync(OPENSSL);

const run = (dir: string, args: string[]) => execFileSync(OPENSSL, args, { cwd: dir, stdio: "pipe" });
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** Makes the certificates in a new temporary folder. */
export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), "mg-tls-"));
  const ext = (san: string) => `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`;
  await writeFile(join(dir, "local.ext"), ext("DNS:localhost,IP:127.0.0.1"));
  await writeFile(join(dir, "other.ext"), ext("DNS:other.invalid"));
  await writeFile(join(dir, "index.txt"), "");
  await writeFile(join(dir, "serial"), "1000\n");
  await writeFile(
    join(dir, "ca.cnf"),
    `[ca]\ndefault_ca = test\n[test]\ndatabase = ${dir}/index.txt\nnew_certs_dir = ${dir}\nserial = ${dir}/serial\n` +
      "default_md = sha256\npolicy = any\nunique_subject = no\n[any]\ncommonName = supplied\n",
  );
  run(dir, [
    "req",
    "-x509",
    ...EC,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=modelgate test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  ]);
  run(dir, ["req", ...EC, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost"]);
  const sign = (out: string, extFile: string, dates: string[]) =>
    run(dir, [
      "ca",
      "-batch",
      "-config",
      "ca.cnf",
      "-cert",
      "ca.pem",
      "-keyfile",
      "ca.key",
      "-in",
      "leaf.csr",
      "-out",
      out,
      "-extfile",
      extFile,
      "-notext",
      ...dates,
    ]);
  sign("good.pem", "local.ext", ["-days", "2"]);
  sign("expired.pem", "local.ext", ["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"]);
  sign("other.pem", "other.ext", ["-days", "2"]);
  run(dir, [
    "req",
    "-x509",
    ...EC,
    "-keyout",
    "self.key",
    "-out",
    "self.pem",
    "-days",
    "2",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ]);
  const read = (f: string) => readFile(join(dir, f), "utf8");
  const key = await read("leaf.key");
  return {
    dir,
    caFile: join(dir, "ca.pem"),
    ca: await read("ca.pem"),
    good: { key, cert: await read("good.pem") },
    expired: { key, cert: await read("expired.pem") },
    wrongHost: { key, cert: await read("other.pem") },
    selfSigned: { key: await read("self.key"), cert: await read("self.pem") },
  };
}
