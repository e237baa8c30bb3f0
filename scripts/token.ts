// npm run token -- --tenant SLUG [--sub ID] [--roles r1,r2] [--ttl SECONDS] [--platform-admin]
// Prints a JWT from the local dev issuer, which the local stack accepts while AUTH_DEV_ISSUER is on.
import { parseArgs } from 'node:util';
import { loadConfig } from '../tenancy/config';
import { ROLES } from '../tenancy/context';
import { loadOrCreateDevKeys } from '../tenancy/keys';
import { defaultSubject } from '../tenancy/seed';
import { issueDevToken } from '../tenancy/dev-issuer';

const usage = 'usage: npm run token -- --tenant SLUG [--sub ID] [--roles admin,member,viewer] [--ttl SECONDS] [--platform-admin]';
let parsed;
try {
  parsed = parseArgs({
    options: {
      tenant: { type: 'string' },
      sub: { type: 'string' },
      roles: { type: 'string', default: 'admin' },
      ttl: { type: 'string', default: '3600' },
      'platform-admin': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
} catch (error) {
  console.error(`npm run token: ${(error as Error).message}\n${usage}`);
  process.exit(2);
}
const { values } = parsed;
if (values.help) {
  console.log(usage);
  process.exit(0);
}

function fail(message: string): never {
  console.error(`npm run token: ${message}\n${usage}`);
  process.exit(2);
}

const config = loadConfig();
if (!config.devIssuer) fail('the dev issuer is disabled (AUTH_DEV_ISSUER=false or NODE_ENV=production)');
if (!values.tenant) fail('--tenant is required');
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0 || ttl > 7 * 24 * 3600) fail('--ttl must be a whole number of seconds, at most 604800');
const roles = values.roles!.split(',').map((r) => r.trim()).filter(Boolean);
if (values['platform-admin'] && !roles.includes('platform-admin')) roles.push('platform-admin');
// The gateway would refuse a token with any other role: say so here rather than print a useless token.
const unknown = roles.filter((role) => !(ROLES as readonly string[]).includes(role));
if (unknown.length > 0) fail(`unknown role ${unknown.join(', ')}: roles are ${ROLES.join(', ')}`);
if (roles.length === 0) fail('--roles needs at least one role');

const keys = await loadOrCreateDevKeys(config.devKeysFile);
console.log(
  await issueDevToken(keys.issuer, {
    tenant: values.tenant,
    subject: values.sub ?? defaultSubject(values.tenant),
    roles,
    ttlSeconds: ttl,
    audience: config.AUTH_AUDIENCE,
  }),
);
