import { ErrorCode, ZohoTokenError } from '../errors.js';

/** The emulator's error for a bad option or argument: `INVALID_ARGUMENT` naming the field. */
export function invalid(field: string, message: string): ZohoTokenError {
  return new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, message, { field });
}
