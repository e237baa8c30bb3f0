// Long-lived sessions (graphql-ws connections, HTTP subscription streams) by tenant, checked again
// when their tenant changes anywhere (suspended, re-planned, its persisted-operation policy changed).
import { ErrorCode, ensureGraphQLError } from '../../tenancy/errors';
import type { Credentials, Session } from './websocket';

/** What an open session keeps: how it authenticated, and what that gave (updated in place). */
export interface TenantSession {
  credentials: Credentials;
  session: Session;
}

export interface TenantSessionsOptions<T extends TenantSession> {
  /** Authentication and tenant resolution, as for a new session. */
  authenticate: (credentials: Credentials) => Promise<Session>;
  /** Subscribes to tenant changes (tenant-resolution.ts onChanged); returns the unsubscribe. */
  onTenantChanged?: (listener: (slug: string) => void) => () => void;
  /** Ends a session whose tenant may no longer be used by it. */
  end(item: T, refusal: { code: ErrorCode.FORBIDDEN | ErrorCode.UNAUTHENTICATED; message: string }): void;
}

export function createTenantSessions<T extends TenantSession>(options: TenantSessionsOptions<T>) {
  const { authenticate, end } = options;
  const bySlug = new Map<string, Set<T>>();

  const stopWatching = options.onTenantChanged?.(async (slug) => {
    const open = bySlug.get(slug);
    if (!open) return;
    for (const item of [...open]) {
      try {
        const fresh = await authenticate(item.credentials);
        // Limits are shared by reference with the session's slot renewals (subscriptions.ts).
        Object.assign(item.session.limits, fresh.limits);
        item.session.persistedOperations = fresh.persistedOperations;
      } catch (thrown) {
        const error = ensureGraphQLError(thrown);
        const code = error.extensions.code;
        // Anything else (the registry briefly away) leaves the session as it was.
        if (code === ErrorCode.FORBIDDEN || code === ErrorCode.UNAUTHENTICATED) end(item, { code, message: error.message });
      }
    }
  });

  return {
    /** Open sessions of one tenant. */
    countOf(slug: string): number {
      return bySlug.get(slug)?.size ?? 0;
    },
    add(item: T): void {
      const slug = item.session.tenant.tenantSlug;
      let open = bySlug.get(slug);
      if (!open) bySlug.set(slug, (open = new Set()));
      open.add(item);
    },
    delete(item: T): void {
      const slug = item.session.tenant.tenantSlug;
      const open = bySlug.get(slug);
      open?.delete(item);
      if (open?.size === 0) bySlug.delete(slug);
    },
    /** Open sessions of every tenant. */
    get size(): number {
      let count = 0;
      for (const open of bySlug.values()) count += open.size;
      return count;
    },
    close(): void {
      stopWatching?.();
    },
  };
}
