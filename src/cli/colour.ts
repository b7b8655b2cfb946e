import type { CliIo } from './output.js';

/**
 * Colour only for a person reading a terminal: stdout is a TTY, not `--json`, `NO_COLOR` unset or
 * empty (https://no-color.org: any non-empty value turns colour off), and not `TERM=dumb`.
 * FORCE_COLOR is not honoured: piped output stays plain, whatever the environment says.
 */
export function colourEnabled(io: CliIo, json: boolean): boolean {
  if (json || io.stdoutIsTty !== true) return false;
  if ((io.env['NO_COLOR'] ?? '') !== '') return false;
  return io.env['TERM'] !== 'dumb';
}
