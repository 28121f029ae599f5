import { Command, CommanderError } from 'commander';
import { registerInit } from './init-command.js';
import { registerServe } from './serve-command.js';
import { registerAdminUsers } from './admin-users.js';
import { registerAdminRoles } from './admin-roles.js';
import { registerAdminGuards } from './admin-guards.js';
import { registerAdminSso } from './admin-sso.js';
import { registerAdminOps } from './admin-ops.js';
import { registerAdminMaintenance } from './admin-maintenance.js';
import { registerGuard } from './guard-command.js';
import { registerUserCommands } from './user-commands.js';
import { EXIT, describeError, exitCodeFor, processOutput, type Output } from './output.js';

/** Builds the whole command tree (also used to generate docs/cli.md). */
export function buildProgram(rawOutput: Output = processOutput): Command {
  // Commands that only report what they did print `{"ok": true, "message": …}` under --json.
  const messagesAsJson = { on: false };
  const output: Output = { out: (text) => rawOutput.out(messagesAsJson.on ? JSON.stringify({ ok: true, message: text }) : text), err: rawOutput.err };
  const program = new Command('brainstack')
    .description('WireGuard-fronted access manager for private assistants')
    .version('0.1.0')
    .option('--dir <dir>', 'brainstack home directory (default: $BRAINSTACK_DIR or /var/lib/brainstack)')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (text) => rawOutput.out(text.replace(/\n$/, '')), writeErr: (text) => rawOutput.err(text.replace(/\n$/, '')) });
  registerInit(program, output);
  registerServe(program);
  registerGuard(program);
  registerUserCommands(program, output);
  const admin = program.command('admin').description("operator's commands (run on the server host)");
  registerAdminUsers(admin, output);
  registerAdminRoles(admin, output);
  registerAdminGuards(admin, output);
  registerAdminSso(admin, output);
  registerAdminOps(admin, output);
  registerAdminMaintenance(admin, output);
  const longRunning = new Set(['serve', 'guard']);
  for (const command of allCommands(program)) {
    if (command.commands.length > 0 || longRunning.has(command.name()) || command.options.some((o) => o.long === '--json')) continue;
    command.option('--json', 'print the result as JSON');
    command.hook('preAction', (_parent, action) => {
      messagesAsJson.on = Boolean(action.opts<{ json?: boolean }>().json);
    });
  }
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
    if (argv.includes('--json')) {
      const e = err as { code?: string; message?: string };
      output.err(JSON.stringify({ ok: false, code: e.code ?? 'internal_error', message: e.message ?? String(err) }));
    } else output.err(describeError(err));
    return exitCodeFor(err);
  }
}
