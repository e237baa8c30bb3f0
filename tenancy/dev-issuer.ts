import { SignJWT } from 'jose';
import { DEV_ISSUER } from '../gateway/src/auth';
import type { KeyPair } from './keys';

export interface DevTokenClaims {
  tenant: string;
  subject: string;
  roles: string[];
  ttlSeconds: number;
  audience: string;
}

/** A user token from the local dev issuer, shaped like an OIDC provider's (CONTRACT.md, Tokens). */
export function issueDevToken(issuer: KeyPair, claims: DevTokenClaims): Promise<string> {
  return new SignJWT({ tenant_id: claims.tenant, roles: claims.roles })
    .setProtectedHeader({ alg: issuer.alg, kid: issuer.kid, typ: 'JWT' })
    .setIssuer(DEV_ISSUER)
    .setAudience(claims.audience)
    .setSubject(claims.subject)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + claims.ttlSeconds)
    .sign(issuer.privateKey);
}
