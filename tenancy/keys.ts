import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, calculateJwkThumbprint, type JWK, type CryptoKey } from 'jose';

/** A key pair with its public JWK (kid set), ready to sign and to publish. */
export interface KeyPair {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
  privateJwk: JWK;
}

export async function keyPairFromPrivateJwk(privateJwk: JWK, alg = 'ES256'): Promise<KeyPair> {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicPart } = privateJwk;
  const kid = privateJwk.kid ?? (await calculateJwkThumbprint(publicPart));
  const publicJwk: JWK = { ...publicPart, kid, alg, use: 'sig' };
  return {
    kid,
    alg,
    privateKey: (await importJWK({ ...privateJwk, kid }, alg)) as CryptoKey,
    publicKey: (await importJWK(publicJwk, alg)) as CryptoKey,
    publicJwk,
    privateJwk: { ...privateJwk, kid, alg },
  };
}

export async function generateKeyPairJwk(alg = 'ES256'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const { d: _d, ...publicPart } = jwk;
  return { ...jwk, alg, kid: await calculateJwkThumbprint(publicPart) };
}

export interface DevKeys {
  /** Signs the dev issuer's user tokens (npm run token). */
  issuer: KeyPair;
  /** Signs the gateway's context tokens for subgraphs. */
  context: KeyPair;
}

/**
 * Development keys, made once and kept in a file outside git so that `npm start` and `npm run token`
 * (two processes) agree. Production supplies keys through the environment instead (config.ts).
 */
export async function loadOrCreateDevKeys(file: string): Promise<DevKeys> {
  let stored: { issuer: JWK; context: JWK } | undefined;
  try {
    stored = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    stored = undefined;
  }
  if (!stored?.issuer || !stored?.context) {
    const fresh = { issuer: await generateKeyPairJwk(), context: await generateKeyPairJwk() };
    mkdirSync(dirname(file), { recursive: true });
    // Written whole to a temporary file, then linked into place: link fails if another process won
    // the race (then its keys are used), and no reader ever sees a half-written file.
    const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(temporary, JSON.stringify(fresh, null, 2), { mode: 0o600 });
    try {
      linkSync(temporary, file);
      stored = fresh;
    } catch {
      stored = JSON.parse(readFileSync(file, 'utf8'));
    } finally {
      unlinkSync(temporary);
    }
  }
  return { issuer: await keyPairFromPrivateJwk(stored!.issuer), context: await keyPairFromPrivateJwk(stored!.context) };
}
