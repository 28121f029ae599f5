import { isIP } from 'node:net';

/** `::ffff:10.8.0.5` → `10.8.0.5`; other addresses unchanged. */
export function normaliseAddress(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}

/**
 * The address a request really comes from: the socket's peer, unless that peer is a configured
 * trusted gateway, in which case the address the gateway appended to X-Forwarded-For (the
 * rightmost entry: anything to its left was written by the client and proves nothing).
 */
export function callerAddress(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, trustedGateways: ReadonlySet<string>): string | undefined {
  const direct = normaliseAddress(socketAddress);
  if (!direct || !trustedGateways.has(direct)) return direct;
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
  const last = header?.split(',').map((s) => s.trim()).filter(Boolean).pop();
  return last && isIP(normaliseAddress(last) ?? '') ? normaliseAddress(last) : undefined;
}
