// `npm run soak` (a simulated day, see docs/reliability.md) or `npm run soak -- --short`.
// Prints the invariant table per store; exits 1 when an invariant is broken, 2 on a harness error.
import { parseArgs } from './soak/config.js';
import { formatReport, violations } from './soak/report.js';
import { runSoak } from './soak/run.js';

try {
  const config = parseArgs(process.argv.slice(2));
  const result = await runSoak(config, (line) => console.error(`[soak] ${line}`));
  console.log(formatReport(result));
  const broken = violations(result);
  for (const [name, stores] of broken) console.log(`BROKEN: ${name} (${stores.join(', ')})`);
  process.exitCode = broken.size === 0 ? 0 : 1;
} catch (error) {
  console.error(error);
  process.exitCode = 2;
}
