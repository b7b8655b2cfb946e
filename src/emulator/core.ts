import type { EmulatorClock } from './clock.js';
import { CrmStore } from './crm-store.js';
import type { FaultRegistry } from './faults.js';
import { invalid } from './invalid-argument.js';
import type { EmulatorObserver } from './observer.js';
import type { ResolvedOptions } from './options.js';
import type { PendingConsents } from './pending-consents.js';
import type { OAuthState } from './state.js';
import type { StatsRecorder } from './stats.js';

/** Everything one emulator instance shares between its listeners (one per data center). */
export interface EmulatorCore {
  readonly options: ResolvedOptions;
  readonly clock: EmulatorClock;
  readonly state: OAuthState;
  readonly stats: StatsRecorder;
  readonly faults: FaultRegistry;
  readonly observer: EmulatorObserver | undefined;
  /** The CRM org of a data center. */
  crm(dc: string): CrmStore;
  /** Base URL (`http://127.0.0.1:PORT`) of a data center's listener. */
  urlOf(dc: string): string;
  /** Approve `GET /oauth/v2/auth` at once as this user (undefined: show the page). */
  autoApprove: { readonly user: string } | undefined;
  /** Consent pages shown and not decided yet (for the admin API). */
  readonly pending: PendingConsents;
  /** Aborted by `close()`: cancels injected latency waits. */
  readonly closing: AbortSignal;
}

export function crmStores(options: ResolvedOptions, clock: EmulatorClock): (dc: string) => CrmStore {
  const stores = new Map(options.dataCenters.map((dc) => [dc, new CrmStore(dc, options.companyName, clock)]));
  return (dc) => {
    const store = stores.get(dc);
    if (store === undefined) throw invalid('dc', `no data center "${dc}"`);
    return store;
  };
}
