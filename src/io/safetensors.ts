// The safetensors format (what PyTorch's `safetensors.torch.load_file` reads): an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__:
// {string: string}}, then the raw little-endian tensor bytes. Miya writes F32 (what the GPU holds)
// or F64 (the CPU reference). A file is read as untrusted input: every field of the header is
// checked, and the tensors must tile the body exactly, so that no tensor can read another's bytes
// or bytes that are not there. Miya adds a SHA-256 to the metadata (`sha256`) that covers the
// header as well as the tensor bytes: the header without `sha256`, as JSON.stringify writes it,
// followed by the body. A checksum of the body alone would let an edited header (two tensors'
// offsets swapped) pass. The hash is Web Crypto's, present in the browser and in Node, so the same
// code saves checkpoints in both.
import { SpecError } from '../errors.js';

export interface Tensor {
  shape: number[];
  data: Float32Array | Float64Array;
}
/**
 * What the file's metadata.sha256 was found to cover: the header and the body (every file this
 * Miya writes), the body alone (files of older Miya versions), or nothing (no checksum: PyTorch's
 * own files).
 */
export type Checksum = 'header+body' | 'body' | 'none';
export interface SafeTensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
  checksum: Checksum;
}

/**
 * The longest header read (and written). Miya's own headers are the tensor table (about 100 bytes
 * a tensor) and the run spec in the metadata, a few KiB, or a few MiB when the spec carries its
 * weights or data inline; 16 MiB leaves room for that while a corrupted or hostile length (up to
 * 2^64) never makes a reader allocate or parse more than this.
 */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;

const DTYPES = { F32: Float32Array, F64: Float64Array } as const;
type TypedArrayType = (typeof DTYPES)[keyof typeof DTYPES];

interface Entry {
  name: string;
  Type: TypedArrayType;
  shape: number[];
  from: number;
  to: number;
}
export interface Header {
  /** The tensors in the header's order. */
  entries: Entry[];
  metadata: Record<string, string>;
  /** The bytes the tensors take after the header: the file's size is 8 + header + this. */
  bodyBytes: number;
  /** The parsed header, for the checksum. */
  json: Record<string, unknown>;
}

const utf8 = new TextEncoder();

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The bytes the checksum covers: the header without its sha256, as JSON.stringify writes it, then the body. */
function checksummed(header: Record<string, unknown>, body: Uint8Array): Uint8Array {
  const meta: Record<string, unknown> = { ...(header.__metadata__ as Record<string, unknown> | undefined) };
  delete meta.sha256;
  // spreading keeps the keys' order, and __metadata__ keeps its place
  const head = utf8.encode(JSON.stringify({ ...header, __metadata__: meta }));
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** The SHA-256 Miya writes as metadata.sha256 for this header (its own sha256 left out) and body. */
export const headerChecksum = (header: Record<string, unknown>, body: Uint8Array): Promise<string> => sha256(checksummed(header, body));

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
  const meta: Record<string, string> = { ...metadata };
  delete meta.sha256;
  header.__metadata__ = meta;
  meta.sha256 = await headerChecksum(header, body);
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // tensor data 8-byte aligned
  const head = utf8.encode(json);
  // never write a file that a reader (this one) would refuse
  if (head.length > MAX_HEADER_BYTES) {
    const biggest = Object.entries(meta).sort((a, b) => b[1].length - a[1].length)[0];
    throw new Error(
      `safetensors: the header would be ${head.length} bytes, over the ${MAX_HEADER_BYTES} that readers accept (its largest part is metadata.${biggest[0]}, ${biggest[1].length} bytes)`,
    );
  }
  const out = new Uint8Array(8 + head.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(body, 8 + head.length);
  return out;
}

function refuse(what: string, why: string): never {
  throw new SpecError(what, `not a usable safetensors file (${why})`);
}

/** The header's length from the file's first 8 bytes, checked against the file's size and MAX_HEADER_BYTES. */
export function headerLength(first8: Uint8Array, fileSize: number, what: string): number {
  if (first8.length < 8 || fileSize < 8) refuse(what, `${fileSize} bytes, shorter than the header length`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) refuse(what, `the header says ${n} bytes, the file has ${fileSize - 8} after the length`);
  if (n > BigInt(MAX_HEADER_BYTES)) refuse(what, `a header of ${n} bytes; Miya reads headers of at most ${MAX_HEADER_BYTES} bytes (16 MiB)`);
  return Number(n);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const shown = (v: unknown): string => (v === undefined ? 'missing' : JSON.stringify(v));

/** Parses and checks a header (the bytes after the length); `what` names the file in errors. */
export function parseHeader(head: Uint8Array, what: string): Header {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(head));
  } catch {
    return refuse(what, 'the header is not JSON');
  }
  if (!isObject(json))
    return refuse(what, `the header is ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}, expected a JSON object of tensors`);
  const metadata: Record<string, string> = {};
  if ('__metadata__' in json) {
    const m = json.__metadata__;
    if (!isObject(m)) refuse(what, `__metadata__ is ${shown(m)}, expected an object of strings`);
    for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
      if (typeof v !== 'string') refuse(what, `__metadata__.${k} is ${shown(v)}, expected a string`);
      metadata[k] = v as string;
    }
  }
  const entries: Entry[] = [];
  for (const [name, h] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    if (!isObject(h)) refuse(what, `${name} is ${shown(h)}, expected {dtype, shape, data_offsets}`);
    const e = h as Record<string, unknown>;
    const Type = DTYPES[e.dtype as keyof typeof DTYPES];
    if (typeof e.dtype !== 'string' || !Object.hasOwn(DTYPES, e.dtype)) refuse(what, `${name} has dtype ${shown(e.dtype)}; expected F32 or F64`);
    if (!Array.isArray(e.shape) || !e.shape.every(isCount)) refuse(what, `${name} has shape ${shown(e.shape)}, expected an array of integers ≥ 0`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isCount) || offs[0] > offs[1]) {
      refuse(what, `${name} has data_offsets ${shown(offs)}, expected [from, to], integers with 0 ≤ from ≤ to`);
    }
    const shape = e.shape as number[],
      [from, to] = offs as number[];
    let n = 1;
    for (const d of shape) {
      n *= d;
      if (!Number.isSafeInteger(n * Type.BYTES_PER_ELEMENT)) refuse(what, `${name} has shape [${shape}], too many values`);
    }
    if (to - from !== n * Type.BYTES_PER_ELEMENT) {
      refuse(what, `${name}'s data_offsets [${from}, ${to}] hold ${to - from} bytes; its shape [${shape}] of ${e.dtype} needs ${n * Type.BYTES_PER_ELEMENT}`);
    }
    entries.push({ name, Type, shape, from, to });
  }
  // the tensors tile the body: sorted by offset, each starts where the one before ends
  const sorted = [...entries].sort((a, b) => a.from - b.from || a.to - b.to);
  let end = 0;
  let before: Entry | undefined;
  for (const e of sorted) {
    if (e.from < end) refuse(what, `${e.name}'s data (${e.from}..${e.to}) overlaps ${before!.name}'s (${before!.from}..${before!.to})`);
    if (e.from > end) refuse(what, `${e.name}'s data starts at ${e.from}, but the tensors before it end at ${end}: a gap`);
    end = e.to;
    before = e;
  }
  return { entries, metadata, bodyBytes: end, json };
}

/** Refuses a file whose size is not the one its length and header (of headLen bytes) describe. */
export function requireFileSize(headLen: number, header: Header, fileSize: number, what: string): void {
  const want = 8 + headLen + header.bodyBytes;
  if (fileSize !== want)
    refuse(what, `its header describes ${want} bytes, the file has ${fileSize}: ${fileSize < want ? 'truncated' : 'bytes after the last tensor'}`);
}

/** What metadata.sha256 covers, if it is there; a checksum that matches nothing is refused. */
async function verifyChecksum(header: Header, body: Uint8Array, what: string): Promise<Checksum> {
  const sum = header.metadata.sha256;
  if (sum === undefined) return 'none';
  if (!/^[0-9a-f]{64}$/.test(sum)) refuse(what, `its metadata.sha256 is ${JSON.stringify(sum)}, expected 64 hex digits`);
  if ((await headerChecksum(header.json, body)) === sum) return 'header+body';
  if ((await sha256(body)) === sum) return 'body';
  return refuse(what, 'its checksum does not match: truncated or corrupted');
}

/** Parses and checks a safetensors file; `what` names it in errors. */
export async function decodeSafetensors(bytes: Uint8Array, what: string): Promise<SafeTensors> {
  const headLen = headerLength(bytes.subarray(0, 8), bytes.length, what);
  const header = parseHeader(bytes.subarray(8, 8 + headLen), what);
  const body = bytes.subarray(8 + headLen);
  // the checksum first: for a damaged Miya file it names the damage best
  const checksum = await verifyChecksum(header, body, what);
  if (body.length !== header.bodyBytes) {
    refuse(
      what,
      `its tensors take ${header.bodyBytes} bytes after the header, the file has ${body.length}: ${body.length < header.bodyBytes ? 'truncated' : 'bytes after the last tensor'}`,
    );
  }
  const tensors = new Map<string, Tensor>();
  for (const { name, Type, shape, from, to } of header.entries) {
    const copy = body.slice(from, to);
    tensors.set(name, { shape, data: new Type(copy.buffer, copy.byteOffset, (to - from) / Type.BYTES_PER_ELEMENT) });
  }
  return { tensors, metadata: header.metadata, checksum };
}
