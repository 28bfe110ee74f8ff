// Entry of the stand-alone benchmark bundle (vite.gpu.config.ts) that runs on a machine with a
// GPU but no node_modules: `node bench.mjs [miya bench options]`.
import { benchCommand } from './cli.js';

try {
  process.exitCode = await benchCommand(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`miya bench: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
}
