// Browser: the MNIST digits file fetched on demand from beside the built library's chunks
// (dist/mnist-digits.bin.gz; the playground carries its own copy in dist/web/assets/). The file's
// name is a constant, not a literal inside `new URL(…)`, so that a bundler does not copy 1.6 MB
// into every app that imports Miya, and the base is moduleBase's, not import.meta.url itself, so
// that webpack does not take the call for a module request; an app that bundles Miya and trains
// on MNIST serves the file beside its bundle (README, "MNIST in your own app").
import { moduleBase } from '../browser/moduleBase.js';
import { RunError } from '../errors.js';
import type * as Node from './mnistFile.js';

export const MNIST_FILE: typeof Node.MNIST_FILE = 'mnist-digits.bin.gz';

export const mnistFileBytes: typeof Node.mnistFileBytes = async () => {
  const url = new URL(MNIST_FILE, moduleBase(import.meta.url));
  let r: Response;
  try {
    r = await fetch(url);
  } catch (e) {
    throw new RunError(`MNIST: ${url.href} could not be fetched (${(e as Error).message})`);
  }
  if (!r.ok) throw new RunError(`MNIST: ${url.href} answered ${r.status}; serve ${MNIST_FILE} from Miya's dist/ beside the bundled script`);
  return new Uint8Array(await r.arrayBuffer());
};
