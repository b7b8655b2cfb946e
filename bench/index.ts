/**
 * `npm run bench`: prints Markdown tables of every benchmark.
 *   --only stores|lifecycle|file|fleet|cli    one section
 *   --sizes 1000,10000                    stored-token counts for the store section
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '1000,10000,100000' }, only: { type: 'string' } },
});
const sizes = values.sizes.split(',').map(Number);

const sections: Record<string, () => Promise<string>> = {
  stores: async () => (await import('./stores.js')).storesBench(sizes),
  lifecycle: async () => (await import('./lifecycle.js')).lifecycleBench(),
  file: async () => (await import('./file-store.js')).fileStoreBench(),
  fleet: async () => (await import('./fleet.js')).fleetBench(),
  cli: async () => (await import('./cli.js')).cliBench(),
};

console.log(
  `# zoho-token-store benchmark\n\nNode.js ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), ${new Date().toISOString()}\n`,
);
for (const [name, run] of Object.entries(sections)) {
  if (values.only && values.only !== name) continue;
  console.log(await run());
}
