import { Command, CommanderError } from 'commander';
import { registerInit } from './init-command.js';
import { registerServe } from './serve-command.js';
import { registerAdminUsers } from './admin-users.js';
import { registerAdminRoles } from './admin-roles.js';
import { registerAdminGuards } from './admin-guards.js';
import { registerAdminOps } from './admin-ops.js';
import { registerAdminMaintenance } from './admin-maintenance.js';
import { registerGuard } from './guard-command.js';
import { registerUserCommands } from './user-commands.js';
import { EXIT, describeError, exitCodeFor, processOutput, type Output } from './output.js';

/** Builds the whole command tree (also used to generate docs/cli.md). */
export function buildProgram(output: Output = processOutput): Command {
  const program = new Command('brainstack')
    .description('WireGuard-fronted access manager for private assistants')
    .version('0.1.0')
    .option('--dir <dir>', 'brainstack home directory (default: $BRAINSTACK_DIR or /var/lib/brainstack)')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (text) => output.out(text.replace(/\n$/, '')), writeErr: (text) => output.err(text.replace(/\n$/, '')) });
  registerInit(program, output);
  registerServe(program);
  registerGuard(program);
  registerUserCommands(program, output);
  const admin = program.command('admin').description("operator's commands (run on the server host)");
  registerAdminUsers(admin, output);
  registerAdminRoles(admin, output);
  registerAdminGuards(admin, output);
  registerAdminOps(admin, output);
  registerAdminMaintenance(admin, output);
  for (const command of [program, ...allCommands(program)]) command.exitOverride().configureOutput(program.configureOutput());
  return program;
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((c) => [c, ...allCommands(c)]);
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage, 3 not found). */
export async function main(argv: string[], output: Output = processOutput): Promise<number> {
  const program = buildProgram(output);
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    output.err(describeError(err));
    return exitCodeFor(err);
  }
}
