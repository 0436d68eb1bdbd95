/** A small ustar writer for tests, with knobs for broken headers. */
export interface TarMember {
  name: string;
  data?: Uint8Array | string;
  type?: string;
  linkName?: string;
  /** Size written in the header (default: the data length). */
  headerSize?: number;
  /** Corrupt the checksum. */
  badChecksum?: boolean;
  /** Write the size in GNU base-256. */
  base256?: boolean;
}

const enc = new TextEncoder();

function octal(h: Uint8Array, at: number, len: number, value: number): void {
  const s = value.toString(8).padStart(len - 1, "0");
  h.set(enc.encode(s), at);
}

export function tarHeader(m: TarMember, size: number): Uint8Array {
  const h = new Uint8Array(512);
  h.set(enc.encode(m.name).subarray(0, 100), 0);
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  if (m.base256) {
    h[124] = 0x80;
    let v = m.headerSize ?? size;
    for (let i = 135; i > 124; i--) {
      h[i] = v % 256;
      v = Math.floor(v / 256);
    }
  } else octal(h, 124, 12, m.headerSize ?? size);
  octal(h, 136, 12, 0);
  h[156] = (m.type ?? "0").charCodeAt(0);
  if (m.linkName) h.set(enc.encode(m.linkName), 157);
  h.set(enc.encode("ustar\u000000"), 257);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of h) sum += c;
  if (m.badChecksum) sum += 1;
  h.set(enc.encode(`${sum.toString(8).padStart(6, "0")}\u0000 `), 148);
  return h;
}

export function buildTar(members: TarMember[], trailer: Uint8Array = new Uint8Array(1024)): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const m of members) {
    const data = typeof m.data === "string" ? enc.encode(m.data) : (m.data ?? new Uint8Array());
    parts.push(tarHeader(m, data.length));
    const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
    padded.set(data);
    parts.push(padded);
  }
  parts.push(trailer);
  return Buffer.concat(parts);
}

export function paxRecord(fields: Record<string, string>): string {
  let out = "";
  for (const [k, v] of Object.entries(fields)) {
    const body = ` ${k}=${v}\n`;
    let len = body.length + 1;
    while (`${len}${body}`.length !== len) len++;
    out += `${len}${body}`;
  }
  return out;
}
