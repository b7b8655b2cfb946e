/**
 * A one-line progress report on a terminal (count, rate, ETA), redrawn in place a few times a
 * second. Only for a terminal: a pipe or a log file would fill with lines, and `--json` output
 * stays exactly one document.
 */

/** Redraws at most this often; the first and the last state are always drawn. */
const INTERVAL_MS = 250;

/** What a progress line writes to: stderr, in production. */
export interface ProgressSink {
  write(text: string): unknown;
}

export class ProgressLine {
  readonly #sink: ProgressSink | null;
  readonly #label: string;
  readonly #now: () => number;
  readonly #total: number;
  readonly #started: number;
  #drawn = -Infinity;
  #visible = false;

  /** `sink` null: a progress line that draws nothing (not a terminal, or `--json`). */
  constructor(sink: ProgressSink | null, label: string, total: number, now: () => number = Date.now) {
    this.#sink = sink;
    this.#label = label;
    this.#total = total;
    this.#now = now;
    this.#started = now();
  }

  /** Reports `done` items; drawn when the last draw is old enough, or at the start and the end. */
  update(done: number): void {
    if (this.#sink === null) return;
    const now = this.#now();
    if (now - this.#drawn < INTERVAL_MS && done !== 0 && done !== this.#total) return;
    this.#drawn = now;
    this.#visible = true;
    this.#sink.write(`\r\u001b[K${this.format(done, now)}`);
  }

  /** The text of the line for `done` items at time `now`. */
  format(done: number, now: number = this.#now()): string {
    const total = this.#total;
    const seconds = Math.max((now - this.#started) / 1000, 0.001);
    const rate = done / seconds;
    const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
    const parts = [`${this.#label} ${done}/${total} tokens (${percent}%)`];
    if (done > 0) {
      parts.push(`${Math.round(rate)} tokens/s`);
      parts.push(`ETA ${duration(done >= total ? 0 : (total - done) / rate)}`);
    }
    return parts.join(', ');
  }

  /** Erases the line, so that what follows starts on a clean line. */
  clear(): void {
    if (this.#sink === null || !this.#visible) return;
    this.#sink.write('\r\u001b[K');
    this.#visible = false;
  }
}

/** `42s`, `3m05s`, `1h02m`. */
function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
