import type { Command } from 'commander';
import type { CliContext } from './context.js';

/**
 * Hands each command its context, created once the command line is parsed. In its own file so
 * the commands need not import the program that registers them.
 */
export type ContextOf = (command: Command) => CliContext;
