import DataLoader from 'dataloader';
import { isUuid, type Queryable } from './db';

/**
 * Per-request DataLoader over a tenant-scoped transaction: every key of one tick becomes one
 * `= ANY($1)` statement under RLS. Created per request (never shared), so its memo cannot answer
 * one tenant with another's row (invariant 4). Keys that are not uuids never reach SQL: they are
 * simply not found, exactly like an id that does not exist.
 */
export function byIdLoader<Row extends { id: string }>(
  withTenant: <T>(fn: (q: Queryable) => Promise<T>) => Promise<T>,
  load: (q: Queryable, ids: string[]) => Promise<Row[]>,
): DataLoader<string, Row | null> {
  return new DataLoader<string, Row | null>(
    async (keys) => {
      const ids = keys.filter(isUuid).map((k) => k.toLowerCase());
      const rows = ids.length ? await withTenant((q) => load(q, ids)) : [];
      const byId = new Map(rows.map((row) => [row.id, row]));
      return keys.map((key) => byId.get(key.toLowerCase()) ?? null);
    },
    { maxBatchSize: 1000 },
  );
}

/** Per-request loader of a parent's children (one statement for all parents of a tick). */
export function childrenLoader<Row>(
  withTenant: <T>(fn: (q: Queryable) => Promise<T>) => Promise<T>,
  load: (q: Queryable, parentIds: string[]) => Promise<Row[]>,
  parentOf: (row: Row) => string | null,
): DataLoader<string, Row[]> {
  return new DataLoader<string, Row[]>(
    async (keys) => {
      const ids = keys.filter(isUuid).map((k) => k.toLowerCase());
      const rows = ids.length ? await withTenant((q) => load(q, ids)) : [];
      const groups = new Map<string, Row[]>();
      for (const row of rows) {
        const parent = parentOf(row);
        if (parent === null) continue;
        const list = groups.get(parent) ?? [];
        list.push(row);
        groups.set(parent, list);
      }
      return keys.map((key) => groups.get(key.toLowerCase()) ?? []);
    },
    { maxBatchSize: 1000 },
  );
}
