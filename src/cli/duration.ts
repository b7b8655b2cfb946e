import { InvalidArgumentError } from 'commander';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90s`, `15m`, `12h`, `30d`, `2w`, or combined `1h30m`; a bare number is seconds. */
export function parseDuration(text: string): number {
  const value = text.trim().toLowerCase();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const parts = [...value.matchAll(/(\d+)(ms|s|m|h|d|w)/g)];
  if (value.length === 0 || parts.map((p) => p[0]).join('') !== value) {
    throw new InvalidArgumentError('Expected a duration such as 90s, 15m, 12h, 30d, 2w or 1h30m.');
  }
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNIT_MS[unit!]!, 0);
}

/** `2d 3h`, `40d`, `59m 58s`, `12s`: the largest unit and the next one when not zero, rounded down. */
export function humanizeDuration(ms: number): string {
  const seconds = Math.floor(Math.abs(ms) / 1000);
  const units = [
    ['d', Math.floor(seconds / 86_400)],
    ['h', Math.floor(seconds / 3600) % 24],
    ['m', Math.floor(seconds / 60) % 60],
    ['s', seconds % 60],
  ] as const;
  const first = units.findIndex(([, n]) => n > 0);
  if (first < 0) return '0s';
  return units
    .slice(first, first + 2)
    .filter(([, n], i) => i === 0 || n > 0)
    .map(([unit, n]) => `${n}${unit}`)
    .join(' ');
}
