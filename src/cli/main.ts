#!/usr/bin/env node
// The `zoho-tokens` bin. Everything lives in program.ts; this only binds it to the process.
import { createInterface } from 'node:readline/promises';
import { run } from './program.js';

// `zoho-tokens list | head`: the reader went away; stop quietly instead of crashing on EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  stdoutIsTty: process.stdout.isTTY === true,
  stderrIsTty: process.stderr.isTTY === true,
  prompt: process.stdin.isTTY
    ? async (question) => {
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        // End of input (Ctrl+D) is an empty answer, not a question left pending forever.
        const closed = new Promise<string>((resolve) => rl.once('close', () => resolve('')));
        try {
          return await Promise.race([rl.question(question), closed]);
        } finally {
          rl.close();
        }
      }
    : undefined,
});
