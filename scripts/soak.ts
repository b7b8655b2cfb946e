// `npm run soak` (a simulated day, see docs/reliability.md) or `npm run soak -- --short`.
// Prints the invariant table per store; exits 1 when an invariant is broken, 2 on a harness error.
import { SoakUsageError, parseSoakArgs } from './soak/config.js';
import { formatReport, violations } from './soak/report.js';
import { runSoak } from './soak/run.js';

try {
  const config = parseSoakArgs(process.argv.slice(2));
  const result = await runSoak(config, (line) => console.error(`[soak] ${line}`));
  console.log(formatReport(result));
  const broken = violations(result);
  for (const [name, stores] of broken) console.log(`BROKEN: ${name} (${stores.join(', ')})`);
  process.exitCode = broken.size === 0 ? 0 : 1;
} catch (error) {
  // A mistyped option gets its one-line message; anything else its whole stack.
  const code = (error as { code?: unknown }).code;
  const usage = error instanceof SoakUsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
  console.error(usage ? `soak: ${(error as Error).message}` : error);
  process.exitCode = 2;
}
