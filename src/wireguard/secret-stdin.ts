import { closeSync, existsSync, mkdtempSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let directory: string | undefined;

/** A private (0700) directory on a memory file system where there is one. */
function secretDirectory(): string {
  directory ??= mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'brainstack-'));
  return directory;
}

/**
 * Runs `work` with a file descriptor whose content is `secret`, to hand to a child process as its
 * stdin, so a `wg` argument of `/dev/stdin` reads it.
 *
 * Why not a plain pipe: Node connects a child's stdio through a UNIX socket, and `wg` opens
 * `/dev/stdin` by path, which fails on a socket (ENXIO). So the secret goes into a file created
 * 0600 in a private directory on /dev/shm and unlinked at once: it has no name while `wg` reads
 * it, never reaches a disk, never appears in argv or a process listing, and disappears when the
 * descriptor is closed.
 */
export async function withSecretStdin<T>(secret: string, work: (fd: number) => Promise<T>): Promise<T> {
  const path = join(secretDirectory(), randomUUID());
  const fd = openSync(path, 'wx+', 0o600);
  try {
    unlinkSync(path);
    writeSync(fd, secret);
    return await work(fd);
  } finally {
    closeSync(fd);
  }
}
