// The backends the tests run on: cpu always, webgpu when Dawn finds an adapter (a GPU, or
// SwiftShader where Debian's chromium and libvulkan1 are installed).
//
// A webgpu test never passes by not running. Without an adapter it is reported as skipped, its
// name ending in the reason, and each test file that skips some says so once on stderr; with
// MIYA_REQUIRE_WEBGPU=1 (.ci/run sets it, since CI installs SwiftShader) a missing adapter is an
// error that fails the test file.
import { describe, test } from 'vitest';
import type { Backend } from '../src/backend.js';
import { createBackend } from '../src/backends.js';
import { CpuBackend } from '../src/cpu/backend.js';
import type { WebGpuBackend } from '../src/webgpu/backend.js';

export const REQUIRE_WEBGPU = process.env.MIYA_REQUIRE_WEBGPU === '1';

type Opened = { be: Backend; missing?: undefined } | { be?: undefined; missing: string };
let opened: Promise<Opened> | undefined;
let told = false;

/**
 * The webgpu backend (one per test file), or undefined with the reason said once on stderr.
 * Throws where MIYA_REQUIRE_WEBGPU=1 and there is none.
 */
export async function webgpuBackend(): Promise<Backend | undefined> {
  return (await webgpu()).be;
}

/** Why there is no webgpu backend here (undefined: there is one). Throws where MIYA_REQUIRE_WEBGPU=1 and there is none. */
export async function webgpuMissing(): Promise<string | undefined> {
  return (await webgpu()).missing;
}

async function webgpu(): Promise<Opened> {
  opened ??= createBackend('webgpu').then(
    (be) => ({ be }),
    (e: unknown) => ({ missing: e instanceof Error ? e.message : String(e) }),
  );
  const g = await opened;
  if (g.missing !== undefined) {
    if (REQUIRE_WEBGPU) throw new Error(`MIYA_REQUIRE_WEBGPU=1, and the webgpu backend is missing: ${g.missing}`);
    if (!told) console.warn(`the webgpu tests of this file are skipped: ${g.missing}`);
    told = true;
  }
  return g;
}

/** The ending of a skipped webgpu test's name. */
const skippedBecause = (missing: string) => ` [skipped: ${missing}]`;

/**
 * test(name, fn) given the webgpu backend; where there is none, the test is skipped, its name
 * saying why. `fn` receives the backend, typed as what it is.
 */
export async function webgpuTest(): Promise<(name: string, fn: (be: WebGpuBackend) => Promise<void> | void, timeout?: number) => void> {
  const { be, missing } = await webgpu();
  return (name, fn, timeout) => {
    if (be) test(name, () => fn(be as unknown as WebGpuBackend), timeout);
    else test.skip(name + skippedBecause(missing!), () => {});
  };
}

export interface BackendCase {
  name: 'cpu' | 'webgpu';
  be?: Backend;
  missing?: string;
}

/** cpu, and webgpu: its backend, or why it is missing. */
export async function backendCases(): Promise<BackendCase[]> {
  const { be, missing } = await webgpu();
  return [
    { name: 'cpu', be: new CpuBackend() },
    { name: 'webgpu', be, missing },
  ];
}

/**
 * describe(title with %s replaced by each backend's name, body) for each case; a missing backend's
 * suite is one skipped test whose name says why.
 */
export function describeBackends(cases: BackendCase[], title: string, body: (name: string, be: Backend) => void): void {
  for (const c of cases) {
    describe(title.replace('%s', c.name), () => {
      if (c.be) body(c.name, c.be);
      else test.skip(`every test of this suite${skippedBecause(c.missing!)}`, () => {});
    });
  }
}

/** test(title with %s replaced by each backend's name, fn) for each case; a missing backend's test is skipped, its name saying why. */
export function testBackends(cases: BackendCase[], title: string, fn: (name: string, be: Backend) => Promise<void> | void): void {
  for (const c of cases) {
    const name = title.replace('%s', c.name);
    if (c.be) test(name, () => fn(c.name, c.be!));
    else test.skip(name + skippedBecause(c.missing!), () => {});
  }
}

/**
 * [name, backend] for every backend present: cpu, and webgpu where there is an adapter (where
 * there is none, stderr says so once; MIYA_REQUIRE_WEBGPU=1 makes it an error). Suites that should
 * report the webgpu half as skipped use backendCases and describeBackends.
 */
export async function presentBackends(): Promise<[string, Backend][]> {
  return (await backendCases()).flatMap((c) => (c.be ? [[c.name, c.be] as [string, Backend]] : []));
}
