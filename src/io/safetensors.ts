// The safetensors format (what PyTorch's `safetensors.torch.load_file` reads): an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__:
// {string: string}}, then the raw little-endian tensor bytes. Miya writes F32 (what the GPU holds)
// or F64 (the CPU reference), and adds a SHA-256 of the tensor bytes to the metadata so that a
// truncated or corrupted file is refused on reading. The hash is Web Crypto's, present in the
// browser and in Node, so the same code saves checkpoints in both.
import { SpecError } from '../errors.js';

export interface Tensor { shape: number[]; data: Float32Array | Float64Array }
export interface SafeTensors { tensors: Map<string, Tensor>; metadata: Record<string, string> }

const DTYPES = { F32: Float32Array, F64: Float64Array } as const;

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function encodeSafetensors(tensors: Map<string, Tensor>, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`safetensors: ${name} has shape [${t.shape}] but ${t.data.length} values`);
    header[name] = { dtype: t.data instanceof Float64Array ? 'F64' : 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const body = new Uint8Array(offset);
  let at = 0;
  for (const t of tensors.values()) {
    body.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  header.__metadata__ = { ...metadata, sha256: await sha256(body) };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // tensor data 8-byte aligned
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(body, 8 + head.length);
  return out;
}

/** Parses and checks a safetensors file; `what` names it in errors. */
export async function decodeSafetensors(bytes: Uint8Array, what: string): Promise<SafeTensors> {
  const bad = (why: string): never => { throw new SpecError(what, `not a usable safetensors file (${why})`); };
  if (bytes.length < 8) bad(`${bytes.length} bytes, shorter than the header length`);
  const headLen = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + headLen > bytes.length) bad(`the header says ${headLen} bytes, the file has ${bytes.length - 8} after the length`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headLen)));
  } catch {
    return bad('the header is not JSON');
  }
  const body = bytes.subarray(8 + headLen);
  const metadata = (header.__metadata__ ?? {}) as unknown as Record<string, string>;
  if (metadata.sha256 && (await sha256(body)) !== metadata.sha256) bad('its checksum does not match: truncated or corrupted');
  const tensors = new Map<string, Tensor>();
  for (const [name, h] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (!Array.isArray(h?.shape) || !Array.isArray(h?.data_offsets)) bad(`${name} has no shape or data_offsets`);
    const Type = DTYPES[h.dtype as keyof typeof DTYPES] ?? bad(`${name} has dtype ${h.dtype}; expected F32 or F64`);
    const [from, to] = h.data_offsets;
    const n = h.shape.reduce((a, b) => a * b, 1);
    if (to > body.length || to - from !== n * Type.BYTES_PER_ELEMENT) bad(`${name}'s data (${from}..${to}) does not fit its shape [${h.shape}] or the file`);
    const copy = body.slice(from, to);
    tensors.set(name, { shape: h.shape, data: new Type(copy.buffer, copy.byteOffset, n) });
  }
  return { tensors, metadata };
}
