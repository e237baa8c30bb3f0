import { createHmac, hkdfSync, KeyObject, randomUUID, sign as cryptoSign, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { jwtVerify, errors as joseErrors, type CryptoKey, type JWK, importJWK } from 'jose';
import { REQUEST_ID, ROLES, type Role, type TenantContext, type Plan, type IsolationTier } from './context';
import { ErrorCode, requestError } from './errors';

/**
 * The gateway-signed tenant context: the only thing a subgraph believes about the caller
 * (DESIGN.md invariant 1). ES256: fast to sign (~50 µs) and verify (~90 µs), and asymmetric, so a
 * subgraph holding the public key cannot mint contexts.
 */
export const CONTEXT_HEADER = 'x-tenant-context';
export const CONTEXT_ALG = 'ES256';
export const CONTEXT_ISSUER = 'urn:tenancy:gateway';
/** The subject of link tokens (the gateway itself). */
const LINK_SUBJECT = 'urn:tenancy:gateway-link';
export const subgraphAudience = (subgraph: string): string => `urn:tenancy:subgraph:${subgraph}`;

type Key = CryptoKey | KeyObject | Uint8Array;

export interface ContextSignerOptions {
  privateKey: Key;
  /** Lifetime of each context token. @default 60 seconds: long enough for one request's fetches. */
  ttlSeconds?: number;
  kid?: string;
}

/**
 * Signs with node:crypto directly: a compact ES256 JWS is a fixed header, a JSON payload and one
 * P-256 signature, and jose's WebCrypto path costs ~200 µs a signature here against ~35 µs for
 * crypto.sign (bench/, docs/BENCHMARKS.md). Subgraphs verify with jose, which checks everything.
 */
export function createContextSigner(options: ContextSignerOptions) {
  const { privateKey, ttlSeconds = 60, kid } = options;
  const key = privateKey instanceof KeyObject ? privateKey : privateKey instanceof Uint8Array ? undefined : KeyObject.from(privateKey);
  if (!key || key.type !== 'private' || key.asymmetricKeyType !== 'ec') throw new Error('the context signer needs a P-256 private key');
  const header = Buffer.from(JSON.stringify({ alg: CONTEXT_ALG, ...(kid ? { kid } : {}) })).toString('base64url');
  const signClaims = (claims: Record<string, unknown>): string => {
    const signingInput = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const signature = cryptoSign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
    return `${signingInput}.${signature.toString('base64url')}`;
  };
  /**
   * @param streamUntil for a subscription: when its stream must end (seconds since the epoch: the
   * caller's own token expiry). The subgraph ends the stream then, whatever the gateway does.
   */
  const sign = async (context: TenantContext, subgraph: string, streamUntil?: number): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    return signClaims({
      tid: context.tenantId,
      tsl: context.tenantSlug,
      roles: context.roles,
      plan: context.plan,
      iso: context.isolation,
      iss: CONTEXT_ISSUER,
      aud: subgraphAudience(subgraph),
      sub: context.subject,
      jti: context.requestId,
      iat: now,
      exp: now + ttlSeconds,
      ...(streamUntil !== undefined ? { sxp: Math.floor(streamUntil) } : {}),
    });
  };
  /**
   * A token for the gateway's own WebSocket link to a subgraph (connection_init): it names no tenant
   * and grants nothing but the right to send subscriptions, each carrying its own tenant context.
   */
  const signLink = (subgraph: string): string => {
    const now = Math.floor(Date.now() / 1000);
    return signClaims({ iss: CONTEXT_ISSUER, aud: subgraphAudience(subgraph), sub: LINK_SUBJECT, lnk: 1, iat: now, exp: now + ttlSeconds });
  };
  return Object.assign(sign, { link: signLink });
}
export type ContextSigner = ReturnType<typeof createContextSigner>;

export interface ContextTokenCacheOptions {
  /** How long one signed token serves the same principal. @default 30_000 ms: half of the default 60 s token lifetime, so a reused token still has 30 s to live */
  reuseMs?: number;
  /** Principals (tenant, user, roles, subgraph) remembered at once. @default 10_000 */
  maxEntries?: number;
}

/**
 * The gateway's context tokens, signed once per principal and subgraph and reused for `reuseMs`
 * (issue 2: an ES256 signature costs ~150 µs of the gateway's thread on this machine, per subgraph
 * per request). A token says who is asking (tenant, plan, isolation, subject, roles) and for which
 * subgraph: everything in it is part of the cache key, so a changed record or role set gets a token
 * of its own. The request id travels in `x-request-id`, not in the token: each token's `jti` is an id
 * of its own. Reuse does not widen what a token grants: it still expires after its own lifetime, and
 * subgraphs keep no replay list, so a token seen by a subgraph was usable for that long anyway.
 */
export function createContextTokenCache(signer: ContextSigner, options: ContextTokenCacheOptions = {}) {
  const { reuseMs = 30_000, maxEntries = 10_000 } = options;
  /** The signature on its way, and the token once it is there (so a request need not await it). */
  const tokens = new LRUCache<string, { signing: Promise<string>; token?: string }>({
    max: maxEntries,
    ttl: reuseMs,
    // The clock at each lookup rather than a 1 ms timer (lru-cache's default), as in tenant-resolution.ts.
    ttlResolution: 0,
  });
  return function tokenFor(context: TenantContext, subgraph: string): string | Promise<string> {
    const key = `${subgraph}\n${context.tenantId}\n${context.tenantSlug}\n${context.plan}\n${context.isolation}\n${context.roles.join(' ')}\n${context.subject}`;
    let entry = tokens.get(key);
    if (!entry) {
      const signing = signer({ ...context, requestId: randomUUID() }, subgraph);
      const created: { signing: Promise<string>; token?: string } = { signing };
      entry = created;
      tokens.set(key, created);
      signing.then(
        (token) => (created.token = token),
        () => tokens.delete(key),
      );
    }
    return entry.token ?? entry.signing;
  };
}
/** A context token for one subgraph: the token itself when it is at hand, else the signature on its way. */
export type ContextTokenSource = (context: TenantContext, subgraph: string) => string | Promise<string>;

export interface ContextVerifierOptions {
  publicKey: Key;
  subgraph: string;
  /** @default 5 seconds of tolerated clock difference between gateway and subgraph hosts */
  clockToleranceSeconds?: number;
  /** Tokens older than this are refused even if exp says otherwise. @default 120 seconds */
  maxTokenAgeSeconds?: number;
}

const PLANS: readonly Plan[] = ['free', 'starter', 'pro', 'enterprise'];
const TIERS: readonly IsolationTier[] = ['shared', 'schema', 'database'];

export function createContextVerifier(options: ContextVerifierOptions) {
  const { publicKey, subgraph, clockToleranceSeconds = 5, maxTokenAgeSeconds = 120 } = options;
  const audience = subgraphAudience(subgraph);
  return async function verify(token: string | undefined | null): Promise<TenantContext> {
    if (!token) throw requestError(ErrorCode.UNAUTHENTICATED, 'Missing gateway context');
    try {
      const { payload } = await jwtVerify(token, publicKey, {
        algorithms: [CONTEXT_ALG],
        issuer: CONTEXT_ISSUER,
        audience,
        clockTolerance: clockToleranceSeconds,
        maxTokenAge: maxTokenAgeSeconds,
        requiredClaims: ['exp', 'iat', 'sub', 'jti', 'tid', 'tsl', 'roles', 'plan'],
      });
      const roles = payload.roles;
      if (
        typeof payload.tid !== 'string' ||
        typeof payload.tsl !== 'string' ||
        !Array.isArray(roles) ||
        !roles.every((r): r is Role => ROLES.includes(r as Role)) ||
        !PLANS.includes(payload.plan as Plan)
      ) {
        throw new Error('malformed context claims');
      }
      if (payload.sxp !== undefined && typeof payload.sxp !== 'number') throw new Error('malformed context claims');
      return {
        ...(typeof payload.sxp === 'number' ? { streamUntil: payload.sxp } : {}),
        tenantId: payload.tid,
        tenantSlug: payload.tsl,
        subject: payload.sub!,
        roles,
        plan: payload.plan as Plan,
        isolation: TIERS.includes(payload.iso as IsolationTier) ? (payload.iso as IsolationTier) : 'shared',
        requestId: payload.jti!,
      };
    } catch (error) {
      const reason = error instanceof joseErrors.JWTExpired ? 'expired' : 'invalid';
      throw requestError(ErrorCode.UNAUTHENTICATED, `Gateway context is ${reason}`);
    }
  };
}
export type ContextVerifier = ReturnType<typeof createContextVerifier>;

/** Verifies the gateway's link token (ContextSigner.link) in a subgraph's WebSocket connection_init. */
export function createLinkVerifier(options: Omit<ContextVerifierOptions, 'maxTokenAgeSeconds'>) {
  const { publicKey, subgraph, clockToleranceSeconds = 5 } = options;
  return async function verifyLink(token: unknown): Promise<boolean> {
    if (typeof token !== 'string' || !token) return false;
    try {
      const { payload } = await jwtVerify(token, publicKey, {
        algorithms: [CONTEXT_ALG],
        issuer: CONTEXT_ISSUER,
        audience: subgraphAudience(subgraph),
        subject: LINK_SUBJECT,
        clockTolerance: clockToleranceSeconds,
        maxTokenAge: 120,
        requiredClaims: ['exp', 'iat', 'lnk'],
      });
      return payload.lnk === 1;
    } catch {
      return false;
    }
  };
}

export const importPrivateJwk = (jwk: JWK) => importJWK(jwk, CONTEXT_ALG) as Promise<CryptoKey>;

/**
 * The request id under a MAC. The context token is signed once per principal and subgraph and reused
 * (createContextTokenCache: signing each request cost the light query several points of throughput,
 * docs/BENCHMARKS.md), so the id of each request rides beside it in `x-tenant-request`:
 * `<request id>.<HMAC-SHA256 over the token's signature and the request id>`, keyed per subgraph
 * (a key derived from the shared secret and the subgraph's audience), so one subgraph's key cannot
 * vouch for a request to another. A subgraph believes a request id only with a valid MAC for the very
 * token it came with; without one it uses the token's own `jti`. About 5 µs a side.
 */
export const REQUEST_BINDING_HEADER = 'x-tenant-request';

/** The shared secret for request bindings, derived from the context signing key where no secret is configured (one key file in development). */
export function requestBindingSecretFrom(privateJwk: JWK): Buffer {
  if (typeof privateJwk.d !== 'string') throw new Error('the context key has no private part to derive a request-binding secret from');
  return Buffer.from(hkdfSync('sha256', Buffer.from(privateJwk.d, 'base64url'), Buffer.alloc(0), 'tenancy context request binding', 32));
}

const subgraphKey = (secret: Uint8Array, subgraph: string) => createHmac('sha256', secret).update(subgraphAudience(subgraph)).digest();
const tokenSignature = (token: string) => token.slice(token.lastIndexOf('.') + 1);
const bindingMac = (key: Buffer, token: string, requestId: string) =>
  createHmac('sha256', key).update(tokenSignature(token)).update('.').update(requestId).digest();

/** The gateway's side: the `x-tenant-request` value for one request's token to one subgraph. */
export function createRequestBinder(secret: Uint8Array) {
  const keys = new Map<string, Buffer>();
  return function bind(token: string, subgraph: string, requestId: string): string {
    let key = keys.get(subgraph);
    if (!key) keys.set(subgraph, (key = subgraphKey(secret, subgraph)));
    return `${requestId}.${bindingMac(key, token, requestId).toString('base64url')}`;
  };
}
export type RequestBinder = ReturnType<typeof createRequestBinder>;

/**
 * A subgraph's side: the request id a binding vouches for, the token's own `jti` when there is no
 * binding, and UNAUTHENTICATED for a binding that does not verify (forged, or made for another token
 * or subgraph).
 */
export function createRequestBindingVerifier(secret: Uint8Array, subgraph: string) {
  const key = subgraphKey(secret, subgraph);
  return function requestIdOf(token: string, binding: string | undefined, tokenJti: string): string {
    if (binding === undefined) return tokenJti;
    const dot = binding.lastIndexOf('.');
    const requestId = binding.slice(0, dot);
    const given = Buffer.from(binding.slice(dot + 1), 'base64url');
    const expected = bindingMac(key, token, requestId);
    if (dot <= 0 || !REQUEST_ID.test(requestId) || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw requestError(ErrorCode.UNAUTHENTICATED, 'Gateway request binding is invalid');
    }
    return requestId;
  };
}
