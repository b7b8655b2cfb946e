import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromWorker, InitMessage, StepDone, StepMessage } from './protocol.js';

type OnDying = (message: Extract<FromWorker, { type: 'dying' }>) => void;

const WORKER_FILE = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** A step that takes longer than this (real time) is a hung worker: a finding, not a wait. */
const STEP_DEADLINE_MS = 60_000;

/** What a step produced: the worker's report, or how it ended. */
export type StepOutcome = StepDone | { readonly type: 'killed' } | { readonly type: 'hung' };

/**
 * One worker slot: a child process (the same node flags as this one) that is replaced by a fresh
 * one, same skew, when it dies. Its stdout and stderr go to a log file per process.
 */
export class WorkerSlot {
  readonly #init: InitMessage;
  readonly #logDir: string;
  readonly #onDying: OnDying;
  #child!: ChildProcess;
  #generation = 0;
  readonly logFiles: string[] = [];

  private constructor(init: InitMessage, logDir: string, onDying: OnDying) {
    this.#init = init;
    this.#logDir = logDir;
    this.#onDying = onDying;
  }

  static async start(init: InitMessage, logDir: string, onDying: OnDying): Promise<WorkerSlot> {
    const slot = new WorkerSlot(init, logDir, onDying);
    await slot.#spawn();
    return slot;
  }

  get skewMs(): number {
    return this.#init.skewMs;
  }

  /** Runs one step; a worker that dies meanwhile is replaced before this resolves. */
  async step(message: StepMessage): Promise<StepOutcome> {
    const child = this.#child;
    const outcome = await new Promise<StepOutcome>((resolve) => {
      const timer = setTimeout(() => finish({ type: 'hung' }), STEP_DEADLINE_MS);
      const onMessage = (m: FromWorker): void => {
        if (m.type === 'done' && m.step === message.step) finish(m);
        if (m.type === 'failed') finish({ type: 'hung' });
      };
      const onExit = (): void => finish({ type: 'killed' });
      function finish(result: StepOutcome): void {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(result);
      }
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (!child.connected) finish({ type: 'killed' });
      else child.send(message);
    });
    if (outcome.type !== 'done') {
      child.kill('SIGKILL');
      await this.#spawn();
    }
    return outcome;
  }

  async close(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.send({ type: 'exit' });
    await exited;
    clearTimeout(timer);
  }

  async #spawn(): Promise<void> {
    const logFile = join(this.#logDir, `worker-${this.#init.worker}-${this.#generation++}.log`);
    this.logFiles.push(logFile);
    const fd = openSync(logFile, 'a');
    const child = fork(WORKER_FILE, [], {
      execArgv: ['--conditions=zoho-token-store-source', '--import', 'tsx'],
      stdio: ['ignore', fd, fd, 'ipc'],
    });
    closeSync(fd);
    child.on('message', (m: FromWorker) => {
      if (m.type === 'dying') this.#onDying(m);
    });
    // A send racing the child's death: the exit handler reports it.
    child.on('error', () => undefined);
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromWorker): void => {
        if (m.type === 'ready') done();
        else if (m.type === 'failed') done(new Error(`worker ${this.#init.worker} failed to start: ${m.message}`));
      };
      const onExit = (code: number | null): void =>
        done(new Error(`worker ${this.#init.worker} exited (${code}) while starting; see ${logFile}`));
      const done = (error?: Error): void => {
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (error === undefined) resolve();
        else reject(error);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ ...this.#init, seed: this.#init.seed + this.#generation * 7919 });
    });
  }
}
