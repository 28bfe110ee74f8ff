// Line charts (uPlot) for the Train and Race modes. The legend shows the values under the cursor,
// and the latest ones while the cursor is off the chart (uPlot's own legend shows "--" then).
// Marks (the Train tab's early stopping) are vertical lines at an x value with a label, drawn as
// elements over the plot (so that they can be read and tested as well as seen).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  color: string;
  scale?: string;
}
/** A vertical line at `x` with its label; `dashed` for a secondary one. */
export interface Mark {
  x: number;
  label: string;
  color: string;
  dashed?: boolean;
  kind: string;
}

/** A legend value: an integer as it is (the x axis: steps, rounds), else 4 significant digits. */
const legendText = (v: number | null | undefined): string => (v == null ? '--' : Number.isInteger(v) ? String(v) : v.toPrecision(4));

export class LineChart {
  private plot: uPlot;
  private data: number[][];
  private marks: Mark[] = [];

  constructor(root: HTMLElement, title: string, xLabel: string, series: Series[], axes: { scale: string; label: string; side?: number }[], height = 280) {
    this.data = [[], ...series.map(() => [])];
    // idx is null when the cursor is off the chart: then the series' latest value
    const value = (_u: uPlot, v: number | null, si: number, idx: number | null) => legendText(idx === null ? this.latest(si) : v);
    this.plot = new uPlot(
      {
        title,
        width: 640,
        height,
        scales: { x: { time: false } },
        series: [
          { label: xLabel, value },
          ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, scale: s.scale ?? axes[0].scale, spanGaps: true, value })),
        ],
        axes: [{ label: xLabel }, ...axes.map((a) => ({ scale: a.scale, label: a.label, side: a.side ?? 3 }))],
        hooks: { draw: [() => this.placeMarks()] },
      },
      this.data as uPlot.AlignedData,
      root,
    );
  }

  /** The marks as elements over the plot, each at its x value's position (redone on every draw, as the x scale moves). */
  private placeMarks(): void {
    if (!this.plot) return; // the first draw, within uPlot's constructor
    const over = this.plot.over;
    for (const old of over.querySelectorAll('.mark')) old.remove();
    for (const m of this.marks) {
      const left = this.plot.valToPos(m.x, 'x');
      const line = document.createElement('div');
      line.className = `mark ${m.kind}`;
      line.dataset.x = String(m.x);
      line.title = m.label;
      line.style.cssText = `position: absolute; top: 0; bottom: 0; left: ${left}px; border-left: 2px ${m.dashed ? 'dashed' : 'solid'} ${m.color}; pointer-events: none;`;
      const label = document.createElement('span');
      label.textContent = m.label;
      label.style.cssText = `position: absolute; top: ${m.dashed ? 18 : 2}px; left: 4px; white-space: nowrap; font-size: 11px; color: ${m.color}; background: rgba(255, 255, 255, 0.8);`;
      line.append(label);
      over.append(line);
    }
  }

  /** Adds a vertical mark (it stays until clear()). */
  mark(m: Mark): void {
    this.marks.push(m);
    this.placeMarks();
  }

  /** The points drawn, per series (x first), and the marks: what the chart shows, for the page's tests. */
  shown(): { data: (number | null)[][]; marks: Mark[] } {
    return { data: this.data.map((d) => d.slice()), marks: this.marks.map((m) => ({ ...m })) };
  }

  /** Replaces every point: `ys[i]` is series i's values at `xs` (the Train tab's rate of every step, at the end). */
  set(xs: number[], ys: (number | undefined)[][]): void {
    this.data[0] = xs.slice();
    ys.forEach((y, i) => {
      this.data[i + 1] = xs.map((_x, k) => y[k] ?? (null as unknown as number));
    });
    this.update();
  }

  /** The last value of series `si` that is not a gap. */
  private latest(si: number): number | undefined {
    const d = this.data[si];
    for (let i = d.length - 1; i >= 0; i--) if (d[i] != null) return d[i];
    return undefined;
  }

  /** Adds one point per series (undefined leaves a gap). */
  add(x: number, ys: (number | undefined)[]): void {
    this.data[0].push(x);
    ys.forEach((y, i) => this.data[i + 1].push(y ?? (null as unknown as number)));
    this.update();
  }

  clear(): void {
    for (const d of this.data) d.length = 0;
    this.marks = [];
    this.update();
  }

  private update(): void {
    this.plot.setData(this.data as uPlot.AlignedData);
    // a cursor off the chart leaves the legend as it was: set it to the latest values
    if (this.plot.cursor.idx == null) this.plot.setLegend({ idx: null as unknown as number });
  }
}
