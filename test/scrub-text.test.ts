import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createScrubber, redact, scrubText } from '../src/redact.js';

/** The rule spelled out the slow way: left to right, the longest secret starting at each place. */
function reference(text: string, secrets: readonly string[]): string {
  const usable = secrets.filter((s) => s.length >= 4);
  let out = '';
  for (let i = 0; i < text.length;) {
    const longest = usable.filter((s) => text.startsWith(s, i)).sort((a, b) => b.length - a.length)[0];
    if (longest === undefined) {
      out += text[i];
      i++;
    } else {
      out += redact(longest);
      i += longest.length;
    }
  }
  return out;
}

/** A small deterministic generator, so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('scrubText', () => {
  it('replaces every occurrence, leaves short values and other text alone', () => {
    const secret = '1000.abcdef.123456';
    assert.equal(
      scrubText(`a ${secret} b ${secret}${secret} c`, [secret, 'abc', null, undefined, '']),
      `a ${redact(secret)} b ${redact(secret)}${redact(secret)} c`,
    );
    assert.equal(scrubText('nothing to hide', ['1000.x.y']), 'nothing to hide');
    assert.equal(scrubText('', ['1000.x.y']), '');
    assert.equal(scrubText('abc', ['abcd']), 'abc');
  });

  it('prefers the longest secret where several start at one place, and finds secrets at the very end', () => {
    assert.equal(scrubText('xx1000.a.b', ['1000.a', '1000.a.b']), `xx${redact('1000.a.b')}`);
    assert.equal(scrubText('1000.a.bzz', ['1000.a', '1000.a.b']), `${redact('1000.a.b')}zz`);
  });

  it('agrees with the slow reference on 2,000 random texts over a small alphabet (many overlaps and hash windows)', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const next = random(seed);
      const pick = (n: number): number => Math.floor(next() * n);
      const alphabet = 'ab.1\u00e9\u{1F511}';
      const chars = [...alphabet];
      const text = Array.from({ length: pick(80) }, () => chars[pick(chars.length)]).join('');
      // Small sets take the per-secret path, sets over 32 the indexed one: both must agree.
      const secrets = Array.from({ length: seed % 2 === 0 ? pick(6) : 33 + pick(20) }, () => {
        if (text.length > 4 && next() < 0.7) {
          const from = pick(text.length - 4);
          return text.slice(from, from + 4 + pick(Math.min(12, text.length - from - 4) + 1));
        }
        return Array.from({ length: 4 + pick(6) }, () => chars[pick(chars.length)]).join('');
      });
      assert.equal(
        scrubText(text, secrets),
        reference(text, secrets),
        `seed ${seed}: ${JSON.stringify({ text, secrets })}`,
      );
      // The scrubber compiled once for many texts: the same answers, on the text and its pieces.
      const scrub = createScrubber(secrets);
      for (const piece of [text, text.slice(0, pick(text.length + 1)), text.slice(pick(text.length + 1))])
        assert.equal(
          scrub(piece),
          reference(piece, secrets),
          `seed ${seed} (scrubber): ${JSON.stringify({ piece, secrets })}`,
        );
    }
  });
});
