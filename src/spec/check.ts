// Small checkers that name the JSON path and what was expected, for spec validation; and how a
// message quotes what it read (a spec's values, a file's content): escaped, so that it stays one
// line that moves no cursor, and short, so that an error never prints a file.
import { SpecError } from '../errors.js';

// C0 and C1 controls, DEL, the line and paragraph separators, and the marks and overrides that
// reorder text on a terminal (bidi): none of them reaches a message unescaped.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const escapeOne = (c: string): string =>
  NAMED[c] ?? (c.charCodeAt(0) < 0x100 ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Text as a message may show it unquoted (a file's path): control characters escaped (\n, \x1b, \u202e). */
export function printable(s: string): string {
  return s.replace(UNPRINTABLE, escapeOne);
}

/**
 * At most `max` characters of text read from a spec or a file, quoted and escaped, cut with "…":
 * enough to recognize the value, too little to print a file (a CSV path may name any file).
 */
export function excerpt(s: string, max = 40): string {
  const chars = Array.from(s); // by code point: a cut never splits a surrogate pair
  const cut = chars.length > max ? chars.slice(0, max).join('') + '…' : s;
  return printable(JSON.stringify(cut));
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return excerpt(v, 20);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** `path.key`, or `path["key"]` for a key that is not an identifier ("" for the root). */
export function keyPath(path: string, key: string): string {
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${excerpt(key)}]`;
}

/**
 * The deepest nesting a spec may have: arrays and objects within one another, the spec itself
 * being 1. A spec needs 5 at most (an RNN's data.x[i][t][j] sits in the spec, data, x, x[i] and
 * x[i][t]); 64 leaves room for a free-form field such as expect, and is far below the depths at
 * which JSON.stringify (a checkpoint keeps its spec as JSON) and structured cloning (a spec sent
 * to a worker) overflow the call stack, some thousands. A bound also keeps JSON.parse from
 * spending gigabytes on a file of "[[[[…".
 */
export const MAX_DEPTH = 64;

function tooDeep(path: string): never {
  return fail(path === '' ? '$' : path, `nested deeper than ${MAX_DEPTH} levels of arrays and objects (a run spec needs 5 at most: an RNN's data.x[i][t][j])`);
}

/** Refuses a value nested deeper than MAX_DEPTH, naming the first container too deep (walked without recursion). */
export function requireDepth(raw: unknown): void {
  type Node = { v: unknown; depth: number; parent?: Node; key: string | number };
  const pathOf = (n: Node): string => {
    const segs: (string | number)[] = [];
    for (let m: Node | undefined = n; m?.parent; m = m.parent) segs.push(m.key);
    return segs.reverse().reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : keyPath(p, k)), '');
  };
  const isContainer = (v: unknown): v is object => typeof v === 'object' && v !== null;
  const stack: Node[] = isContainer(raw) ? [{ v: raw, depth: 1, key: '' }] : [];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.depth > MAX_DEPTH) tooDeep(pathOf(n));
    // children pushed last to first, so that the first container too deep in the document's order is named
    if (Array.isArray(n.v)) {
      for (let i = n.v.length - 1; i >= 0; i--) if (isContainer(n.v[i])) stack.push({ v: n.v[i], depth: n.depth + 1, parent: n, key: i });
    } else {
      const keys = Object.keys(n.v as object);
      for (let i = keys.length - 1; i >= 0; i--) {
        const v = (n.v as Record<string, unknown>)[keys[i]];
        if (isContainer(v)) stack.push({ v, depth: n.depth + 1, parent: n, key: keys[i] });
      }
    }
  }
}

/**
 * The same bound on JSON text, before it is parsed: JSON.parse itself does not overflow on deep
 * input, but spends memory on every level it opens (50 MB of "[" took 2.7 GB). Scans strings,
 * keys and commas only as far as the path needs; invalid JSON is left to JSON.parse.
 */
export function requireJsonDepth(text: string): void {
  type Frame = { array: boolean; index: number; key: string; wantKey: boolean };
  const frames: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a string: skip to its closing quote; an object's key is kept for the path
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      const top = frames[frames.length - 1];
      if (top && !top.array && top.wantKey) {
        try {
          top.key = JSON.parse(text.slice(i, j + 1)) as string;
        } catch {
          top.key = text.slice(i + 1, j);
        }
        top.wantKey = false;
      }
      i = j;
    } else if (c === 0x5b || c === 0x7b) {
      // [ {
      if (frames.length >= MAX_DEPTH) tooDeep(frames.reduce((p, f) => (f.array ? `${p}[${f.index}]` : keyPath(p, f.key)), ''));
      frames.push({ array: c === 0x5b, index: 0, key: '', wantKey: c === 0x7b });
    } else if (c === 0x5d || c === 0x7d) {
      frames.pop();
    } else if (c === 0x2c) {
      // ,
      const top = frames[frames.length - 1];
      if (top?.array) top.index++;
      else if (top) top.wantKey = true;
    }
  }
}

// Names from Keras, PyTorch and TF.js that a spec spells otherwise.
const ALIASES: Record<string, string[]> = {
  learningrate: ['lr'],
  epsilon: ['eps'],
  alpha: ['rho'],
  decay: ['rho'],
  betas: ['beta1', 'beta2'],
  beta: ['beta1', 'beta2'],
  kernel: ['weights'],
  weight: ['weights'],
  outfeatures: ['units'],
  numepochs: ['epochs'],
  epoch: ['epochs'],
};
const normalized = (k: string) => k.toLowerCase().replace(/[_\-\s]/g, '');

/** Optimal string alignment distance (an adjacent transposition is one edit); the CLI's option suggestions use it too. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_v, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * What a mistyped key probably meant, among `options`: the same name in another case or with
 * underscores (input_size), a name other libraries use (learning_rate), or one within a third of
 * its letters (activaton).
 */
export function closest(key: string, options: readonly string[]): string | undefined {
  const k = normalized(key);
  if (k.length > 40) return undefined; // no one mistypes a key this long; and the distance is quadratic
  const same = options.find((o) => normalized(o) === k);
  if (same) return same;
  const alias = ALIASES[k]?.filter((a) => options.includes(a));
  if (alias?.length) return alias.join('" or "');
  let best: string | undefined,
    bestD = Infinity;
  for (const o of options) {
    const d = editDistance(k, normalized(o));
    if (d < bestD && d <= Math.max(1, Math.floor(Math.max(k.length, o.length) / 3))) [best, bestD] = [o, d];
  }
  return best;
}

/**
 * Refuses a key of `o` that is not one of `keys` (a key whose value is undefined is absent, as
 * for `optional`), naming its path, what `o` is, the keys expected and the likeliest one meant.
 * `elsewhere`: keys that belong to another kind of the same object, with where they belong.
 */
export function knownKeys(path: string, o: Record<string, unknown>, keys: readonly string[], what: string, elsewhere: Record<string, string> = {}): void {
  for (const k of Object.keys(o)) {
    if (keys.includes(k) || o[k] === undefined) continue;
    // a spec file's "$schema" (the package's run-spec.schema.json) is for editors, not for training
    if (path === '' && k === '$schema' && typeof o[k] === 'string') continue;
    const expected = `expected one of ${keys.join(', ')}`;
    if (k in elsewhere) fail(keyPath(path, k), `not a field of ${what} (${expected}); ${k} ${elsewhere[k]}`);
    const guess = closest(k, [...keys, ...Object.keys(elsewhere)]);
    const hint = guess === undefined ? '' : `; did you mean "${guess}"${guess in elsewhere ? ` (which ${elsewhere[guess]})` : ''}?`;
    fail(keyPath(path, k), `not a field of ${what}${hint} (${expected})`);
  }
}

export function fail(path: string, expected: string, ...got: [unknown?]): never {
  // a value given (even undefined) is described; none given: `expected` is the whole message
  throw new SpecError(path, got.length > 0 ? `expected ${expected}, got ${describe(got[0])}` : expected);
}

export function obj(path: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'an object', v);
  return v as Record<string, unknown>;
}

export function num(path: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'a finite number', v);
  return v as number;
}

export function int(path: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(path, `an integer ≥ ${min}`, v);
  return v as number;
}

export function oneOf<T extends string>(path: string, v: unknown, options: readonly T[]): T {
  if (typeof v !== 'string' || !options.includes(v as T)) fail(path, `one of ${options.map((o) => `"${o}"`).join(', ')}`, v);
  return v as T;
}

export function vector(path: string, v: unknown, n: number): number[] {
  if (!Array.isArray(v)) fail(path, `${n} numbers`, v);
  const a = v as unknown[];
  if (a.length !== n) fail(path, `expected ${n} numbers, got ${a.length}`);
  a.forEach((x, i) => num(`${path}[${i}]`, x));
  return a as number[];
}

export function matrix(path: string, v: unknown, rows: number, cols: number): number[][] {
  const want = `${rows} rows of ${cols} numbers`;
  if (!Array.isArray(v)) fail(path, want, v);
  const a = v as unknown[];
  if (a.length !== rows) fail(path, `expected ${want}, got ${a.length} rows`);
  const lengths = a.map((r) => (Array.isArray(r) ? r.length : -1));
  const bad = lengths.findIndex((l) => l !== cols);
  if (bad >= 0) {
    if (lengths.every((l) => l === lengths[bad]) && lengths[bad] >= 0) fail(path, `expected ${want}, got ${rows} rows of ${lengths[bad]}`);
    fail(`${path}[${bad}]`, `${cols} numbers`, a[bad]);
  }
  a.forEach((r, i) => (r as unknown[]).forEach((x, j) => num(`${path}[${i}][${j}]`, x)));
  return a as number[][];
}

export function optional<T>(o: Record<string, unknown>, key: string, check: (v: unknown) => T): T | undefined {
  return o[key] === undefined ? undefined : check(o[key]);
}
