// Builds what the tests run as a user would (dist/node for the CLI, dist/miya.js and dist/web for
// the browser tests) once, before any test file starts, so that no two files build at once.
import { build } from 'vite';

export default async function setup(): Promise<void> {
  for (const configFile of ['vite.node.config.ts', 'vite.config.ts', 'vite.web.config.ts']) {
    await build({ configFile, logLevel: 'error' });
  }
}
