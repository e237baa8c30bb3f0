import type { AdminConnection } from './db';

/** CONTRACT.md's demo tenants: each with an admin user, a member and a few pets. Idempotent. */
export const DEMO_TENANTS = [
  {
    slug: 'acme-pets',
    name: 'Acme Pets',
    plan: 'free',
    users: [
      { email: 'admin@acme-pets.example', name: 'Ada Acme', role: 'admin' },
      { email: 'member@acme-pets.example', name: 'Max Acme', role: 'member' },
    ],
    pets: [
      { name: 'Rex', species: 'dog' },
      { name: 'Tom', species: 'cat' },
      { name: 'Nemo', species: 'fish' },
      { name: 'Bella', species: 'dog' },
    ],
  },
  {
    slug: 'fluffy-friends',
    name: 'Fluffy Friends',
    plan: 'pro',
    users: [
      { email: 'admin@fluffy-friends.example', name: 'Fiona Fluffy', role: 'admin' },
      { email: 'member@fluffy-friends.example', name: 'Finn Fluffy', role: 'member' },
    ],
    pets: [
      { name: 'Whiskers', species: 'cat' },
      { name: 'Hoppy', species: 'rabbit' },
      { name: 'Polly', species: 'parrot' },
    ],
  },
] as const;

/** The subject `npm run token` puts in a token by default: the tenant's seeded admin. */
export const defaultSubject = (slug: string): string => `admin@${slug}.example`;

export async function seed(admin: AdminConnection): Promise<void> {
  await admin.exec('BEGIN');
  try {
    // The owner may not be a superuser, so the seed obeys the same RLS policies as the app.
    await admin.query(`SELECT set_config('app.platform_admin', 'on', true)`);
    for (const tenant of DEMO_TENANTS) {
      await admin.query(
        `INSERT INTO tenants (slug, name, plan) VALUES ($1, $2, $3) ON CONFLICT (slug) DO NOTHING`,
        [tenant.slug, tenant.name, tenant.plan],
      );
      const [row] = await admin.query<{ id: string }>('SELECT id FROM tenants WHERE slug = $1', [tenant.slug]);
      await admin.query(`SELECT set_config('app.tenant_id', $1, true)`, [row!.id]);
      for (const user of tenant.users) {
        await admin.query(
          `INSERT INTO users (tenant_id, email, name, role) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, email) DO NOTHING`,
          [row!.id, user.email, user.name, user.role],
        );
      }
      const [{ count } = { count: 0 }] = await admin.query<{ count: number }>(
        'SELECT count(*)::int AS count FROM pets WHERE tenant_id = $1',
        [row!.id],
      );
      if (count === 0) {
        const [owner] = await admin.query<{ id: string }>('SELECT id FROM users WHERE tenant_id = $1 AND email = $2', [
          row!.id,
          tenant.users[0].email,
        ]);
        for (const pet of tenant.pets) {
          await admin.query('INSERT INTO pets (tenant_id, name, species, owner_id) VALUES ($1, $2, $3, $4)', [
            row!.id,
            pet.name,
            pet.species,
            owner!.id,
          ]);
        }
      }
    }
    await admin.exec('COMMIT');
  } catch (error) {
    await admin.exec('ROLLBACK');
    throw error;
  }
}
