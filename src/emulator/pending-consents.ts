import { createHash } from 'node:crypto';
import type { EmulatorClock } from './clock.js';

/** A consent page shown and not yet decided, as the admin API lists it. */
export interface PendingConsent {
  /** Stable for the same authorization request (a digest of its parameters). */
  readonly id: string;
  readonly clientId: string;
  readonly scopes: string;
  readonly redirectUri: string;
  readonly loginHint: string | undefined;
  /** The listener that showed the page. */
  readonly dc: string;
  /** When the page was shown, epoch ms on the emulator clock. */
  readonly shownAt: number;
  /** The authorization URL's query, to approve it as if the user clicked. */
  readonly query: string;
}

// Pages nobody decides would otherwise pile up forever in a long-running server.
const MAX_PENDING = 100;

/**
 * Consent pages the emulator showed that no one has answered yet, so a script (admin API) can
 * approve "the pending consent" for a user without knowing the authorization URL.
 */
export class PendingConsents {
  readonly #byId = new Map<string, PendingConsent>();

  constructor(private readonly clock: EmulatorClock) {}

  /** Remembers a shown page; the same request shown twice stays one entry (the newest). */
  shown(params: URLSearchParams | ReadonlyMap<string, string>, dc: string): void {
    const query = canonicalQuery(params);
    const id = idOf(query);
    this.#byId.delete(id);
    this.#byId.set(id, {
      id,
      clientId: params.get('client_id') ?? '',
      scopes: params.get('scope') ?? '',
      redirectUri: params.get('redirect_uri') ?? '',
      loginHint: params.get('login_hint') ?? undefined,
      dc,
      shownAt: this.clock.now(),
      query,
    });
    while (this.#byId.size > MAX_PENDING) this.#byId.delete(this.#byId.keys().next().value!);
  }

  /** Forgets the page of these parameters (decided by the form or the admin API). */
  decided(params: URLSearchParams | ReadonlyMap<string, string>): void {
    this.#byId.delete(idOf(canonicalQuery(params)));
  }

  get(id: string): PendingConsent | undefined {
    return this.#byId.get(id);
  }

  /** Oldest first. */
  list(): PendingConsent[] {
    return [...this.#byId.values()];
  }
}

const AUTH_PARAMS = [
  'client_id',
  'response_type',
  'redirect_uri',
  'scope',
  'access_type',
  'prompt',
  'state',
  'login_hint',
];

/** The authorization parameters only (the decision form adds its own fields), in a fixed order. */
function canonicalQuery(params: URLSearchParams | ReadonlyMap<string, string>): string {
  const out = new URLSearchParams();
  for (const name of AUTH_PARAMS) {
    const value = params.get(name);
    if (value !== undefined && value !== null) out.set(name, value);
  }
  return out.toString();
}

function idOf(query: string): string {
  return createHash('sha256').update(query).digest('hex').slice(0, 16);
}
