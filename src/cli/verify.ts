// miya verify [--backend webgpu|cpu|auto] [--random N] [--browser]
import { BACKEND_NAMES, type BackendName, createBackend } from '../backends.js';
import { oneOf } from '../spec/check.js';
import { RunError } from '../errors.js';
import { formatRows, type VerifyRow, verifyAll } from '../verify/verify.js';
import { parse, positiveInt } from './args.js';

export async function verifyCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    backend: { type: 'string', default: 'webgpu' },
    random: { type: 'string' },
    browser: { type: 'boolean', default: false },
  });
  // the options are checked before a device is opened
  const random = positiveInt('--random', values.random) ?? 20;
  if (values.browser) return verifyInBrowser(random);
  const name = oneOf('--backend', values.backend, BACKEND_NAMES) as BackendName;
  const be = await createBackend(name, { notice: (m) => process.stderr.write(m + '\n') });
  process.stdout.write(`miya verify on ${be.name}: ${be.device}\n`);
  // a line on stderr as each stage starts: on SwiftShader the kernels alone take a minute
  const t0 = performance.now();
  const onStage = (what: string) => process.stderr.write(`verify: ${what} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  const rows = await verifyAll(be, { random, onStage });
  be.dispose();
  process.stdout.write(formatRows(rows) + '\n');
  const failed = rows.filter((r) => !r.ok).length;
  process.stdout.write(`${rows.length - failed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

/** The same checks inside the built playground page in headless Chromium, on the browser's WebGPU. */
async function verifyInBrowser(random: number): Promise<number> {
  const { existsSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const { dirname } = await import('node:path');
  let root = dirname(fileURLToPath(import.meta.url)); // somewhere under dist/node/: up to the package
  while (!existsSync(`${root}/package.json`) && dirname(root) !== root) root = dirname(root);
  // the playground is built in Miya's own checkout only: the package leaves dist/web out
  if (!existsSync(`${root}/dist/web/index.html`))
    throw new RunError(`verify --browser: ${root}/dist/web is missing; it is built in a checkout of Miya's repository (npm ci or npm run build)`);
  // puppeteer-core and sirv are optional peer dependencies, installed for this command only
  const { startHeadless } = await import('../browser/headless.js').catch((e: unknown) => {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw new RunError('verify --browser needs the optional packages puppeteer-core and sirv: npm install puppeteer-core sirv');
  });
  const h = await startHeadless(root);
  try {
    const page = await h.open('/dist/web/index.html#verify');
    type Result = { backend: string; device: string; rows: VerifyRow[] };
    const r = await page.evaluate(
      (n) => (window as unknown as { playground: { verify: { run(n: number): Promise<Result> } } }).playground.verify.run(n),
      random,
    );
    process.stdout.write(`miya verify in Chromium on ${r.backend}: ${r.device}\n${formatRows(r.rows)}\n`);
    const failed = r.rows.filter((x) => !x.ok).length;
    for (const e of h.errors) process.stderr.write(`page error: ${e}\n`);
    process.stdout.write(`${r.rows.length - failed} passed, ${failed} failed\n`);
    return failed === 0 && h.errors.length === 0 && r.backend === 'webgpu' ? 0 : 1;
  } finally {
    await h.close();
  }
}
