// Line charts (uPlot) for the Train and Race modes. The legend shows the values under the cursor,
// and the latest ones while the cursor is off the chart (uPlot's own legend shows "--" then).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series { label: string; color: string; scale?: string }

/** A legend value: an integer as it is (the x axis: steps, rounds), else 4 significant digits. */
const legendText = (v: number | null | undefined): string => (v == null ? '--' : Number.isInteger(v) ? String(v) : v.toPrecision(4));

export class LineChart {
  private plot: uPlot;
  private data: number[][];

  constructor(root: HTMLElement, title: string, xLabel: string, series: Series[], axes: { scale: string; label: string; side?: number }[]) {
    this.data = [[], ...series.map(() => [])];
    // idx is null when the cursor is off the chart: then the series' latest value
    const value = (_u: uPlot, v: number | null, si: number, idx: number | null) => legendText(idx === null ? this.latest(si) : v);
    this.plot = new uPlot({
      title, width: 640, height: 280,
      scales: { x: { time: false } },
      series: [{ label: xLabel, value }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, scale: s.scale ?? axes[0].scale, spanGaps: true, value }))],
      axes: [{ label: xLabel }, ...axes.map((a) => ({ scale: a.scale, label: a.label, side: a.side ?? 3 }))],
    }, this.data as uPlot.AlignedData, root);
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
    this.update();
  }

  private update(): void {
    this.plot.setData(this.data as uPlot.AlignedData);
    // a cursor off the chart leaves the legend as it was: set it to the latest values
    if (this.plot.cursor.idx == null) this.plot.setLegend({ idx: null as unknown as number });
  }
}
