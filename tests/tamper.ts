// Test helper: a safetensors file taken apart into its parsed header and body, and put back
// together after a test has changed it, with the checksum left, deleted, or recomputed as Miya
// computes it (so that what is tested is the check on the field, not the checksum).
import { headerChecksum } from '../src/io/safetensors.js';

export type Header = Record<string, any>;

export function split(bytes: Uint8Array): { header: Header; body: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), body: bytes.slice(8 + n) };
}

/** The header as given (JSON text or an object), then the body. */
export function join(header: Header | string, body: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + head.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(body, 8 + head.length);
  return out;
}

/** `bytes` with `edit` applied to its header and body; the checksum then as `checksum` says. */
export async function tamper(
  bytes: Uint8Array,
  edit: (h: Header, body: Uint8Array) => void,
  checksum: 'keep' | 'recompute' = 'recompute',
): Promise<Uint8Array> {
  const { header, body } = split(bytes);
  edit(header, body);
  // a deleted or emptied checksum stays so
  if (checksum === 'recompute' && header.__metadata__?.sha256) header.__metadata__.sha256 = await headerChecksum(header, body);
  return join(header, body);
}
