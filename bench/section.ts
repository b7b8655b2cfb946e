import type { BarChart } from './svg-chart.js';

/** What one benchmark section hands back: its Markdown, and the chart of its figures if it draws one. */
export interface SectionResult {
  markdown: string;
  /** Drawn by `npm run bench` into docs/benchmarks/<section>.svg; the caption (run, machine) is added there. */
  chart?: Omit<BarChart, 'caption'>;
}
