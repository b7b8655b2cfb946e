import { ErrorCode, ZohoTokenError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { OAuthToken } from '../token/oauth-token.js';
import type {
  HookName,
  TokenDeadEvent,
  TokenRefreshedEvent,
  TokenRevokedEvent,
  TokenSavedEvent,
  ZohoAuthHooks,
} from './events.js';

/** The event of a refresh that failed without killing the token (network, throttle, server error…). */
export interface RefreshFailedEvent {
  /** The token whose refresh failed, as stored. */
  readonly token: OAuthToken;
  /** What Zoho or the network answered. */
  readonly error: unknown;
  /** How long the token now cools down before the next attempt, in ms (0: none). */
  readonly cooldownMs: number;
  /** True when the current access token was still valid and was served instead. */
  readonly servedCurrent: boolean;
}

/** The events of `ZohoAuth.on/once/off`, by name. */
export interface ZohoAuthEventMap {
  /** After every save: a code exchange, a refresh, or an imported refresh token. */
  saved: TokenSavedEvent;
  /** After a refresh was saved (in addition to `saved`). */
  refreshed: TokenRefreshedEvent;
  /** After `revoke` / `logout` / `logoutAll` removed a token. */
  revoked: TokenRevokedEvent;
  /** When Zoho rejected a refresh token: the user must log in again. */
  dead: TokenDeadEvent;
  /** When a refresh failed and the token cools down (not for a dead refresh token: that is `dead`). */
  failed: RefreshFailedEvent;
}

/** A name of {@link ZohoAuthEventMap}. */
export type ZohoAuthEventName = keyof ZohoAuthEventMap;

/** A listener of event `N`. What it returns is not awaited; a rejection is logged. */
export type ZohoAuthListener<N extends ZohoAuthEventName> = (event: ZohoAuthEventMap[N]) => unknown;

const HOOK_OF: { readonly [N in ZohoAuthEventName]: HookName | null } = {
  saved: 'onTokenSaved',
  refreshed: 'onTokenRefreshed',
  revoked: 'onTokenRevoked',
  dead: 'onTokenDead',
  failed: null,
};

const NAMES = new Set<string>(Object.keys(HOOK_OF));

type AnyListener = (event: unknown) => unknown;

/**
 * The lifecycle events of one ZohoAuth: the hook given at construction runs first and is awaited
 * (as it always was); then every listener added with `on`/`once`, in the order added, without
 * waiting for them. A listener that throws or rejects is logged at `error`, never thrown: the
 * token operation that caused the event has already succeeded or failed on its own.
 */
export class AuthEvents {
  readonly #hooks: ZohoAuthHooks;
  readonly #log: Logger;
  readonly #listeners = new Map<ZohoAuthEventName, AnyListener[]>();
  /** `once` wrappers to the listeners they wrap, so `off(listener)` finds them. */
  readonly #onceOriginal = new WeakMap<AnyListener, AnyListener>();

  constructor(hooks: ZohoAuthHooks, log: Logger) {
    this.#hooks = hooks;
    this.#log = log;
  }

  on<N extends ZohoAuthEventName>(name: N, listener: ZohoAuthListener<N>): void {
    this.#list(name, listener).push(listener as AnyListener);
  }

  once<N extends ZohoAuthEventName>(name: N, listener: ZohoAuthListener<N>): void {
    const list = this.#list(name, listener);
    const wrapper: AnyListener = (event) => {
      this.#remove(name, wrapper);
      return (listener as AnyListener)(event);
    };
    this.#onceOriginal.set(wrapper, listener as AnyListener);
    list.push(wrapper);
  }

  /** Removes the listener's first registration (`on` or `once`) for `name`; nothing if none. */
  off<N extends ZohoAuthEventName>(name: N, listener: ZohoAuthListener<N>): void {
    const list = this.#list(name, listener);
    const index = list.findIndex((l) => l === listener || this.#onceOriginal.get(l) === listener);
    if (index !== -1) list.splice(index, 1);
  }

  /** Runs the hook (awaited) and the listeners (not awaited) of one event. */
  async emit<N extends ZohoAuthEventName>(name: N, event: ZohoAuthEventMap[N]): Promise<void> {
    const hookName = HOOK_OF[name];
    const hook = hookName === null ? undefined : (this.#hooks[hookName] as AnyListener | undefined);
    if (hook !== undefined) {
      try {
        await hook(event);
      } catch (error) {
        this.#failed({ hook: hookName }, `hook ${hookName}`, event, error);
      }
    }
    for (const listener of [...(this.#listeners.get(name) ?? [])]) {
      try {
        const result = listener(event);
        if (isThenable(result))
          result.then(undefined, (error: unknown) =>
            this.#failed({ listener: name }, `${name} listener`, event, error),
          );
      } catch (error) {
        this.#failed({ listener: name }, `${name} listener`, event, error);
      }
    }
  }

  #failed(fields: object, what: string, event: unknown, error: unknown): void {
    const tokenId = (event as { token?: OAuthToken }).token?.id ?? null;
    this.#log.error({ ...fields, tokenId, err: error }, `ZohoAuth ${what} failed; ignored`);
  }

  #list(name: ZohoAuthEventName, listener: unknown): AnyListener[] {
    if (!NAMES.has(name))
      throw invalidEvent(`unknown event ${JSON.stringify(String(name))} (known: ${[...NAMES].join(', ')})`);
    if (typeof listener !== 'function') throw invalidEvent('the listener must be a function');
    let list = this.#listeners.get(name);
    if (list === undefined) this.#listeners.set(name, (list = []));
    return list;
  }

  #remove(name: ZohoAuthEventName, listener: AnyListener): void {
    const list = this.#listeners.get(name);
    const index = list?.indexOf(listener) ?? -1;
    if (list !== undefined && index !== -1) list.splice(index, 1);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

function invalidEvent(message: string): ZohoTokenError {
  return new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `ZohoAuth events: ${message}`, { field: 'event' });
}
