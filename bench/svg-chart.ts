/**
 * Horizontal bar charts as standalone SVG: no script, no web font, no link, so the file renders the
 * same on GitHub, on the npm page and offline. Text widths are estimated (no font metrics here), on
 * the generous side, so labels never run into the bars.
 */
import { fmt } from './measure.js';

/** One bar: `value` in the panel's unit; a value that is not a finite number ≥ 0 is drawn as "n/a". */
export interface Bar {
  label: string;
  value: number;
}

/** One group of bars on its own linear scale from 0 to its largest value. */
export interface Panel {
  title: string;
  /** Printed after each value: `µs`, `ms`. */
  unit: string;
  bars: readonly Bar[];
  /** How a value is printed, as its Markdown table prints it. @default fmt (9.53, 94.3, 1526) */
  format?: (value: number) => string;
}

export interface BarChart {
  title: string;
  /** Where the figures come from (command, date, machine, load); wrapped to the chart's width. */
  caption: string;
  panels: readonly Panel[];
}

/** Arial and its metric twins (Helvetica on macOS, Liberation Sans on Linux): the same widths everywhere. */
const FONT = "Arial, Helvetica, 'Liberation Sans', sans-serif";
/** Colour-blind-safe (Okabe–Ito, without its yellow, faint on white); one colour per bar label, the same in every panel. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#000000', '#999999'];
const PAD = 16;
const BAR_AREA = 360;
const ROW = 22;
const BAR_HEIGHT = 14;
/** Average advance of a character in Arial, as a fraction of the font size, rounded up (digits are 0.556). */
const CHAR_EM = 0.55;

/** Escapes text for SVG character data and attribute values. */
function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c]};`);
}

const drawable = (value: number): boolean => Number.isFinite(value) && value >= 0;

/** The text after a bar: the value and unit, or `n/a`. */
const valueText = (panel: Panel, value: number): string =>
  drawable(value) ? `${(panel.format ?? fmt)(value)} ${panel.unit}` : 'n/a';

const textWidth = (text: string, size: number): number => Math.ceil(text.length * size * CHAR_EM);

/** Splits `text` into lines of at most about `width` px at font size `size`. */
function wrap(text: string, width: number, size: number): string[] {
  const max = Math.max(10, Math.floor(width / (size * CHAR_EM)));
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** The width of a bar for `value` on a scale whose longest bar is `max` (px, one decimal). */
function barWidth(value: number, max: number): number {
  if (!drawable(value) || !(max > 0)) return 0;
  return Math.round((value / max) * BAR_AREA * 10) / 10;
}

/** The chart as an SVG document. */
export function barChartSvg(chart: BarChart): string {
  const bars = chart.panels.flatMap((p) => p.bars);
  const labelWidth = Math.max(80, ...bars.map((b) => textWidth(b.label, 12)));
  const valueWidth = Math.max(
    60,
    ...chart.panels.flatMap((p) => p.bars.map((b) => textWidth(valueText(p, b.value), 12))),
  );
  const barX = PAD + labelWidth + 8;
  const width = Math.max(
    barX + BAR_AREA + 8 + valueWidth + PAD,
    ...chart.panels.map((p) => 2 * PAD + Math.ceil(textWidth(p.title, 13) * 1.1)), // bold: wider
  );
  const colours = new Map<string, string>();
  for (const bar of bars) if (!colours.has(bar.label)) colours.set(bar.label, PALETTE[colours.size % PALETTE.length]!);

  const body: string[] = [];
  let y = PAD + 16;
  for (const [n, line] of wrap(chart.title, width - 2 * PAD, 16).entries()) {
    if (n > 0) y += 20;
    body.push(text(PAD, y, line, 16, 'bold'));
  }
  for (const [n, line] of wrap(chart.caption, width - 2 * PAD, 11).entries()) {
    y += n === 0 ? 20 : 15;
    body.push(text(PAD, y, line, 11, 'normal', '#555'));
  }
  y += 12;
  for (const panel of chart.panels) {
    y += 24;
    body.push(text(PAD, y, panel.title, 13, 'bold'));
    y += 8;
    const max = Math.max(0, ...panel.bars.map((b) => (drawable(b.value) ? b.value : 0)));
    body.push(
      `<line x1="${barX}" y1="${y}" x2="${barX}" y2="${y + panel.bars.length * ROW}" stroke="#999" stroke-width="1"/>`,
    );
    for (const bar of panel.bars) {
      const w = barWidth(bar.value, max);
      const middle = y + ROW / 2;
      body.push(text(barX - 8, middle + 4, bar.label, 12, 'normal', '#222', 'end'));
      body.push(
        `<rect class="bar" x="${barX}" y="${middle - BAR_HEIGHT / 2}" width="${w}" height="${BAR_HEIGHT}" fill="${colours.get(bar.label)}"/>`,
      );
      body.push(text(barX + w + 6, middle + 4, valueText(panel, bar.value), 12, 'normal'));
      y += ROW;
    }
  }
  const height = y + PAD;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="chart-title">`,
    `<title id="chart-title">${escapeXml(chart.title)}</title>`,
    `<desc>${escapeXml(chart.caption)}</desc>`,
    // Opaque, so the dark text stays readable on dark pages.
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<g font-family="${escapeXml(FONT)}" fill="#111">`,
    ...body,
    '</g>',
    '</svg>',
    '',
  ].join('\n');
}

function text(
  x: number,
  y: number,
  content: string,
  size: number,
  weight: 'normal' | 'bold',
  fill = '#111',
  anchor: 'start' | 'end' = 'start',
): string {
  const attributes = [
    `x="${x}"`,
    `y="${y}"`,
    `font-size="${size}"`,
    ...(weight === 'bold' ? ['font-weight="bold"'] : []),
    ...(fill === '#111' ? [] : [`fill="${fill}"`]),
    ...(anchor === 'end' ? ['text-anchor="end"'] : []),
  ];
  return `<text ${attributes.join(' ')}>${escapeXml(content)}</text>`;
}
