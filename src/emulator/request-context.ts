import type { EmulatorCore } from './core.js';
import type { EmulatorReply, EmulatorRequest } from './exchange.js';

/** Request kinds with their own counters in the stats. */
export type RequestCategory = 'auth' | 'grant' | 'refresh' | 'token' | 'revoke' | 'api';

/**
 * What a route gets: the request, its parsed pieces and the fault gate. Its own file so the routes
 * and the handler that calls them do not import each other.
 */
export interface RequestContext {
  readonly core: EmulatorCore;
  /** The data center whose listener (or origin, for `emu.fetch`) got the request. */
  readonly dc: string;
  readonly request: EmulatorRequest;
  readonly url: URL;
  /** Raw body (empty for GET). */
  readonly body: Buffer;
  /** Query + body + Basic credentials, for OAuth routes. */
  params(): Promise<Map<string, string>>;
  /**
   * Applies the injected faults for this request (call once, after classifying it). Returns the
   * answer (or drop) when a fault decides the request, and the route must return it as is.
   */
  faulted(category: RequestCategory): Promise<EmulatorReply | undefined>;
}

/** A route: answers one request. */
export type Route = (ctx: RequestContext) => Promise<EmulatorReply>;
