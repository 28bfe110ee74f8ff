// Number formatting for stories and tables.

/** Up to 6 significant digits, no trailing zeros, − for minus. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  const s = a >= 1e-4 && a < 1e7 ? String(Number(v.toPrecision(6))) : v.toExponential(4);
  return s.replace('-', '−');
}

export function fmtList(v: ArrayLike<number>, max = 8): string {
  const items = Array.from(v).slice(0, max).map(fmt);
  return `[${items.join(', ')}${v.length > max ? `, … (${v.length} values)` : ''}]`;
}

/** A matrix row by row (first rows only when large). */
export function fmtMatrix(v: ArrayLike<number>, cols: number, maxRows = 4): string {
  const rows = Math.ceil(v.length / cols);
  if (rows <= 1) return fmtList(v);
  const out: string[] = [];
  for (let r = 0; r < Math.min(rows, maxRows); r++) out.push(fmtList(Array.from(v).slice(r * cols, (r + 1) * cols)));
  if (rows > maxRows) out.push(`… (${rows} rows)`);
  return `[${out.join(', ')}]`;
}
