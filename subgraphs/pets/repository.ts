import type { Queryable } from '../../tenancy/db';

/** A pets row as resolvers see it. */
export interface PetRow {
  id: string;
  tenantId: string;
  name: string;
  species: string;
  ownerId: string | null;
  createdAt: Date;
  /** created_at as PostgreSQL prints it: keeps the microseconds that a JS Date would drop (cursors). */
  createdAtKey: string;
}
export interface UserRef {
  __typename?: 'User';
  id: string;
}
export interface TenantRef {
  __typename?: 'Tenant';
  id: string;
}
export interface PetPage {
  rows: PetRow[];
  hasNextPage: boolean;
  species: string | null;
}

const COLUMNS = `id, tenant_id AS "tenantId", name, species, owner_id AS "ownerId", created_at AS "createdAt", created_at::text AS "createdAtKey"`;

// Every statement names tenant_id = current_tenant_id() as well: RLS would filter anyway (invariant 2),
// the explicit predicate lets the planner use the (tenant_id, ...) indexes.
export async function petsByIds(q: Queryable, ids: readonly string[]): Promise<PetRow[]> {
  const { rows } = await q.query<PetRow>(
    `SELECT ${COLUMNS} FROM pets WHERE tenant_id = current_tenant_id() AND id = ANY($1::uuid[])`,
    [ids],
  );
  return rows;
}

export async function petsByOwners(q: Queryable, ownerIds: readonly string[], perOwner: number): Promise<PetRow[]> {
  const { rows } = await q.query<PetRow>(
    `SELECT ${COLUMNS} FROM (
       SELECT p.*, row_number() OVER (PARTITION BY owner_id ORDER BY created_at DESC, id DESC) AS rank
       FROM pets p WHERE tenant_id = current_tenant_id() AND owner_id = ANY($1::uuid[])
     ) ranked WHERE rank <= $2 ORDER BY created_at DESC, id DESC`,
    [ownerIds, perOwner],
  );
  return rows;
}

export interface PageArgs {
  first: number;
  after: { createdAtKey: string; id: string } | null;
  species: string | null;
}

export async function petPage(q: Queryable, args: PageArgs): Promise<PetPage> {
  const { rows } = await q.query<PetRow>(
    `SELECT ${COLUMNS} FROM pets
     WHERE tenant_id = current_tenant_id()
       AND ($1::text IS NULL OR species = $1)
       AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
     ORDER BY created_at DESC, id DESC
     LIMIT $4`,
    [args.species, args.after?.createdAtKey ?? null, args.after?.id ?? null, args.first + 1],
  );
  return { rows: rows.slice(0, args.first), hasNextPage: rows.length > args.first, species: args.species };
}

export async function countPets(q: Queryable, species: string | null): Promise<number> {
  const { rows } = await q.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM pets WHERE tenant_id = current_tenant_id() AND ($1::text IS NULL OR species = $1)`,
    [species],
  );
  return rows[0]?.count ?? 0;
}

export async function insertPet(q: Queryable, pet: { name: string; species: string; ownerId: string | null }): Promise<PetRow> {
  const { rows } = await q.query<PetRow>(
    `INSERT INTO pets (tenant_id, name, species, owner_id) VALUES (current_tenant_id(), $1, $2, $3) RETURNING ${COLUMNS}`,
    [pet.name, pet.species, pet.ownerId],
  );
  return rows[0]!;
}

export async function updatePet(
  q: Queryable,
  id: string,
  patch: { name?: string; species?: string; ownerId?: string | null },
): Promise<PetRow | null> {
  const { rows } = await q.query<PetRow>(
    `UPDATE pets SET
       name = coalesce($2, name),
       species = coalesce($3, species),
       owner_id = CASE WHEN $4::boolean THEN $5::uuid ELSE owner_id END
     WHERE tenant_id = current_tenant_id() AND id = $1
     RETURNING ${COLUMNS}`,
    [id, patch.name ?? null, patch.species ?? null, patch.ownerId !== undefined, patch.ownerId ?? null],
  );
  return rows[0] ?? null;
}

export async function deletePet(q: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await q.query(`DELETE FROM pets WHERE tenant_id = current_tenant_id() AND id = $1`, [id]);
  return rowCount > 0;
}

export async function userExists(q: Queryable, id: string): Promise<boolean> {
  const { rows } = await q.query(`SELECT 1 FROM users WHERE tenant_id = current_tenant_id() AND id = $1`, [id]);
  return rows.length > 0;
}
