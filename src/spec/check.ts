// Small checkers that name the JSON path and what was expected, for spec validation.
import { SpecError } from '../errors.js';

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 20 ? v.slice(0, 20) + '…' : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

export function fail(path: string, expected: string, got?: unknown): never {
  throw new SpecError(path, arguments.length > 2 ? `expected ${expected}, got ${describe(got)}` : expected);
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
