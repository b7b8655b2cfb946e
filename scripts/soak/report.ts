import { FAULT_KINDS } from './config.js';
import type { StoreFigures } from './ledger.js';
import type { SoakResult } from './run.js';

/** One invariant: how to read it from a store's figures, and whether it holds. */
export interface Invariant {
  readonly name: string;
  readonly value: (figures: StoreFigures, ratio: number) => number | string;
  readonly holds: (figures: StoreFigures, withinBudget: boolean) => boolean;
  /** The issue #10 defect whose fix it depends on, if any. */
  readonly dependsOn?: string;
}

export const INVARIANTS: readonly Invariant[] = [
  {
    name: 'expired tokens handed out',
    value: (f) => f.expiredHandedOut,
    holds: (f) => f.expiredHandedOut === 0,
    dependsOn: 'defect 4 (clock skew)',
  },
  {
    name: 'tokens handed out that Zoho never minted for that user',
    value: (f) => f.foreignHandedOut,
    holds: (f) => f.foreignHandedOut === 0,
  },
  { name: 'users whose token row was lost', value: (f) => f.usersLost, holds: (f) => f.usersLost === 0 },
  { name: 'users with duplicated rows', value: (f) => f.usersDuplicated, holds: (f) => f.usersDuplicated === 0 },
  {
    name: 'refresh tokens changed without a re-login',
    value: (f) => f.refreshTokensChanged,
    holds: (f) => f.refreshTokensChanged === 0,
  },
  {
    name: 'refresh tokens erased that Zoho still honours',
    value: (f) => f.refreshTokensErasedButHonoured,
    holds: (f) => f.refreshTokensErasedButHonoured === 0,
  },
  { name: 'duplicate (early) refreshes', value: (f) => f.earlyRefreshes, holds: (f) => f.earlyRefreshes === 0 },
  {
    name: 'refresh requests / (expiries + faulted attempts)',
    value: (f, r) =>
      `${f.refreshRequests} / (${f.expiries} + ${f.faultedAttempts}) = ${r.toFixed(3)}${f.wastedMints > 0 ? `; ${f.wastedMints} lost to faults` : ''}`,
    holds: (_f, withinBudget) => withinBudget,
  },
  {
    name: 'user-steps over the back-off budget (refresh storms)',
    value: (f) => f.stormUserSteps,
    holds: (f) => f.stormUserSteps === 0,
    dependsOn: 'defect 6 (back-off)',
  },
  {
    name: 'throttles caused by the library itself',
    value: (f) => f.selfThrottles,
    holds: (f) => f.selfThrottles === 0,
  },
  { name: 'secrets in the captured logs', value: (f) => f.secretsInLogs, holds: (f) => f.secretsInLogs === 0 },
];

/** Invariants broken on some store: `name` → stores. */
export function violations(result: SoakResult): Map<string, string[]> {
  const broken = new Map<string, string[]>();
  for (const invariant of INVARIANTS) {
    const stores = result.stores.filter((s) => !invariant.holds(s.figures, s.refreshesWithinBudget)).map((s) => s.kind);
    if (stores.length > 0) broken.set(invariant.name, stores);
  }
  if (result.hungSteps > 0) broken.set('hung worker steps', [String(result.hungSteps)]);
  return broken;
}

const row = (cells: readonly (string | number)[]): string => `| ${cells.join(' | ')} |`;

/** The markdown report: invariants, then activity and injected faults, per store. */
export function formatReport(result: SoakResult): string {
  const { config, stores } = result;
  const head = [row(['', ...stores.map((s) => s.kind)]), row(['---', ...stores.map(() => '---:')])];
  const lines = [
    `Soak (${config.name}): seed ${config.seed}, ${config.workers} worker processes × ${config.users} users per store, ` +
      `${result.simulatedHours} simulated hours in ${result.steps} steps of ${config.stepMinutes} min, clock skew ±${config.maxSkewMinutes} min; ` +
      `wall time ${(result.wallMs / 1000).toFixed(1)} s; ${result.workerRestarts} worker restarts, ${result.hungSteps} hung steps; ${(result.logBytes / 1e6).toFixed(1)} MB of logs searched.`,
    '',
    '**Invariants** (✔ holds, ✘ broken)',
    '',
    ...head,
    ...INVARIANTS.map((inv) =>
      row([
        inv.name,
        ...stores.map(
          (s) => `${inv.value(s.figures, s.refreshRatio)} ${inv.holds(s.figures, s.refreshesWithinBudget) ? '✔' : '✘'}`,
        ),
      ]),
    ),
    '',
    '**Activity**',
    '',
    ...head,
    row(['application calls', ...stores.map((s) => Math.round(s.figures.calls))]),
    row(['tokens handed out', ...stores.map((s) => s.figures.handouts)]),
    row(['refresh requests at Zoho', ...stores.map((s) => s.figures.refreshRequests)]),
    row(['refreshes that minted a token', ...stores.map((s) => s.figures.refreshesIssued)]),
    row(['minted but never handed out (lost to a fault)', ...stores.map((s) => s.figures.wastedMints)]),
    row(['worst storm', ...stores.map((s) => s.figures.worstStorm)]),
    row(['failed calls after 3 attempts', ...stores.map((s) => formatCounts(s.figures.callErrors))]),
    '',
    '**Faults injected** (that hit a request)',
    '',
    ...head,
    ...FAULT_KINDS.map((kind) =>
      // A file store has no connection to cut.
      row([
        kind,
        ...stores.map((s) =>
          kind === 'db-cut' && (s.kind === 'sqlite' || s.kind === 'file') ? 'n/a' : s.figures.faults[kind],
        ),
      ]),
    ),
  ];
  return lines.join('\n');
}

function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? '0' : entries.map(([code, n]) => `${code} ${n}`).join(', ');
}
