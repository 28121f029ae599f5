/** `brainstack/guard`: the thin auth layer for assistants written in Node. */
export { guard, sendRefusal, type GuardPluginOptions } from './plugin.js';
export { Guard, verifyRequest, type GuardOptions } from './guard.js';
export { GuardVerifier, wwwAuthenticate, MAX_TOKEN_LENGTH, type GuardDecision, type GuardIdentity, type GuardReason, type GuardRequest, type GuardSettings } from './verifier.js';
export { RevocationState, type RevocationEntry } from './revocation-state.js';
