#!/usr/bin/env node
// Which signature algorithm costs the guard less? Signs one access-token-shaped JWT with each
// algorithm and measures jwtVerify side by side in one run, alternating rounds.
//   node scripts/bench/jwt-alg.mjs [iterations]
import { SignJWT, generateKeyPair, jwtVerify } from 'jose';
import { performance } from 'node:perf_hooks';

const iterations = Number(process.argv[2] ?? 5000);
const claims = { scope: 'assistant:notes assistant:search', client_id: 'brainstack-cli', roles: ['staff'], device: 'd-1', cnf: { wg_ip: '10.8.0.5', wg_pk: 'x'.repeat(44) } };
const setups = {};
for (const alg of ['EdDSA', 'ES256']) {
  const { publicKey, privateKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {});
  const sign = () => new SignJWT(claims).setProtectedHeader({ alg, typ: 'at+jwt', kid: 'k' }).setIssuer('https://t').setAudience('brainstack').setSubject('u').setIssuedAt().setExpirationTime('10m').setJti('j').sign(privateKey);
  setups[alg] = { publicKey, token: await sign(), sign };
}
const results = { EdDSA: { verify: 0, sign: 0 }, ES256: { verify: 0, sign: 0 } };
for (let round = 0; round < 5; round += 1) {
  for (const alg of round % 2 ? ['ES256', 'EdDSA'] : ['EdDSA', 'ES256']) {
    const { publicKey, token, sign } = setups[alg];
    let start = performance.now();
    for (let i = 0; i < iterations / 5; i += 1) await jwtVerify(token, publicKey, { algorithms: [alg] });
    results[alg].verify += performance.now() - start;
    start = performance.now();
    for (let i = 0; i < iterations / 10; i += 1) await sign();
    results[alg].sign += performance.now() - start;
  }
}
for (const alg of ['EdDSA', 'ES256']) {
  const r = results[alg];
  console.log(`${alg}: verify ${((r.verify * 1000) / iterations).toFixed(1)} µs/op, sign ${((r.sign * 1000) / (iterations / 2)).toFixed(1)} µs/op, token ${setups[alg].token.length} chars`);
}
console.log(`verify ratio ES256/EdDSA: ${(results.ES256.verify / results.EdDSA.verify).toFixed(2)}`);
