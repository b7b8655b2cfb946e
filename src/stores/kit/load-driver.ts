import { createRequire } from 'node:module';
import { ErrorCode, ZohoTokenError } from '../../errors.js';

// Resolves drivers from this file, as an import would. Where a bundler rewrote this module as
// CommonJS (esbuild --format=cjs) `import.meta.url` is gone: the bundle's own require resolves them,
// from the bundle's folder, instead of a crash at start-up.
const requireDriver = typeof import.meta.url === 'string' ? createRequire(import.meta.url) : require;

/**
 * Loads an optional driver package only when its store is used, so that nobody who uses another
 * store ever loads (or needs to install) it. A missing package is an actionable DRIVER_MISSING.
 */
export function loadDriver<T>(packageName: string, storeName: string, passInstead: string): T {
  try {
    return requireDriver(packageName) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    throw new ZohoTokenError(
      ErrorCode.DRIVER_MISSING,
      `${storeName} needs the "${packageOf(packageName)}" package: run \`npm install ${packageOf(packageName)}\`, or pass ${passInstead}`,
      { cause: error },
    );
  }
}

/** The package of a module specifier: `mysql2/promise` → `mysql2`, `@scope/pkg/sub` → `@scope/pkg`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}
