/**
 * A lone UTF-16 surrogate (half of a pair, e.g. from cutting a string between the halves of an
 * emoji) has no UTF-8 form: databases, files and Redis store it as U+FFFD, so a value that holds
 * one is never found again by its original text. With the `u` flag `\p{Surrogate}` matches only
 * unpaired halves; a proper pair is one code point and does not match. (`String#isWellFormed` is
 * the same test but is not in the ES2023 lib this package compiles against.)
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** True when `value` can be encoded as UTF-8 unchanged (no lone surrogates). */
export function isWellFormed(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}
