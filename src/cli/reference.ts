import type { Command, Option, Argument } from 'commander';

function usageOf(command: Command, parents: string[]): string {
  return [...parents, command.name(), command.usage()].filter(Boolean).join(' ');
}

function optionLine(option: Option): string {
  const fallback = option.defaultValue !== undefined && !(Array.isArray(option.defaultValue) && option.defaultValue.length === 0) && option.defaultValue !== '' ? ` (default: ${JSON.stringify(option.defaultValue)})` : '';
  return `- \`${option.flags}\`: ${option.description}${fallback}`;
}

function argumentLine(argument: Argument): string {
  return `- \`${argument.name()}${argument.variadic ? '...' : ''}\`${argument.required ? '' : ' (optional)'}: ${argument.description}`;
}

/** Markdown reference of a command tree: the source of docs/cli.md. */
export function commandReference(root: Command): string {
  const lines: string[] = [
    '# CLI reference',
    '',
    'Generated from the command definitions by `node scripts/gen-docs.mjs`; `test/cli-reference.test.ts` fails when it drifts.',
    '',
    'Every command takes `--dir DIR` (or `BRAINSTACK_DIR`; default `/var/lib/brainstack`). Exit codes: 0 ok, 1 failure, 2 usage, 3 not found. Listings take `--json`.',
    '',
  ];
  const visit = (command: Command, parents: string[]) => {
    const leaf = command.commands.length === 0;
    if (parents.length > 0 && leaf) {
      lines.push(`## \`${usageOf(command, parents)}\``, '', command.description(), '');
      const args = command.registeredArguments;
      if (args.length) lines.push(...args.map(argumentLine), '');
      const options = command.options.filter((o) => o.long !== '--help');
      if (options.length) lines.push(...options.map(optionLine), '');
    }
    for (const sub of command.commands) visit(sub, [...parents, command.name()]);
  };
  visit(root, []);
  return `${lines.join('\n').trimEnd()}\n`;
}
