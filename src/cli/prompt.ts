import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { BrainstackError } from '../errors.js';

/** Reads all of stdin (for `--password-stdin`); drops one trailing newline. */
export async function readStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Prompts on the terminal without echo. */
export async function promptHidden(question: string): Promise<string> {
  if (!process.stdin.isTTY) throw new BrainstackError('input_required', 'no terminal to prompt on: pass --password-stdin and pipe the password in');
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, callback) {
      if (!muted) process.stderr.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    return await new Promise<string>((resolve) => {
      rl.question(question, (answer) => resolve(answer));
      muted = true;
    });
  } finally {
    muted = false;
    rl.close();
    process.stderr.write('\n');
  }
}

/** The password for a command: from stdin when asked, else prompted twice. Never from argv. */
export async function readNewPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    const password = await readStdin();
    if (password === '') throw new BrainstackError('input_required', '--password-stdin was given but stdin was empty');
    return password;
  }
  const first = await promptHidden('Password: ');
  const second = await promptHidden('Repeat password: ');
  if (first !== second) throw new BrainstackError('input_required', 'the two passwords differ');
  return first;
}
