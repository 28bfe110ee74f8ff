// Where tuned choices are kept between runs (a file in Node, IndexedDB in the browser). It is part
// of the Backend contract (Backend.tuneProducts takes one), so it sits beside src/backend.ts and
// names no backend; webgpu/tuneCache.ts reads and writes the document it holds.

/** Where the document is kept: `where` names it in messages; `read` gives undefined when there is none yet. */
export interface TuneStore {
  where: string;
  read(): Promise<string | undefined>;
  write(text: string): Promise<void>;
}
