// The SDK in five steps against a running stack: list pets, create one, read the quota, then watch the
// quota live while spending a little, backing off when rate limited.
//
//   npm start                                     # in another terminal
//   GATEWAY_URL=http://localhost:4000/graphql \
//   TOKEN=$(npm run -s token -- --tenant acme-pets) npx tsx examples/sdk-quickstart.ts
//
// A frontend imports from '@tenancy/sdk' (docs/sdk.md); this file sits in the repository, so it
// imports the folder itself.
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import {
  createClient,
  CreatePetDocument,
  ListPetsDocument,
  QuotaStatusDocument,
  QuotaStatusFeedDocument,
  RateLimitedError,
  type Client,
} from '../sdk/src/index.js';

export interface QuickstartOptions {
  /** The gateway's /graphql URL. */
  url: string;
  token: string;
  /** Quota events to wait for. @default 3 */
  events?: number;
  /** Gives up on the live feed after this long. @default 20 s */
  feedTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface QuickstartSummary {
  tenantPets: number;
  createdPetId: string;
  quota: { used: number; limit: number };
  /** `used` of each quota event received, in order. */
  events: number[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs an operation, waiting as long as the gateway asks whenever the tenant is rate limited. */
async function withBackoff<T>(run: () => Promise<T>, log: (line: string) => void, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof RateLimitedError) || attempt >= attempts) throw error;
      log(`rate limited (${error.reason ?? 'bucket'}), retrying in ${error.retryAfter} s`);
      await sleep(error.retryAfter * 1000);
    }
  }
}

export async function main(options: QuickstartOptions): Promise<QuickstartSummary> {
  const { url, token, events: wanted = 3, feedTimeoutMs = 20_000, log = console.log } = options;
  // Node 20 has no global WebSocket: pass the ws package's (a browser needs nothing).
  const client: Client = createClient({ url, getToken: () => token, webSocketImpl: WebSocket });
  try {
    // 1. A typed query: `data.pets` is typed from sdk/operations/pets.graphql.
    const { data: page } = await withBackoff(() => client.query(ListPetsDocument, { first: 5 }), log);
    log(`pets: ${page.pets.totalCount} in total, first page: ${page.pets.edges.map((edge) => edge.node.name).join(', ')}`);

    // 2. A mutation.
    const { data: created } = await withBackoff(
      () => client.mutate(CreatePetDocument, { input: { name: `Quickstart ${new Date().toISOString().slice(11, 19)}`, species: 'cat' } }),
      log,
    );
    log(`created pet ${created.createPet.id} (${created.createPet.name}, ${created.createPet.species})`);

    // 3. The quota as a query; every response also carries extensions.cost.
    const { data: quota, extensions } = await withBackoff(() => client.query(QuotaStatusDocument), log);
    log(`quota: ${quota.quotaStatus.used} of ${quota.quotaStatus.limit} used on the ${quota.quotaStatus.plan} plan (this read cost ${extensions?.cost?.actualQueryCost ?? '?'})`);

    // 4. The live feed: the current state at once, then an event whenever usage changes. Each event is
    //    followed by a small query, so the next event has something to show.
    const seen: number[] = [];
    const feed = client.subscribe(QuotaStatusFeedDocument, {}, { signal: AbortSignal.timeout(feedTimeoutMs) });
    for await (const { data } of feed) {
      const status = data.quotaStatus;
      seen.push(status.used);
      log(`quota event ${seen.length}: used ${status.used}, remaining ${status.remaining}, burn ${status.burnRatePerMinute.toFixed(1)}/min, last op ${status.recentOperations[0]?.operationName ?? '-'}`);
      if (seen.length >= wanted) break; // leaving the loop unsubscribes
      await withBackoff(() => client.query(ListPetsDocument, { first: 5 }), log);
    }
    if (seen.length < wanted) throw new Error(`received ${seen.length} of ${wanted} quota events within ${feedTimeoutMs} ms`);

    return { tenantPets: page.pets.totalCount, createdPetId: created.createPet.id, quota: { used: quota.quotaStatus.used, limit: quota.quotaStatus.limit }, events: seen };
  } finally {
    await client.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const url = process.env.GATEWAY_URL ?? 'http://localhost:4000/graphql';
  const token = process.env.TOKEN;
  if (!token) {
    console.error('TOKEN is required: TOKEN=$(npm run -s token -- --tenant acme-pets) npx tsx examples/sdk-quickstart.ts');
    process.exit(2);
  }
  main({ url, token }).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
      process.exit(1);
    },
  );
}
