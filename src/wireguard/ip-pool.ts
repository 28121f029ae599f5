import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { BrainstackError } from '../errors.js';

/** An IPv4 range: base address and size; offset 0 is the network, 1 the server, the last the broadcast. */
export interface Ipv4Range {
  cidr: string;
  base: number;
  size: number;
  prefix: number;
}

export function parseCidr(cidr: string): Ipv4Range {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = match?.slice(1, 5).map(Number) ?? [];
  const prefix = Number(match?.[5]);
  if (!match || octets.some((o) => o > 255) || prefix < 8 || prefix > 30) {
    throw new BrainstackError('config_invalid', `'wireguard.cidr' ${cidr} is not an IPv4 range between /8 and /30`);
  }
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  return { cidr, base: address - (address % size), size, prefix };
}

export function addressAt(range: Ipv4Range, index: number): string {
  const n = range.base + index;
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** Offset 0 is the network address and 1 the server's own tunnel address; clients start at 2. */
const FIRST_CLIENT_INDEX = 2;

/**
 * Hands out tunnel addresses inside the device transaction. Constant work per allocation: a
 * quarantined address whose time is up, else the next never-used offset. The first statement
 * is a write on the pool row, so concurrent allocators (threads, replicas) queue on it; the
 * unique (interface, ip_index) constraint is the last line of defence.
 */
export async function allocateAddress(trx: Transaction<Database>, interfaceName: string, range: Ipv4Range, now: number): Promise<{ index: number; ip: string }> {
  await trx.insertInto('ip_pools').values({ interface: interfaceName, cidr: range.cidr, next_index: FIRST_CLIENT_INDEX, version: 0 }).onConflict((oc) => oc.column('interface').doNothing()).execute();
  await trx.updateTable('ip_pools').set((eb) => ({ version: eb('version', '+', 1) })).where('interface', '=', interfaceName).execute();
  const pool = await trx.selectFrom('ip_pools').select(['cidr', 'next_index']).where('interface', '=', interfaceName).executeTakeFirstOrThrow();
  if (pool.cidr !== range.cidr) {
    throw new BrainstackError('config_invalid', `'wireguard.cidr' is ${range.cidr} but the devices of '${interfaceName}' were given addresses from ${pool.cidr}`);
  }
  const reusable = await trx
    .selectFrom('ip_quarantine')
    .select('ip_index')
    .where('interface', '=', interfaceName)
    .where('available_at', '<=', now)
    .orderBy('available_at')
    .limit(1)
    .executeTakeFirst();
  if (reusable) {
    await trx.deleteFrom('ip_quarantine').where('interface', '=', interfaceName).where('ip_index', '=', reusable.ip_index).execute();
    return { index: reusable.ip_index, ip: addressAt(range, reusable.ip_index) };
  }
  const index = Number(pool.next_index);
  if (index > range.size - 2) {
    throw new BrainstackError('pool_exhausted', `no free tunnel address in ${range.cidr}: revoke unused devices or widen wireguard.cidr`);
  }
  await trx.updateTable('ip_pools').set({ next_index: index + 1 }).where('interface', '=', interfaceName).execute();
  return { index, ip: addressAt(range, index) };
}

/** Puts a released address in quarantine: it is not handed out again before `availableAt`. */
export async function quarantineAddress(trx: Transaction<Database>, interfaceName: string, index: number, availableAt: number): Promise<void> {
  await trx.insertInto('ip_quarantine').values({ interface: interfaceName, ip_index: index, available_at: availableAt }).onConflict((oc) => oc.columns(['interface', 'ip_index']).doUpdateSet({ available_at: availableAt })).execute();
}
