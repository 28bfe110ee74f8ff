// Line charts (uPlot) for the Train and Race modes.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series { label: string; color: string; scale?: string }

export class LineChart {
  private plot: uPlot;
  private data: number[][];

  constructor(root: HTMLElement, title: string, xLabel: string, series: Series[], axes: { scale: string; label: string; side?: number }[]) {
    this.data = [[], ...series.map(() => [])];
    this.plot = new uPlot({
      title, width: 640, height: 280,
      scales: { x: { time: false } },
      series: [{ label: xLabel }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, scale: s.scale ?? axes[0].scale, spanGaps: true }))],
      axes: [{ label: xLabel }, ...axes.map((a) => ({ scale: a.scale, label: a.label, side: a.side ?? 3 }))],
    }, this.data as uPlot.AlignedData, root);
  }

  /** Adds one point per series (undefined leaves a gap). */
  add(x: number, ys: (number | undefined)[]): void {
    this.data[0].push(x);
    ys.forEach((y, i) => this.data[i + 1].push(y ?? (null as unknown as number)));
    this.plot.setData(this.data as uPlot.AlignedData);
  }

  clear(): void {
    for (const d of this.data) d.length = 0;
    this.plot.setData(this.data as uPlot.AlignedData);
  }
}
