import type { Command } from 'commander';
import { main as emulatorMain } from '../../emulator/cli.js';
import type { ContextOf } from '../command-context.js';

export function registerEmulator(program: Command, contextOf: ContextOf): void {
  program
    .command('emulator')
    .description(
      'Run the local Zoho accounts + CRM emulator (for trying the CLI without Zoho), or drive a running one (code, clock, fault, stats…); "emulator --help" for both',
    )
    // Everything after "emulator" is the emulator CLI's own command line (its own --help too).
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .argument('[options...]')
    .action(async (args: string[], _options: object, command: Command) => {
      contextOf(command).exitCode = await emulatorMain(args, 'zoho-tokens emulator');
    });
}
