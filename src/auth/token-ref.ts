import { ErrorCode, ZohoTokenError } from '../errors.js';
import { OAuthToken } from '../token/oauth-token.js';

/**
 * Whose token a call wants. There is no "current user": every call names one, so one process
 * serves many users. `{ user }` is the Zoho user's email; `{ id }` the store's token id; an
 * OAuthToken is matched by the store's rules (id, then user, then grant/refresh token).
 */
export type TokenRef =
  | {
      /** The Zoho user's email. */
      readonly user: string;
      /** Not with `user`. */
      readonly id?: undefined;
    }
  | {
      /** The store's token id. */
      readonly id: string;
      /** Not with `id`. */
      readonly user?: undefined;
    }
  | OAuthToken;

export type ParsedRef =
  | { readonly kind: 'user'; readonly user: string }
  | { readonly kind: 'id'; readonly id: string }
  | { readonly kind: 'token'; readonly token: OAuthToken };

export function parseTokenRef(who: unknown, field = 'who'): ParsedRef {
  if (who instanceof OAuthToken) return { kind: 'token', token: who };
  if (typeof who === 'object' && who !== null) {
    const { user, id } = who as { user?: unknown; id?: unknown };
    if (typeof user === 'string' && user.length > 0 && id === undefined) return { kind: 'user', user };
    if (typeof id === 'string' && id.length > 0 && user === undefined) return { kind: 'id', id };
  }
  throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `${field} must be { user }, { id } or an OAuthToken`, { field });
}

/** A short, secret-free description for logs and messages. */
export function describeRef(ref: ParsedRef): string {
  if (ref.kind === 'user') return `user ${JSON.stringify(ref.user)}`;
  if (ref.kind === 'id') return `token id ${JSON.stringify(ref.id)}`;
  const { id, userName } = ref.token;
  return id ? `token id ${JSON.stringify(id)}` : userName ? `user ${JSON.stringify(userName)}` : 'the given token';
}
