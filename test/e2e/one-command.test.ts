// Issue 2's "done when", as a new user runs it: `npm start` (embedded PostgreSQL and store, as on a
// fresh machine), `npm run token -- --tenant SLUG --roles admin`, then one query through the gateway
// for currentTenant and pets with owner and tenant: each tenant's token sees that tenant's data only.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let child: ChildProcess;
let gateway: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  const [gatewayPort, pets, tenants, usage] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const { DATABASE_URL: _db, APP_DATABASE_URL: _app, REDIS_URL: _redis, ...rest } = process.env;
  env = {
    ...rest,
    NODE_ENV: 'development',
    GATEWAY_PORT: String(gatewayPort),
    PETS_PORT: String(pets),
    TENANTS_PORT: String(tenants),
    USAGE_PORT: String(usage),
    DEV_KEYS_FILE: join(mkdtempSync(join(tmpdir(), 'one-command-')), 'dev-keys.json'),
    LOG_LEVEL: 'warn',
  };
  child = spawn('npm', ['start'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start was not ready within 60 s:\n${output}`)), 60_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (/ready in \d+ ms/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.on('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  gateway = `http://127.0.0.1:${gatewayPort}/graphql`;
}, 90_000);

afterAll(async () => {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
});

const token = async (...args: string[]) => (await run('npm', ['run', '-s', 'token', '--', ...args], { cwd: root, env })).stdout.trim();

describe('npm start, npm run token, one query', () => {
  it("gives each seeded tenant's admin that tenant's data only, assembled across the subgraphs", async () => {
    const seen = new Map<string, string[]>();
    for (const slug of ['acme-pets', 'fluffy-friends']) {
      const response = await fetch(gateway, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token('--tenant', slug, '--roles', 'admin')}` },
        body: JSON.stringify({ query: `{ currentTenant { id slug } pets(first: 50) { edges { node { id name owner { email } tenant { slug } } } } }` }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as any;
      expect(body.errors).toBeUndefined();
      expect(body.data.currentTenant.slug).toBe(slug);
      const pets = body.data.pets.edges.map((edge: any) => edge.node);
      expect(pets.length).toBeGreaterThan(0);
      for (const pet of pets) {
        expect(pet.tenant.slug).toBe(slug);
        expect(pet.owner.email).toMatch(new RegExp(`@${slug}\\.example$`));
      }
      seen.set(slug, pets.map((pet: any) => pet.id));
    }
    const [acme, fluffy] = [seen.get('acme-pets')!, seen.get('fluffy-friends')!];
    expect(acme.filter((id) => fluffy.includes(id))).toEqual([]);
  });

  it('refuses to print a token the gateway would refuse', async () => {
    const failure = await token('--tenant', 'acme-pets', '--roles', 'root').then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toContain('unknown role root');
  });
});
