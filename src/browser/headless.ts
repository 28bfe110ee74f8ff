// Node only: serves the project's folder (the built playground in dist/web, dist/miya.js, the
// examples) on a free localhost port and opens it in headless Chromium (puppeteer-core driving
// Debian's /usr/bin/chromium with WebGPU on), collecting every console error and page error.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import sirv from 'sirv';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface Headless {
  browser: Browser;
  server: Server;
  base: string;
  errors: string[];
  open(path: string, before?: (page: Page) => Promise<unknown>): Promise<Page>;
  close(): Promise<void>;
}

export async function startHeadless(root: string): Promise<Headless> {
  const serve = sirv(root, { dev: true });
  const server = createServer((req, res) =>
    serve(req, res, () => {
      res.statusCode = 404;
      res.end('not found');
    }),
  );
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let browser: Browser;
  try {
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  } catch (e) {
    server.close();
    throw new Error(`could not start ${CHROMIUM} (install Debian's chromium, or set CHROMIUM_PATH): ${(e as Error).message}`);
  }
  const errors: string[] = [];
  return {
    browser,
    server,
    base,
    errors,
    async open(path: string, before?: (page: Page) => Promise<unknown>) {
      const page = await browser.newPage();
      await before?.(page);
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`${path}: console: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(`${path}: ${(e as Error).message}`));
      await page.setViewport({ width: 1280, height: 900 });
      await page.goto(base + path, { waitUntil: 'load' });
      return page;
    },
    async close() {
      await browser.close();
      await new Promise((ok) => server.close(ok));
    },
  };
}
