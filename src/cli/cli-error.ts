import { isZohoTokenError } from '../errors.js';
import { ExitCode, exitCodeForErrorCode } from './exit-codes.js';

/** Codes of the CLI's own errors (library errors keep their ZohoTokenError code). */
export type CliErrorCode = 'USAGE' | 'NOT_FOUND' | 'MIGRATION_FAILED' | 'TIMEOUT' | 'ROTATION_INCOMPLETE' | 'CANCELLED';

const EXIT_BY_CLI_CODE: Record<CliErrorCode, ExitCode> = {
  USAGE: ExitCode.USAGE,
  NOT_FOUND: ExitCode.NOT_FOUND,
  MIGRATION_FAILED: ExitCode.STORE,
  TIMEOUT: ExitCode.ERROR,
  ROTATION_INCOMPLETE: ExitCode.STORE,
  CANCELLED: ExitCode.CANCELLED,
};

/** An error the CLI raises itself; `exitCode` overrides the default of its code. */
export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly exitCode: ExitCode;

  constructor(code: CliErrorCode, message: string, options: { exitCode?: ExitCode; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.exitCode = options.exitCode ?? EXIT_BY_CLI_CODE[code];
  }
}

export function usageError(message: string): CliError {
  return new CliError('USAGE', message);
}

/** The exit code and the `(code)` shown for any thrown value: the one place errors become exit codes. */
export function classifyError(error: unknown): { exitCode: ExitCode; code: string } {
  if (error instanceof CliError) return { exitCode: error.exitCode, code: error.code };
  if (isZohoTokenError(error)) return { exitCode: exitCodeForErrorCode(error.code), code: error.code };
  return { exitCode: ExitCode.ERROR, code: 'UNEXPECTED' };
}
