import { ErrorCode, ZohoTokenError } from '../errors.js';
import { isWellFormed } from './well-formed.js';

/** Whose token it is: the Zoho user's name, which Zoho and the official SDKs take to be the email. */
export class UserSignature {
  readonly name: string;

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

  equals(other: UserSignature | null | undefined): boolean {
    return other instanceof UserSignature && other.name === this.name;
  }

  toString(): string {
    return this.name;
  }

  toJSON(): { name: string } {
    return { name: this.name };
  }
}
