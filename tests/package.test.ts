// Miya as its users get it: `npm pack` of this checkout (dist/ as tests/globalSetup.ts built it),
// installed from the tarball into fresh apps in a temporary folder (--prefer-offline: from the npm
// cache, which `npm ci` filled), then used as a Node program, a strict TypeScript program, and a
// browser app bundled by esbuild, Rolldown, Vite, Rollup and webpack, the esbuild and webpack
// bundles run in headless Chromium. The numbers a run gives
// are checked against plain loops in this file (a linear neuron, MSE, SGD), not against Miya.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { webgpuMissing, webgpuTest } from './backends.js';
import { locked } from './globalSetup.js';

const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'miya-package-'));
const app = join(work, 'app');
interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}
let packed: Packed;

const run = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 120_000 });
const ok = (r: SpawnSyncReturns<string>, what: string): string => {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}: ${r.stderr || r.stdout}`);
  return r.stdout;
};

// The spec every app trains: y = w·x + b on three samples, full batch, MSE, SGD.
const spec = {
  model: { type: 'mlp', inputSize: 1, layers: [{ units: 1, activation: 'identity', weights: [[0.5]], bias: [0.25] }] },
  loss: 'mse',
  optimizer: { type: 'sgd', lr: 0.05 },
  data: { x: [[1], [2], [3]], y: [[2], [4.5], [6]] },
  steps: 6,
};
/** The losses of `spec`, each before its step's update, by plain loops in float64. */
function expectedLosses(): number[] {
  let w = 0.5,
    b = 0.25;
  const xs = [1, 2, 3],
    ys = [2, 4.5, 6],
    n = xs.length,
    losses: number[] = [];
  for (let step = 0; step < spec.steps; step++) {
    let loss = 0,
      gw = 0,
      gb = 0;
    for (let i = 0; i < n; i++) {
      const e = w * xs[i] + b - ys[i];
      loss += (e * e) / n;
      gw += (2 * e * xs[i]) / n;
      gb += (2 * e) / n;
    }
    losses.push(loss);
    w -= 0.05 * gw;
    b -= 0.05 * gb;
  }
  return losses;
}

/** Bytes of every file under a folder (symbolic links not followed). */
function bytesUnder(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += bytesUnder(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

beforeAll(async () => {
  // under globalSetup's lock: no other test process rebuilds dist/ while it is packed
  const out = await locked(async () => ok(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root), 'npm pack'));
  packed = (JSON.parse(out) as Packed[])[0];
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  ok(
    run('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', join(work, packed.filename)], app),
    'npm install of the tarball',
  );
  writeFileSync(join(app, 'node-app.mjs'), NODE_APP);
  writeFileSync(join(app, 'browser.js'), BROWSER_APP);
  writeFileSync(join(app, 'worker-mnist.js'), workerMnistApp("import { runInWorker, runSpec } from 'miya';"));
  writeFileSync(join(app, 'worker-mnist-lazy.js'), workerMnistApp("const { runInWorker, runSpec } = await import('miya');"));
}, 180_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

test('npm pack holds the builds, declarations, schema, bin, examples, README and LICENSE, and nothing else', () => {
  const paths = packed.files.map((f) => f.path);
  for (const want of [
    'package.json',
    'README.md',
    'LICENSE',
    'bin/miya.js',
    'dist/miya.js',
    'dist/miya-worker.js',
    'dist/node/index.js',
    'dist/node/cli.js',
    'dist/types/index.d.ts',
    'dist/mnist-digits.bin.gz',
    'dist/THIRD-PARTY-LICENSES.md',
    'dist/node/THIRD-PARTY-LICENSES.md',
    'schema/run-spec.schema.json',
    'examples/mnist-mlp.json',
  ])
    expect(paths).toContain(want);
  const allowed = [
    /^(LICENSE|README\.md|package\.json)$/,
    /^bin\/miya\.js$/,
    /^dist\/[^/]+\.js$/,
    /^dist\/mnist-digits\.bin\.gz$/,
    /^dist\/(node\/)?THIRD-PARTY-LICENSES\.md$/,
    /^dist\/node\/(chunks\/)?[^/]+\.js$/,
    /^dist\/types\/.+\.d\.ts$/,
    /^examples\/[^/]+\.(json|csv|txt)$/,
    /^schema\/run-spec\.schema\.json$/,
  ];
  expect(paths.filter((p) => !allowed.some((a) => a.test(p)))).toEqual([]);
  // the digits once (1.6 MB of it), the browser and Node builds, the declarations
  expect(packed.unpackedSize).toBeLessThan(4_000_000);
  expect(packed.size).toBeLessThan(2_500_000);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
  // require(esm), which `require('miya')` needs, is on by default from Node 20.19
  expect(pkg.engines.node).toBe('>=20.19');
});

test('a browser-only install (no optional peer dependency) is under 5 MB and holds no Node-only package', () => {
  const installed = readdirSync(join(app, 'node_modules'));
  for (const nodeOnly of ['webgpu', 'puppeteer-core', 'sirv', 'cli-progress', 'mnist']) expect(installed).not.toContain(nodeOnly);
  expect(bytesUnder(join(app, 'node_modules'))).toBeLessThan(5_000_000);
});

test('the installed CLI trains on cpu, and without the webgpu package --backend webgpu says how to install it', () => {
  const miya = join(app, 'node_modules/.bin/miya');
  writeFileSync(join(app, 'spec.json'), JSON.stringify(spec));
  const r = run(miya, ['train', 'spec.json', '--backend', 'cpu', '--json'], app);
  expect(r.status, r.stderr).toBe(0);
  const losses = (JSON.parse(r.stdout) as { losses: number[] }).losses;
  expectedLosses().forEach((l, i) => expect(losses[i]).toBeCloseTo(l, 12));
  const gpu = run(miya, ['train', 'spec.json', '--backend', 'webgpu'], app);
  expect(gpu.status).not.toBe(0);
  expect(gpu.stderr).toMatch(/npm install webgpu/);
  // the progress bar (cli-progress, built into the CLI) without --json
  const bar = run(miya, ['train', 'spec.json', '--backend', 'cpu'], app);
  expect(bar.status, bar.stderr).toBe(0);
  expect(bar.stderr).toMatch(/6\/6 steps/);
  // auto falls back to cpu quietly: no GPU package is no error
  expect(run(miya, ['train', 'spec.json', '--backend', 'auto', '--json'], app).status).toBe(0);
  // verify --browser drives the playground, which only a checkout of the repository builds
  const browser = run(miya, ['verify', '--browser'], app);
  expect(browser.status).not.toBe(0);
  expect(browser.stderr).toMatch(/checkout of Miya's repository/);
});

/** The Node app: trains `spec` (and, with 'mnist', 50 steps of MNIST) and reports what importing and training changed. */
const NODE_APP = `
const envBefore = { ...process.env };
const globalsBefore = new Set(Object.getOwnPropertyNames(globalThis));
const miya = await import('miya');
const [backend, mnist] = process.argv.slice(2);
const r = await miya.runSpec(${JSON.stringify(spec)}, { backend });
const m = mnist ? await miya.runSpec({ model: { type: 'mlp', inputSize: 784, layers: [{ units: 10, activation: 'softmax' }] }, loss: 'crossEntropy',
  optimizer: { type: 'adam', lr: 0.01 }, data: { dataset: 'mnist', train: 1000, test: 500 }, steps: 50, batchSize: 100 }, { backend: 'cpu' }) : undefined;
const envAfter = process.env;
const envChanged = [...new Set([...Object.keys(envBefore), ...Object.keys(envAfter)])].filter((k) => envBefore[k] !== envAfter[k]);
const globalsAdded = Object.getOwnPropertyNames(globalThis).filter((k) => !globalsBefore.has(k));
console.log(JSON.stringify({ backend: r.backend, losses: r.losses, accuracy: m?.test?.accuracy, envChanged, globalsAdded }));
`;
interface NodeRun {
  backend: string;
  losses: number[];
  accuracy?: number;
  envChanged: string[];
  globalsAdded: string[];
}

test('a Node ESM app trains on cpu as plain loops do, reads the MNIST digits from the package, and keeps process.env and globalThis as they were', () => {
  const r = JSON.parse(ok(run('node', ['node-app.mjs', 'cpu', 'mnist'], app), 'node-app.mjs')) as NodeRun;
  expect(r.backend).toBe('cpu');
  expectedLosses().forEach((l, i) => expect(r.losses[i]).toBeCloseTo(l, 12));
  // a softmax regression on 1000 digits after 50 steps: far above chance (10%)
  expect(r.accuracy).toBeGreaterThan(0.6);
  expect(r.envChanged).toEqual([]);
  expect(r.globalsAdded).toEqual([]);
});

test("no source names a browser's GPU* flag global, which Node does not have (src/webgpu/flags.ts has the values)", () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  const naming = files(join(root, 'src')).filter((f) => /\bGPU(BufferUsage|MapMode|ShaderStage|TextureUsage|ColorWrite)\.[A-Z]/.test(readFileSync(f, 'utf8')));
  expect(naming).toEqual([]);
});

test("require('miya') gives the same API (Node ≥ 20.19)", () => {
  writeFileSync(join(app, 'required.cjs'), 'const m = require("miya"); console.log(typeof m.runSpec, typeof m.validateSpec, typeof m.SpecError);');
  expect(ok(run('node', ['required.cjs'], app), 'required.cjs').trim()).toBe('function function function');
});

const gpuTest = await webgpuTest();
gpuTest('with the webgpu package present, the Node app trains on webgpu to float32 rounding and still changes no environment variable or global', () => {
  // the package as `npm install webgpu` would put it, from this checkout's node_modules
  symlinkSync(join(root, 'node_modules/webgpu'), join(app, 'node_modules/webgpu'), 'dir');
  try {
    const env = { ...process.env };
    for (const k of ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'VK_LOADER_DRIVERS_DISABLE', 'XDG_RUNTIME_DIR']) delete env[k];
    const r = JSON.parse(ok(run('node', ['node-app.mjs', 'webgpu'], app, env), 'node-app.mjs webgpu')) as NodeRun;
    expect(r.backend).toBe('webgpu');
    expectedLosses().forEach((l, i) => expect(Math.abs(r.losses[i] - l)).toBeLessThan(1e-5 * Math.max(1, l)));
    expect(r.envChanged).toEqual([]);
    expect(r.globalsAdded).toEqual([]);
  } finally {
    rmSync(join(app, 'node_modules/webgpu'));
  }
});

test("a strict TypeScript app type-checks against the declarations, with and without a bundler's resolution, and a wrong spec is an error", () => {
  writeFileSync(
    join(app, 'app.ts'),
    `
import { createBackend, type RunResult, type RunSpec, runSpec, SpecError, validateSpec } from 'miya';
const spec: RunSpec = ${JSON.stringify(spec)} as const satisfies RunSpec;
// @ts-expect-error: 'nope' is no loss: the declarations must say so
const wrong: RunSpec = { ...spec, loss: 'nope' };
async function main(): Promise<number[]> {
  const be = await createBackend('cpu');
  const r: RunResult = await runSpec(validateSpec(spec), { backend: be, steps: 2, onProgress: (p) => void p.step });
  if (!(wrong instanceof SpecError)) return r.losses;
  return [];
}
void main();
`,
  );
  for (const resolution of [
    { module: 'nodenext', moduleResolution: 'nodenext' },
    { module: 'esnext', moduleResolution: 'bundler' },
  ]) {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { ...resolution, target: 'es2022', lib: ['es2023', 'dom'], strict: true, noEmit: true, skipLibCheck: false, types: [] },
        files: ['app.ts'],
      }),
    );
    const r = run('node', [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
    expect(r.stdout + r.stderr, resolution.moduleResolution).toBe('');
    expect(r.status).toBe(0);
  }
});

/** What a page imports: runSpec only, on cpu and WebGPU; the result lands on window.result. */
const BROWSER_APP = `
import { runSpec } from 'miya';
const spec = ${JSON.stringify(spec)};
const result = {};
for (const backend of ['cpu', 'webgpu']) {
  try { result[backend] = (await runSpec(spec, { backend })).losses; } catch (e) { result[backend] = String(e); }
}
window.result = result;
`;

/** MNIST's softmax regression of the Node app, fewer steps. */
const mnistSpec = {
  model: { type: 'mlp', inputSize: 784, layers: [{ units: 10, activation: 'softmax' }] },
  loss: 'crossEntropy',
  optimizer: { type: 'adam', lr: 0.01 },
  data: { dataset: 'mnist', train: 1000, test: 500 },
  steps: 30,
  batchSize: 100,
};
/**
 * A page that finds Miya's files at run time: runInWorker with no `worker` option (miya-worker.js
 * beside the script) and MNIST (the digits beside the script); results on window.result. `imports`
 * brings Miya in (statically, or as a chunk loaded later).
 */
const workerMnistApp = (imports: string) => `
${imports}
const result = {};
try { result.worker = (await runInWorker(${JSON.stringify(spec)}, { backend: 'cpu' })).losses; } catch (e) { result.worker = String(e); }
try { const r = await runSpec(${JSON.stringify(mnistSpec)}, { backend: 'cpu' }); result.mnist = { losses: r.losses, accuracy: r.test?.accuracy }; } catch (e) { result.mnist = String(e); }
window.result = result;
`;

/** The bundle's JavaScript files: none imports a Node module or the webgpu package, none carries the digits. */
function checkBundle(dir: string): string[] {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
  // the digits' loader is a small chunk; the digits themselves stay out
  expect(files.filter((f) => /\.gz$|\.bin$|\.json$/.test(f))).toEqual([]);
  const js = files.filter((f) => f.endsWith('.js'));
  expect(js.length).toBeGreaterThan(0);
  for (const f of js) {
    const text = readFileSync(f, 'utf8');
    expect(text, f).not.toMatch(/["']node:[a-z]/);
    expect(text, f).not.toMatch(/(from\s*|import\s*\(\s*|require\s*\(\s*)["']webgpu["']/);
    expect(text.length, f).toBeLessThan(600_000);
  }
  return js;
}

test('esbuild bundles a browser app importing runSpec with no Node module, no webgpu package and no MNIST digits', async () => {
  const esbuild = await import('esbuild');
  const r = await esbuild.build({
    absWorkingDir: app,
    entryPoints: ['browser.js'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    splitting: true,
    outdir: 'out-esbuild',
    target: 'es2022',
    logLevel: 'silent',
  });
  expect(r.errors).toEqual([]);
  expect(r.warnings).toEqual([]);
  checkBundle(join(app, 'out-esbuild'));
});

test("Rolldown (Vite's bundler, with Rollup's API) bundles it alone, with no plugin, likewise", async () => {
  const { rolldown } = await import('rolldown');
  const warnings: string[] = [];
  const bundle = await rolldown({
    cwd: app,
    input: join(app, 'browser.js'),
    platform: 'browser',
    onwarn: (w) => {
      warnings.push(w.message);
    },
  });
  await bundle.write({ dir: join(app, 'out-rolldown'), format: 'es' });
  await bundle.close();
  expect(warnings).toEqual([]);
  checkBundle(join(app, 'out-rolldown'));
});

test('Vite bundles the same app with no Node module, no webgpu package and no MNIST digits', async () => {
  writeFileSync(join(app, 'index.html'), '<!doctype html><script type="module" src="./browser.js"></script>');
  const { build } = await import('vite');
  const warnings: string[] = [];
  await build({
    root: app,
    configFile: false,
    logLevel: 'warn',
    base: './',
    build: {
      outDir: 'out-vite',
      target: 'es2022',
      rollupOptions: {
        onwarn: (w) => {
          warnings.push(String(w.message));
        },
      },
    },
    customLogger: {
      info() {},
      warn: (m) => warnings.push(m),
      warnOnce: (m) => warnings.push(m),
      error: (m) => warnings.push(m),
      clearScreen() {},
      hasErrorLogged: () => false,
      hasWarned: false,
    },
  });
  expect(warnings.filter((w) => /externalized|node:|webgpu/.test(w))).toEqual([]);
  checkBundle(join(app, 'out-vite'));
});

test('Rollup with its node-resolve plugin (browser: true) bundles it likewise, with no other plugin and no warning', async () => {
  const { rollup } = await import('rollup');
  const { nodeResolve } = await import('@rollup/plugin-node-resolve');
  const warnings: string[] = [];
  const bundle = await rollup({
    input: join(app, 'browser.js'),
    plugins: [nodeResolve({ browser: true, rootDir: app })],
    onwarn: (w) => {
      warnings.push(w.message);
    },
  });
  // the `browser` condition of the exports map, not the Node build
  expect(bundle.watchFiles.filter((f) => f.includes('/node_modules/miya/'))).toContain(join(app, 'node_modules/miya/dist/miya.js'));
  expect(bundle.watchFiles.filter((f) => f.includes('/node_modules/miya/dist/node/'))).toEqual([]);
  await bundle.write({ dir: join(app, 'out-rollup'), format: 'es' });
  await bundle.close();
  expect(warnings).toEqual([]);
  checkBundle(join(app, 'out-rollup'));
});

test('webpack 5 bundles it with a plain config (entry, output; no resolve.fallback for Node modules), from the browser build alone', async () => {
  const { default: webpack } = await import('webpack');
  // what a user writes; webpack's own defaults for target 'web' resolve the exports map's `browser` condition
  const compiler = webpack({
    context: app,
    mode: 'production',
    entry: { main: './browser.js', 'worker-mnist': './worker-mnist.js', 'worker-mnist-lazy': './worker-mnist-lazy.js' },
    output: { path: join(app, 'out-webpack') },
  });
  const stats = await new Promise<import('webpack').Stats>((ok, fail) => compiler.run((e, s) => (e || !s ? fail(e ?? new Error('no stats')) : ok(s))));
  await new Promise((ok) => compiler.close(ok));
  const json = stats.toJson({ all: false, errors: true, warnings: true, modules: true });
  // a Node built-in (fs, path, …) would be an error here: webpack 5 polyfills none unless told to
  expect((json.errors ?? []).map((e) => e.message)).toEqual([]);
  // no warning either: `new URL(NAME, import.meta.url)` would be one ("Critical dependency: the
  // request of a dependency is an expression"), a module request webpack cannot resolve, which
  // throws "Cannot find module" at run time (src/browser/moduleBase.ts)
  expect((json.warnings ?? []).map((w) => `${w.moduleName}: ${w.message}`)).toEqual([]);
  // every module is the page or a file of Miya's browser build: no Node build, no polyfill package
  const names = (json.modules ?? []).map((m) => m.name).filter((n): n is string => n !== undefined);
  expect(names).toContain('./node_modules/miya/dist/miya.js');
  expect(
    names.filter((n) => !['./browser.js', './worker-mnist.js', './worker-mnist-lazy.js'].includes(n) && !/^\.\/node_modules\/miya\/dist\/[^/]+\.js$/.test(n)),
  ).toEqual([]);
  checkBundle(join(app, 'out-webpack'));
}, 60_000);

/** Opens a page loading `script` in headless Chromium and hands `check` what it left on window.result. */
async function openPage<R>(name: string, script: string, check: (result: R) => void): Promise<void> {
  writeFileSync(join(app, `${name}.html`), `<!doctype html><link rel="icon" href="data:,">${script}`);
  const { startHeadless } = await import('../src/browser/headless.js');
  const h = await startHeadless(app);
  try {
    const page = await h.open(`/${name}.html`);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result, { timeout: 100_000 });
    check(await page.evaluate(() => (window as unknown as { result: R }).result));
    expect(h.errors).toEqual([]);
  } finally {
    await h.close();
  }
}

/** Opens a page loading `script` in headless Chromium; checks what it trained on cpu (and on WebGPU when the page has it). */
async function runPage(name: string, script: string): Promise<void> {
  const missing = await webgpuMissing();
  await openPage<Record<string, number[] | string>>(name, script, (r) => {
    expect(Array.isArray(r.cpu), String(r.cpu)).toBe(true);
    expectedLosses().forEach((l, i) => expect((r.cpu as number[])[i]).toBeCloseTo(l, 12));
    // Chromium's WebGPU runs on SwiftShader here, as Dawn in Node does: both or neither
    if (missing === undefined) {
      expect(Array.isArray(r.webgpu), String(r.webgpu)).toBe(true);
      expectedLosses().forEach((l, i) => expect(Math.abs((r.webgpu as number[])[i] - l)).toBeLessThan(1e-5 * Math.max(1, l)));
    }
  });
}

test('the esbuild bundle runs in headless Chromium and trains on cpu, and on WebGPU where the page has it, as plain loops do', async () => {
  await runPage('page-esbuild', '<script type="module" src="./out-esbuild/browser.js"></script>');
}, 120_000);

test('the webpack bundle (a classic script loading its chunks) runs in headless Chromium likewise', async () => {
  await runPage('page-webpack', '<script src="./out-webpack/main.js"></script>');
}, 120_000);

test('in the webpack bundle, runInWorker with no `worker` option and MNIST find their files beside the bundle (copied there from the package), Miya imported or loaded later as a chunk', async () => {
  // what a user serves beside the bundle: the worker with the chunks it imports, and the digits
  const dist = join(app, 'node_modules/miya/dist');
  for (const f of readdirSync(dist)) if (/\.js$|^mnist-digits\.bin\.gz$/.test(f)) copyFileSync(join(dist, f), join(app, 'out-webpack', f));
  type Result = { worker: number[] | string; mnist: { losses: number[]; accuracy: number } | string };
  for (const entry of ['worker-mnist', 'worker-mnist-lazy'])
    await openPage<Result>(`page-webpack-${entry}`, `<script src="./out-webpack/${entry}.js"></script>`, (r) => {
      expect(Array.isArray(r.worker), `${entry}: ${JSON.stringify(r)}`).toBe(true);
      expectedLosses().forEach((l, i) => expect((r.worker as number[])[i]).toBeCloseTo(l, 12));
      expect(typeof r.mnist, `${entry}: ${String(r.mnist)}`).toBe('object');
      const m = r.mnist as { losses: number[]; accuracy: number };
      expect(m.losses).toHaveLength(mnistSpec.steps);
      // real digits: far above chance (10%) after 30 steps, the loss falling well below ln 10
      expect(m.accuracy, entry).toBeGreaterThan(0.5);
      expect(m.losses.at(-1)!).toBeLessThan(m.losses[0] / 2);
    });
}, 120_000);
