// Where a built module's sibling files (miya-worker.js, mnist-digits.bin.gz) are, as a URL to
// resolve their names against: the module's own import.meta.url, which ES-module bundlers
// (esbuild, Vite, Rollup) keep. webpack, emitting classic scripts, replaces import.meta.url with
// the file:// URL the module had on the build machine; a page served over http(s) cannot load
// that, so there the files are looked for beside the script that loaded this module instead
// (ARCHITECTURE.md, "Builds"). Callers write `new URL(NAME, moduleBase(import.meta.url))`:
// with anything but import.meta.url itself as the base, no bundler takes the call for a module
// request it must resolve (webpack would, and would fail at run time).

// A classic script's own URL is known only while it is being evaluated, so it is read once here,
// as the bundle that holds this module runs (null for a module script, inline script or worker).
// A webpack chunk loaded later runs its modules in the microtasks of its own script tag, which is
// then still document.currentScript (tests/package.test.ts loads Miya both ways).
const loadingScript = typeof document === 'undefined' ? undefined : (document.currentScript as HTMLScriptElement | null)?.src || undefined;

/** The base URL for files beside the module whose import.meta.url is `own`. */
export function moduleBase(own: string): string {
  const here = (globalThis as { location?: { href: string } }).location?.href;
  // outside a page (Node), or a page opened from file://, where the build machine's path is right
  if (!own.startsWith('file:') || !here || here.startsWith('file:')) return own;
  // a worker's location is its script's URL
  return loadingScript ?? here;
}
