// The subgraphs in a process of their own, for the noisy neighbour's split topology
// (BENCH_NOISY_TOPOLOGY=split): the bench process runs only the gateway, as a deployment does
// (docker-compose.yml runs each service in its own container), so a flood of requests the gateway
// refuses shares no thread with the subgraph and database work of the answers other tenants get.
// Started with fork(): its configuration comes in the environment (SERVICES=pets,tenants,usage, the
// bench's scratch database and Redis prefix), it answers on the IPC channel:
//   → { type: 'ready', urls }             once the subgraphs listen
//   ← { type: 'cpu', id } → { type: 'cpu', id, micros, elu }   its CPU time and event-loop busy time so far
//   ← { type: 'stop' }                    closes the stack and exits
import { performance } from 'node:perf_hooks';
import { startStack } from '../scripts/stack';
import { loadConfig } from '../tenancy/config';

export type SubgraphsWorkerMessage =
  | { type: 'ready'; urls: Record<string, string> }
  | { type: 'cpu'; id: number; micros: number; eluActiveMs: number; eluIdleMs: number }
  | { type: 'error'; message: string };
export type SubgraphsParentMessage = { type: 'cpu'; id: number } | { type: 'stop' };

const reply = (message: SubgraphsWorkerMessage) => process.send!(message);

async function main() {
  process.env.APOLLO_TELEMETRY_DISABLED = '1';
  const config = loadConfig(process.env);
  const stack = await startStack(config, { storePrefix: process.env.BENCH_STORE_PREFIX });
  const urls = Object.fromEntries(Object.entries(stack.urls).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  process.on('message', (message: SubgraphsParentMessage) => {
    if (message.type === 'cpu') {
      const used = process.cpuUsage();
      const elu = performance.eventLoopUtilization();
      reply({ type: 'cpu', id: message.id, micros: used.user + used.system, eluActiveMs: elu.active, eluIdleMs: elu.idle });
    } else if (message.type === 'stop') {
      void stack.close().finally(() => process.exit(0));
    }
  });
  reply({ type: 'ready', urls });
}

main().catch((error: unknown) => {
  reply({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
