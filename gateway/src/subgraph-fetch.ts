import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { CONTEXT_HEADER, REQUEST_BINDING_HEADER, type ContextTokenSource, type RequestBinder } from '../../tenancy/context-token';
import type { PlanLimits, TenantContext } from '../../tenancy/context';
import type { OperationState } from './admission';

/** The gateway's per-request context, as Apollo Server and the data sources see it. */
export interface GatewayContext {
  tenant: TenantContext;
  /** The tenant's plan limits, from the cached registry record (admission). */
  limits: PlanLimits;
  /**
   * The signed context token for one subgraph (from createContextTokenCache: reused across requests of
   * one principal), or the signature on its way.
   */
  contextTokenFor(subgraph: string): string | Promise<string>;
  startedAt: number;
  /** Admission's state of this operation, between its hooks (admission.ts). */
  admission?: OperationState;
}

export function createGatewayContext(tenant: TenantContext, limits: PlanLimits, tokenFor: ContextTokenSource): GatewayContext {
  // One token per subgraph per request, whatever `tokenFor` does (a signer signs on every call).
  const tokens = new Map<string, string | Promise<string>>();
  return {
    tenant,
    limits,
    startedAt: performance.now(),
    contextTokenFor(subgraph) {
      let token = tokens.get(subgraph);
      if (!token) {
        token = tokenFor(tenant, subgraph);
        tokens.set(subgraph, token);
      }
      return token;
    },
  };
}

/**
 * Every subgraph fetch carries the gateway-signed tenant context for that subgraph's audience, never
 * a bare tenant header (DESIGN.md invariant 1), and the request's id under a MAC bound to that token.
 */
export class TenantContextDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    private readonly subgraph: string,
    url: string,
    private readonly bind: RequestBinder,
  ) {
    // Node's own fetch (undici, keep-alive pool per subgraph) instead of the default make-fetch-happen,
    // whose agent-base reads a fresh Error's stack on every request to tell http from https: with
    // tsx's source-mapped stack traces that alone cost 10-25 us per fetch (docs/BENCHMARKS.md).
    super({ url, fetcher: fetch });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void | Promise<void> {
    const headers = request.http?.headers;
    if (!headers) return;
    if (!('tenant' in context) || !context.tenant) {
      // Health checks and schema loading carry no tenant; subgraphs refuse them except _service.
      return;
    }
    const { requestId } = context.tenant;
    const send = (token: string) => {
      headers.set(CONTEXT_HEADER, token);
      // The request id rides beside the (reused) token, under a MAC bound to it: subgraphs log and audit with it.
      headers.set(REQUEST_BINDING_HEADER, this.bind(token, this.subgraph, requestId));
    };
    // Without a promise when the token is at hand (a principal's every request after its first).
    const token = context.contextTokenFor(this.subgraph);
    if (typeof token === 'string') send(token);
    else return token.then(send);
  }
}
