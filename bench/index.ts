/**
 * `npm run bench`: prints Markdown tables of every benchmark, and draws the charts of the sections
 * that have one (stores, fleet) from this run's figures into docs/benchmarks/<section>.svg.
 *   --only stores|lifecycle|file|fleet|cli|migrate|scale    one section
 *   --scale-stores sqlite,postgres        the scale section on these stores only (words of their names)
 *   --scale-sizes 10000,100000,1000000    token counts of the scale section (the default)
 *   --sizes 1000,10000                    stored-token counts for the store section
 *   --charts DIR                          where the charts go (default docs/benchmarks; `none`: nowhere)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SectionResult } from './section.js';
import { barChartSvg } from './svg-chart.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000,100000' },
    only: { type: 'string' },
    'scale-stores': { type: 'string' },
    'scale-sizes': { type: 'string', default: '10000,100000,1000000' },
    charts: { type: 'string', default: fileURLToPath(new URL('../docs/benchmarks/', import.meta.url)) },
  },
});
const sizes = values.sizes.split(',').map(Number);

const sections: Record<string, () => Promise<SectionResult>> = {
  stores: async () => (await import('./stores.js')).storesBench(sizes),
  lifecycle: async () => ({ markdown: await (await import('./lifecycle.js')).lifecycleBench() }),
  file: async () => ({ markdown: await (await import('./file-store.js')).fileStoreBench() }),
  fleet: async () => (await import('./fleet.js')).fleetBench(),
  cli: async () => ({ markdown: await (await import('./cli.js')).cliBench() }),
  migrate: async () => ({ markdown: await (await import('./migrate.js')).migrateBench() }),
  // A million tokens per store: long (see docs/benchmarks.md), so only with --only scale.
  scale: async () =>
    (await import('./scale.js')).scaleBench(
      values['scale-stores']?.split(','),
      values['scale-sizes'].split(',').map(Number),
    ),
};

const started = new Date().toISOString();
const machine = `Node.js ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores)`;
const load1 = (): string => loadavg()[0]!.toFixed(2);
const load = `load average ${load1()} at the start`;
const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
console.log(`# zoho-token-store benchmark\n\n${machine}, ${started}, ${load}\n`);
for (const [name, run] of Object.entries(sections)) {
  if (values.only ? values.only !== name : name === 'scale') continue;
  const { markdown, chart } = await run();
  console.log(markdown);
  if (chart === undefined || values.charts === 'none') continue;
  mkdirSync(values.charts, { recursive: true });
  const file = join(values.charts, `${name}.svg`);
  // Figures move with the machine's load (2 shared cores): the caption says how busy it was.
  const caption = `${command}, ${started}; ${machine}; ${load}, ${load1()} after this section.`;
  writeFileSync(file, barChartSvg({ ...chart, caption }));
  console.error(`chart: ${relative(process.cwd(), file)}`);
}
