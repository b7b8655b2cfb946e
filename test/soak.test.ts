// Issue 10, "a simulated day that keeps it true": the soak's short variant (npm run soak -- --short)
// on every shared store, asserting each invariant separately, and that every fault kind was hit.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { FAULT_KINDS, SHORT, type StoreKind } from '../scripts/soak/config.js';
import { INVARIANTS, formatReport } from '../scripts/soak/report.js';
import { runSoak, type SoakResult } from '../scripts/soak/run.js';
import { MARIADB, POSTGRES, REDIS, skipUnlessReachable } from './helpers/services.js';

// Locally an unreachable server drops its store from the run; under CI=true it fails instead.
const servers: [StoreKind, string | false][] = [
  ['postgres', await skipUnlessReachable(POSTGRES)],
  ['mysql', await skipUnlessReachable(MARIADB)],
  ['redis', await skipUnlessReachable(REDIS)],
];
const stores = SHORT.stores.filter((kind) => !servers.some(([k, skip]) => k === kind && skip !== false));

describe('soak, short variant', { timeout: 240_000 }, () => {
  let result: SoakResult;

  before(async () => {
    result = await runSoak({ ...SHORT, stores });
    console.log(formatReport(result));
  });

  test('every fault kind hit every store (a connection cut: the server stores)', () => {
    const missed = result.stores.flatMap((s) =>
      FAULT_KINDS.filter(
        (kind) => s.figures.faults[kind] === 0 && !(kind === 'db-cut' && (s.kind === 'sqlite' || s.kind === 'file')),
      ).map((kind) => `${s.kind}: ${kind}`),
    );
    assert.deepEqual(missed, []);
    assert.deepEqual(
      result.stores.map((s) => s.kind),
      stores,
    );
  });

  test('every worker step finished (none hung), and the application got tokens', () => {
    assert.equal(result.hungSteps, 0);
    for (const s of result.stores)
      assert.ok(
        s.figures.handouts > s.figures.calls / 2,
        `${s.kind}: ${s.figures.handouts} tokens for ${s.figures.calls} calls`,
      );
  });

  for (const invariant of INVARIANTS) {
    const needs = invariant.dependsOn === undefined ? '' : ` (needs the fix of ${invariant.dependsOn})`;
    test(`${invariant.name}: holds on every store${needs}`, () => {
      const broken = Object.fromEntries(
        result.stores
          .filter((s) => !invariant.holds(s.figures, s.refreshesWithinBudget))
          .map((s) => [s.kind, invariant.value(s.figures, s.refreshRatio)]),
      );
      assert.deepEqual(broken, {});
    });
  }
});
