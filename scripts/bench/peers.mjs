#!/usr/bin/env node
// Cost of one device registration as the interface grows, measured side by side in one run:
//   per-peer (brainstack): one `wg set IF peer …` inside the device transaction
//   whole-config (the trap):  regenerate the full config and `wg syncconf` on every change
// at 0 and N existing peers (default 10,000), plus the reconcile time at N.
// Needs root, /dev/net/tun, wireguard-tools and wireguard-go (or the kernel module).
//   npm run build && node scripts/bench/peers.mjs [N] [samples]
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { execFileSync } from 'node:child_process';
import { createTestInterface } from '../../dist/test/helpers/wireguard.js';
import { createTestHome } from '../../dist/test/helpers/home.js';
import { generateWireGuardKeyPair } from '../../dist/src/wireguard/keys.js';
import { addressAt, parseCidr } from '../../dist/src/wireguard/ip-pool.js';
import { seal } from '../../dist/src/crypto/seal.js';

const N = Number(process.argv[2] ?? 10_000);
const SAMPLES = Number(process.argv[3] ?? 30);
const CIDR = '10.64.0.0/16';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function setup(existing) {
  const iface = createTestInterface();
  const home = await createTestHome({ settings: { wireguard: { interface: iface.name, cidr: CIDR } } });
  await home.services.reconciler.reconcile();
  const user = await home.services.accounts.create('bench', 'correct horse battery staple', 'bench');
  const range = parseCidr(CIDR);
  const peers = [];
  if (existing > 0) {
    // Bulk-load rows and peers once (setup, not measured): rows through kysely, peers through one addconf.
    const db = home.services.database.db;
    const now = Date.now();
    for (let start = 0; start < existing; start += 500) {
      const rows = [];
      for (let i = start; i < Math.min(existing, start + 500); i += 1) {
        const id = randomUUID();
        const psk = randomBytes(32).toString('base64');
        const { publicKey } = generateWireGuardKeyPair();
        const ip = addressAt(range, i + 2);
        peers.push({ publicKey, psk, ip });
        rows.push({ id, user_id: user.id, name: `bulk ${i}`, public_key: publicKey, psk_sealed: seal(home.services.keyring, { table: 'devices', column: 'psk_sealed', row: id }, psk), client_key: 1, interface: iface.name, ip, ip_index: i + 2, released_ip: null, created_at: now, expires_at: now + 86_400_000, revoked_at: null, revoked_reason: null });
      }
      await db.insertInto('devices').values(rows).execute();
    }
    await db.insertInto('ip_pools').values({ interface: iface.name, cidr: CIDR, next_index: existing + 2, version: 0 }).execute();
    const conf = `/dev/shm/bench-${iface.name}.conf`;
    writeFileSync(conf, peers.map((p) => `[Peer]\nPublicKey = ${p.publicKey}\nPresharedKey = ${p.psk}\nAllowedIPs = ${p.ip}/32\n`).join('\n'), { mode: 0o600 });
    execFileSync('wg', ['addconf', iface.name, conf]);
    rmSync(conf);
  }
  return { iface, home, user, peers, range };
}

async function perPeer(ctx) {
  const times = [];
  for (let i = 0; i < SAMPLES; i += 1) {
    const { publicKey } = generateWireGuardKeyPair();
    const start = performance.now();
    await ctx.home.services.devices.register({ id: ctx.user.id, username: 'bench' }, { name: `sample ${i}`, publicKey });
    times.push(performance.now() - start);
  }
  return median(times);
}

function wholeConfig(ctx, serverPrivateKey) {
  // What a whole-config manager does per change: render every peer, then syncconf.
  const times = [];
  const peers = [...ctx.peers];
  for (let i = 0; i < Math.min(SAMPLES, 10); i += 1) {
    const start = performance.now();
    peers.push({ publicKey: generateWireGuardKeyPair().publicKey, psk: randomBytes(32).toString('base64'), ip: addressAt(ctx.range, 60_000 + i) });
    const conf = `/dev/shm/bench-sync-${ctx.iface.name}.conf`;
    writeFileSync(conf, `[Interface]\nPrivateKey = ${serverPrivateKey}\nListenPort = 51820\n\n${peers.map((p) => `[Peer]\nPublicKey = ${p.publicKey}\nPresharedKey = ${p.psk}\nAllowedIPs = ${p.ip}/32\n`).join('\n')}`, { mode: 0o600 });
    execFileSync('wg', ['syncconf', ctx.iface.name, conf]);
    times.push(performance.now() - start);
    rmSync(conf);
  }
  return median(times);
}

async function measure(existing) {
  const ctx = await setup(existing);
  try {
    const register = await perPeer(ctx);
    const serverKey = generateWireGuardKeyPair().privateKey;
    const whole = wholeConfig(ctx, serverKey);
    await ctx.home.services.reconciler.reconcile(); // restore the interface key syncconf replaced
    const start = performance.now();
    const report = await ctx.home.services.reconciler.reconcile();
    const reconcile = performance.now() - start;
    return { existing, register, whole, reconcile, repairs: report.repairs.length, peers: report.peersOnInterface };
  } finally {
    await ctx.home.cleanup();
    ctx.iface.destroy();
  }
}

const small = await measure(0);
const large = await measure(N);
const fmt = (ms) => `${ms.toFixed(1)} ms`;
console.log(`peers on the interface        per-peer registration   whole-config + syncconf`);
console.log(`0                             ${fmt(small.register).padEnd(24)}${fmt(small.whole)}`);
console.log(`${String(N).padEnd(30)}${fmt(large.register).padEnd(24)}${fmt(large.whole)}`);
console.log(`ratio ${N}/0                   ${(large.register / small.register).toFixed(2).padEnd(24)}${(large.whole / small.whole).toFixed(2)}`);
console.log(`reconcile at ${large.peers} peers (nothing to repair): ${fmt(large.reconcile)} (${large.repairs} repairs)`);
console.log(`samples: ${SAMPLES} registrations per size (median); whole-config: ${Math.min(SAMPLES, 10)} per size (median)`);
