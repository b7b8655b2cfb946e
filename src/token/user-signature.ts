import { ErrorCode, ZohoTokenError } from '../errors.js';
import { isWellFormed } from './well-formed.js';

/** Whose token it is: the Zoho user's name, which Zoho and the official SDKs take to be the email. */
export class UserSignature {
  /** The user's name (email). */
  readonly name: string;

  /**
   * @throws {@link ZohoTokenError} `INVALID_TOKEN` (field `userSignature`) when `name` is not a
   *   non-empty string or holds a lone UTF-16 surrogate.
   */
  constructor(name: string) {
    if (typeof name !== 'string' || name.length === 0) {
      throw new ZohoTokenError(ErrorCode.INVALID_TOKEN, 'UserSignature name must be a non-empty string', {
        field: 'userSignature',
      });
    }
    if (!isWellFormed(name)) {
      throw new ZohoTokenError(ErrorCode.INVALID_TOKEN, 'UserSignature name contains a lone UTF-16 surrogate', {
        field: 'userSignature',
      });
    }
    this.name = name;
  }

  /** Whether `other` is a UserSignature with the same name. */
  equals(other: UserSignature | null | undefined): boolean {
    return other instanceof UserSignature && other.name === this.name;
  }

  /** The name. */
  toString(): string {
    return this.name;
  }

  /** `{ name }`, as the official SDKs serialize it. */
  toJSON(): {
    /** The name. */
    name: string;
  } {
    return { name: this.name };
  }
}
