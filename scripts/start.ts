// npm start: the whole stack in one process (or the services named in SERVICES), ready within seconds.
process.env.APOLLO_TELEMETRY_DISABLED ??= '1';
const { loadConfig } = await import('../tenancy/config');
const { startStack } = await import('./stack');
const { issueDevToken } = await import('../tenancy/dev-issuer');
const { defaultSubject } = await import('../tenancy/seed');

let config;
try {
  config = loadConfig();
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
const started = performance.now();
const stack = await startStack(config);
const db = config.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite';
const store = config.REDIS_URL ? 'Redis (REDIS_URL)' : 'in-process store';
stack.logger.info({ urls: stack.urls, database: db, store, ms: Math.round(performance.now() - started) }, 'stack ready');
const lines = Object.entries(stack.urls).map(([name, url]) => `  ${name.padEnd(8)} ${url}`);
console.log(`\nready in ${Math.round(performance.now() - started)} ms (${db}, ${store})\n${lines.join('\n')}`);
if (stack.urls.gateway) {
  const base = stack.urls.gateway.replace(/\/graphql$/, '');
  console.log(`  health   ${base}/healthz  ${base}/readyz  ${base}/metrics`);
  console.log(`  live     ${base}/dashboard  (WebSocket ${base.replace(/^http/, 'ws')}/graphql)`);
  if (config.devIssuer && stack.keys.issuer) {
    // A ready link for the seeded free-plan tenant; the token sits in the fragment, which never reaches a server log.
    const token = await issueDevToken(stack.keys.issuer, {
      tenant: 'acme-pets',
      subject: defaultSubject('acme-pets'),
      roles: ['admin'],
      ttlSeconds: 8 * 3600,
      audience: config.AUTH_AUDIENCE,
    });
    console.log(`\ndashboard for acme-pets (dev token, 8 h):\n  ${base}/dashboard#token=${token}`);
  }
  if (config.devIssuer) console.log(`\ntry:\n  TOKEN=$(npm run -s token -- --tenant acme-pets --roles admin)\n  curl -s ${stack.urls.gateway} -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\\n    -d '{"query":"{ currentTenant { slug plan } pets(first: 5) { edges { node { name species owner { name } tenant { slug } } } } }"}'\n`);
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    stack.logger.info({ signal }, 'shutting down');
    await stack.close();
    process.exit(0);
  });
}
export {};
