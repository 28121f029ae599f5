/** One entry of the revocation feed, as the ticket service serves it. */
export interface RevocationEntry {
  seq: number;
  kind: 'jti' | 'device' | 'user';
  value: string;
  /** ms: tokens issued before this are refused (device and user kinds). */
  not_before: number;
  /** ms: after this, the entry can be forgotten. */
  expires_at: number;
}

/**
 * What a guard knows is revoked: token ids, and per device and per user the moment before which
 * every issued token is refused. Kept in memory, pruned as entries expire.
 */
export class RevocationState {
  private readonly jtis = new Map<string, number>();
  private readonly devices = new Map<string, { notBefore: number; expires: number }>();
  private readonly users = new Map<string, { notBefore: number; expires: number }>();
  private listeners: Array<(entry: RevocationEntry) => void> = [];
  seq = 0;

  apply(entries: RevocationEntry[]): void {
    for (const e of entries) {
      if (e.kind === 'jti') this.jtis.set(e.value, e.expires_at);
      else {
        const map = e.kind === 'device' ? this.devices : this.users;
        const previous = map.get(e.value);
        map.set(e.value, { notBefore: Math.max(previous?.notBefore ?? 0, e.not_before), expires: Math.max(previous?.expires ?? 0, e.expires_at) });
      }
      this.seq = Math.max(this.seq, e.seq);
      for (const listener of this.listeners) listener(e);
    }
  }

  onEntry(listener: (entry: RevocationEntry) => void): void {
    this.listeners.push(listener);
  }

  /** Why a token is revoked, or undefined. `iatMs`: the token's issue time in ms. */
  revokedReason(claims: { jti: string; device: string; sub: string; iatMs: number }): string | undefined {
    if (this.jtis.has(claims.jti)) return 'revoked_jti';
    const device = this.devices.get(claims.device);
    if (device && claims.iatMs <= device.notBefore) return 'revoked_device';
    const user = this.users.get(claims.sub);
    if (user && claims.iatMs <= user.notBefore) return 'revoked_user';
    return undefined;
  }

  prune(now: number): void {
    for (const [k, exp] of this.jtis) if (exp <= now) this.jtis.delete(k);
    for (const map of [this.devices, this.users]) for (const [k, v] of map) if (v.expires <= now) map.delete(k);
  }

  get size(): number {
    return this.jtis.size + this.devices.size + this.users.size;
  }
}
