/**
 * A readers-writer lock for the interface: peer changes (register, revoke, expire) share it;
 * reconcile takes it alone, so it never sees a peer whose database row is not yet committed.
 */
export class PeerLock {
  private readers = 0;
  private writer = false;
  private waiting: Array<{ write: boolean; wake: () => void }> = [];

  private grant(): void {
    while (this.waiting.length > 0) {
      const next = this.waiting[0] as { write: boolean; wake: () => void };
      if (next.write) {
        if (this.readers > 0 || this.writer) return;
        this.writer = true;
      } else {
        if (this.writer) return;
        this.readers += 1;
      }
      this.waiting.shift();
      next.wake();
      if (next.write) return;
    }
  }

  private acquire(write: boolean): Promise<void> {
    return new Promise((wake) => {
      this.waiting.push({ write, wake });
      this.grant();
    });
  }

  async shared<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire(false);
    try {
      return await work();
    } finally {
      this.readers -= 1;
      this.grant();
    }
  }

  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire(true);
    try {
      return await work();
    } finally {
      this.writer = false;
      this.grant();
    }
  }
}
