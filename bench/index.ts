/**
 * `npm run bench`: prints Markdown tables. `npm run bench -- --sizes 1000,10000` for a quicker run.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { storesBench } from './stores.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1000,10000,100000' }, only: { type: 'string' } } });
const sizes = values.sizes.split(',').map(Number);
const only = values.only;

console.log(`# zoho-token-store benchmark\n\nNode.js ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), ${new Date().toISOString()}\n`);
if (!only || only === 'stores') console.log(await storesBench(sizes));
if (!only || only === 'lifecycle') {
  const { lifecycleBench } = (await import('./lifecycle.js')) as { lifecycleBench: () => Promise<string> };
  console.log(await lifecycleBench());
}
