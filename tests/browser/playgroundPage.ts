// The headless browser the playground tests share: one Chromium serving the built dist/web for a
// test file (started before its tests, closed after), and the page opened on the CPU backend
// alone (no navigator.gpu), which is quick and the same on every machine. Screenshots go to SHOTS.
import { mkdirSync } from 'node:fs';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll } from 'vitest';
import { type Headless, startHeadless } from '../../src/browser/headless.js';

export const SHOTS = 'test-results';

export interface Playground {
  /** The running browser (after beforeAll). */
  readonly headless: Headless;
  /** Opens `path` of the served playground with WebGPU removed from the page. */
  openCpu(path: string): Promise<Page>;
}

/** Starts the browser for this test file's tests and closes it after them. */
export function usePlayground(): Playground {
  let h: Headless | undefined;
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    h = await startHeadless(process.cwd());
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });
  return {
    get headless() {
      if (!h) throw new Error('the headless browser is not started (use it inside a test)');
      return h;
    },
    openCpu: (path) => {
      if (!h) throw new Error('the headless browser is not started (use it inside a test)');
      return h.open(path, (p) =>
        p.evaluateOnNewDocument(() => {
          delete (Navigator.prototype as { gpu?: unknown }).gpu;
        }),
      );
    },
  };
}
