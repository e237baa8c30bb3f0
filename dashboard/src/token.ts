// Private to the dashboard: where the page's token comes from and what it says.

const STORAGE_KEY = 'tenancy-graph.dashboard.token';

/** What the page shows about a token. Read without verifying: the gateway verifies, the page only displays. */
export interface TokenClaims {
  tenant?: string;
  subject?: string;
  /** ms since the epoch */
  expiresAt?: number;
}

/**
 * Takes a token from the URL hash (`#token=...`, so a start script can print a ready link), then drops
 * it from the address bar and the history entry: a token left in the URL ends up in screenshots,
 * bookmarks and shared links. The hash never reaches the server, so no access log holds it either.
 */
export function takeTokenFromHash(location: Location, history: History): string | undefined {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = params.get('token')?.trim();
  if (!token) return undefined;
  params.delete('token');
  const rest = params.toString();
  history.replaceState(history.state, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
  return token;
}

// sessionStorage: the token lives as long as the tab, and is gone when it closes. Storage may be
// disabled (privacy settings, sandboxed frames): the page then works without remembering.
export function loadToken(): string | undefined {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function saveToken(token: string | undefined): void {
  try {
    if (token) sessionStorage.setItem(STORAGE_KEY, token);
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // not remembered; nothing else depends on it
  }
}

/** Accepts a pasted "Bearer eyJ..." as well as the bare JWT. */
export function normaliseToken(input: string): string | undefined {
  const token = input.trim().replace(/^bearer\s+/i, '');
  return token || undefined;
}

export function decodeClaims(token: string): TokenClaims | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    return {
      tenant: typeof claims.tenant_id === 'string' ? claims.tenant_id : undefined,
      subject: typeof claims.sub === 'string' ? claims.sub : undefined,
      expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : undefined,
    };
  } catch {
    return undefined;
  }
}
