import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  errors as joseErrors,
  jwtVerify,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';
import { LRUCache } from 'lru-cache';
import { GraphQLError } from 'graphql';
import { ROLES, type Role } from '../../tenancy/context';
import { ErrorCode, requestError } from '../../tenancy/errors';

/** The claims a verified user token gives the gateway (CONTRACT.md, Tokens). */
export interface UserClaims {
  subject: string;
  tenantSlug: string;
  roles: Role[];
  /** Seconds since the epoch. */
  expiresAt: number;
  issuer: string;
}

export const DEV_ISSUER = 'urn:tenancy:dev-issuer';

export interface AuthOptions {
  /** Issuer of the remote OIDC provider (checked against `iss`). */
  issuer: string;
  /** Audience this API accepts (checked against `aud`). */
  audience: string;
  /** Remote JWKS; keys are cached and refetched when a token names an unknown kid (rotation). */
  jwksUrl?: string;
  /** Public JWK of the local dev issuer; tokens with iss = DEV_ISSUER are checked against it. */
  devPublicJwk?: JWK;
  /** Asymmetric algorithms only: HS* would let anyone holding the public key forge tokens. */
  algorithms: string[];
  /** @default 30 seconds of tolerated clock difference on exp / nbf / iat */
  clockSkewSeconds?: number;
  /** Least time between two JWKS refetches caused by unknown key ids. @default 30_000 ms */
  jwksCooldownMs?: number;
  /** Verified tokens remembered until they expire: verifying costs ~90 µs, a lookup ~1 µs. 0 turns it off. @default 10_000 */
  cacheSize?: number;
}

const unauthenticated = (message: string) => requestError(ErrorCode.UNAUTHENTICATED, message);
const SYMMETRIC = /^HS/;

export function createAuthenticator(options: AuthOptions) {
  const { issuer, audience, jwksUrl, devPublicJwk, clockSkewSeconds = 30, cacheSize = 10_000, jwksCooldownMs = 30_000 } = options;
  const algorithms = options.algorithms.filter((alg) => !SYMMETRIC.test(alg) && alg !== 'none');
  const remote = jwksUrl
    ? createRemoteJWKSet(new URL(jwksUrl), { cacheMaxAge: 10 * 60_000, cooldownDuration: jwksCooldownMs, timeoutDuration: 5_000 })
    : undefined;
  const dev = devPublicJwk ? createLocalJWKSet({ keys: [devPublicJwk] }) : undefined;
  const keySets = new Map<string, JWTVerifyGetKey>();
  if (remote) keySets.set(issuer, remote);
  if (dev) keySets.set(DEV_ISSUER, dev);
  if (!remote && !dev) throw new Error('authentication needs AUTH_JWKS_URL or the dev issuer');

  // Each entry lives until its token expires (set below). The clock is read at each lookup: lru-cache's
  // default (1 ms resolution) caches it behind a timer that some request starts nearly every
  // millisecond under load, as in tenant-resolution.ts.
  const verified = cacheSize > 0 ? new LRUCache<string, UserClaims>({ max: cacheSize, ttlResolution: 0 }) : undefined;

  async function verify(token: string): Promise<UserClaims> {
    let unverifiedIssuer: string | undefined;
    try {
      unverifiedIssuer = decodeJwt(token).iss;
    } catch {
      throw unauthenticated('Token is malformed');
    }
    const keys = unverifiedIssuer ? keySets.get(unverifiedIssuer) : undefined;
    if (!keys || !unverifiedIssuer) throw unauthenticated('Token issuer is not trusted');
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: unverifiedIssuer,
        audience,
        algorithms,
        clockTolerance: clockSkewSeconds,
        requiredClaims: ['iss', 'aud', 'exp', 'sub', 'tenant_id', 'roles'],
      });
      const roles = payload.roles;
      if (typeof payload.tenant_id !== 'string' || payload.tenant_id.length === 0 || payload.tenant_id.length > 100) {
        throw unauthenticated('Token has no valid tenant_id claim');
      }
      if (!Array.isArray(roles) || roles.length === 0 || !roles.every((r): r is Role => ROLES.includes(r as Role))) {
        throw unauthenticated(`Token roles must be a non-empty array of ${ROLES.join(', ')}`);
      }
      return { subject: payload.sub!, tenantSlug: payload.tenant_id, roles, expiresAt: payload.exp!, issuer: unverifiedIssuer };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthenticated('Token has expired');
      if (error instanceof joseErrors.JOSEError) throw unauthenticated(`Token is not valid (${error.code})`);
      if (error instanceof GraphQLError) throw error;
      // The issuer's JWKS could not be fetched: the caller may retry, the token may be fine.
      throw requestError(ErrorCode.SERVICE_UNAVAILABLE, 'Token keys are unavailable, try again');
    }
  }

  const tokenOf = (authorization: string): string => {
    const trimmed = authorization.trim();
    const match = /^Bearer\s+(\S+)$/i.exec(trimmed);
    return match ? match[1]! : trimmed;
  };

  return {
    /**
     * The claims of a token verified before and not expired, without a promise (the common case of a
     * request: no await on its path); undefined when only `authenticate` can tell, errors included.
     */
    known(authorization: string | undefined | null): UserClaims | undefined {
      if (!authorization || !verified) return undefined;
      const cached = verified.get(tokenOf(authorization));
      return cached && cached.expiresAt + clockSkewSeconds > Date.now() / 1000 ? cached : undefined;
    },

    /** Verifies `Authorization: Bearer <jwt>` (or a bare token, as graphql-ws connectionParams carry it). */
    async authenticate(authorization: string | undefined | null): Promise<UserClaims> {
      if (!authorization) throw unauthenticated('Missing bearer token');
      const token = tokenOf(authorization);
      if (token.length > 8192 || !/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) throw unauthenticated('Token is malformed');
      const cached = verified?.get(token);
      const now = Date.now() / 1000;
      if (cached) {
        if (cached.expiresAt + clockSkewSeconds > now) return cached;
        verified?.delete(token);
        throw unauthenticated('Token has expired');
      }
      const claims = await verify(token);
      verified?.set(token, claims, { ttl: Math.max(1, (claims.expiresAt + clockSkewSeconds - now) * 1000) });
      return claims;
    },
  };
}
export type Authenticator = ReturnType<typeof createAuthenticator>;
