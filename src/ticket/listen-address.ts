/** Splits `HOST:PORT` (IPv6 in brackets) into the parts `listen()` takes. */
export function splitHostPort(listen: string): { host: string; port: number } {
  const index = listen.lastIndexOf(':');
  return { host: listen.slice(0, index).replace(/^\[|\]$/g, ''), port: Number(listen.slice(index + 1)) };
}
