/**
 * The browser session: one signed cookie (HMAC-SHA256, HttpOnly, SameSite=Lax, Secure behind
 * https). It names the Zoho user and carries the CSRF token and the pending login's `state`; it
 * never holds a Zoho token. Signed, not stored server-side, so sessions outlive a portal restart
 * (given the same secret).
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { generateSignedCookie, getSignedCookie } from 'hono/cookie';

/** What the cookie holds. */
export interface Session {
  /** The CSRF token every POST form carries back. */
  csrf: string;
  /** The Zoho user (e-mail) this browser logged in as. */
  user?: string;
  /** A login in progress: the `state` sent to Zoho and until when it may come back (epoch ms). */
  login?: { state: string; expiresAt: number };
  /**
   * Signed in to the admin page: when (epoch ms) and a digest of the admin password then in force,
   * so a copied cookie expires, and changing the password signs every admin out.
   */
  admin?: { at: number; key: string };
}

/** Cookie settings shared by reads and writes. */
export interface SessionConfig {
  readonly secret: string;
  /** Secure cookie (and the `__Host-` prefix): the portal is served over https. */
  readonly secure: boolean;
}

const MAX_AGE_SEC = 30 * 24 * 3600;

/** An unguessable URL-safe value (CSRF tokens, login states). */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

// Behind https the cookie is `__Host-portal`: the browser then refuses it without Secure, Path=/ or with a Domain.
const COOKIE = 'portal';

/** The session of this request; a new anonymous one when the cookie is absent or its signature is wrong. */
export async function readSession(c: Context, config: SessionConfig): Promise<Session> {
  const raw = await getSignedCookie(c, config.secret, COOKIE, config.secure ? 'host' : undefined);
  if (typeof raw === 'string') {
    try {
      const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<Session>;
      if (typeof parsed.csrf === 'string' && parsed.csrf.length > 0) return parsed as Session;
    } catch {
      // a signed but unreadable cookie (an older format): start over
    }
  }
  return { csrf: randomToken() };
}

/** Writes the session back: the whole cookie re-signed, replacing any written earlier in this answer. */
export async function writeSession(c: Context, config: SessionConfig, session: Session): Promise<void> {
  const value = Buffer.from(JSON.stringify(session), 'utf8').toString('base64url');
  const cookie = await generateSignedCookie(COOKIE, value, config.secret, {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax',
    secure: config.secure,
    maxAge: MAX_AGE_SEC,
    ...(config.secure ? { prefix: 'host' as const } : {}),
  });
  c.header('set-cookie', cookie);
}
