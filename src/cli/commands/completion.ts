import { Argument, type Command } from 'commander';
import { completionModel, completionScript, SHELLS, type Shell } from '../completion.js';
import type { ContextOf } from '../command-context.js';

export function registerCompletion(program: Command, contextOf: ContextOf): void {
  program
    .command('completion')
    .description('Print a shell completion script for bash, zsh or fish')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .addHelpText(
      'after',
      `
The script completes every command and its options, read from this version's own definition.

Examples:
  source <(zoho-tokens completion bash)                                  # in ~/.bashrc
  zoho-tokens completion zsh > "\${fpath[1]}/_zoho_tokens"               # then restart zsh
  zoho-tokens completion fish > ~/.config/fish/completions/zoho-tokens.fish`,
    )
    .action((shell: Shell, _options: object, command: Command) => {
      const script = completionScript(shell, completionModel(program));
      contextOf(command).out.result(
        () => script.trimEnd(),
        () => ({ shell, script }),
      );
    });
}
