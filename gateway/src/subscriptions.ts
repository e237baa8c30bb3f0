import { randomUUID } from 'node:crypto';
import { Supergraph, operationFromDocument } from '@apollo/federation-internals';
import { buildOperationContext, executeQueryPlan, type GraphQLDataSource, type ServiceMap } from '@apollo/gateway';
import { QueryPlanner, type FetchNode, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import { Repeater, SlidingBuffer } from '@repeaterjs/repeater';
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  print,
  Kind,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { LRUCache } from 'lru-cache';
import { createDocumentCache } from '../../tenancy/documents';
import WebSocket from 'ws';
import type { PlanLimits, TenantContext } from '../../tenancy/context';
import { CONTEXT_HEADER, type ContextSigner } from '../../tenancy/context-token';
import { ErrorCode, graphQLError, maskFormattedError, requestError } from '../../tenancy/errors';
import type { Logger } from '../../tenancy/logger';
import type { Admitter } from './admission';
import { AdmissionUnavailableError } from './resilient-admission';
import type { CostModel } from './cost';
import { createGatewayContext, type GatewayContext } from './subgraph-fetch';

export interface SubscriptionEngineOptions {
  supergraphSdl: string;
  /** Routing URL (http) of each subgraph's /graphql; its WebSocket is the same URL with ws:. */
  subgraphUrls: Record<string, string>;
  /** The gateway's data sources, for the entity fetches of each event (the plan's `rest`). */
  serviceMap: () => ServiceMap;
  sign: ContextSigner;
  costModel: CostModel;
  admitter: Admitter;
  logger: Logger;
  /** Called once per subscription admitted, with what it was charged (usage metering). */
  onStarted?: (tenant: TenantContext, started: { operationName: string | null; cost: number }) => void;
  /**
   * Root subscription fields whose every event is the whole current state (not a change): a subscriber
   * joining an existing group of one of these gets the group's latest event at once. For other fields
   * a late subscriber only gets the events after it joined. @default ['Subscription.quotaStatus']
   */
  stateFields?: string[];
  /** Delay before re-subscribing upstream after a subgraph went away; doubles up to the maximum. @default { initialMs: 250, maxMs: 5_000 } */
  retry?: { initialMs?: number; maxMs?: number };
}

/** One subscription as a caller asked for it, already authenticated and resolved to a tenant. */
export interface SubscriptionRequest {
  tenant: TenantContext;
  limits: PlanLimits;
  document: DocumentNode;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  /** The caller's token expiry (ms since the epoch): the stream never runs past it. */
  expiresAt: number;
}

interface Planned {
  plan: QueryPlan;
  primary: FetchNode;
  rest?: PlanNode;
  operation: OperationDefinitionNode;
  /** The operation and its fragments, and the executor's view of them (built once per plan). */
  document: DocumentNode;
  operationContext: ReturnType<typeof buildOperationContext>;
}

/** The fetch node that stands for "the event the subgraph just sent". */
const EVENT_SOURCE = '__subscription_event__';

/**
 * Subscriptions through the gateway (issue 4). @apollo/gateway refuses to execute them, but its query
 * planner plans them (DESIGN.md, known traps): a SubscriptionNode's `primary` fetch goes to the
 * subgraph that owns the root field, over one multiplexed graphql-ws link per subgraph, with the
 * caller's signed context on each subscription; each event then runs through the gateway's own
 * executor with the plan's `rest` (entity fetches to the other subgraphs, signed as for any request)
 * and the usual result shaping. The event itself is fed to the executor as the answer of a fetch node
 * served by a stand-in data source, so shaping, @inaccessible, aliases and errors behave exactly as for
 * a query.
 */
export function createSubscriptionEngine(options: SubscriptionEngineOptions) {
  const { supergraphSdl, subgraphUrls, sign, costModel, admitter, logger, onStarted } = options;
  const retryInitialMs = options.retry?.initialMs ?? 250;
  const stateFields = new Set(options.stateFields ?? ['Subscription.quotaStatus']);
  const retryMaxMs = options.retry?.maxMs ?? 5_000;
  const supergraph = Supergraph.build(supergraphSdl);
  const apiSchema = supergraph.apiSchema();
  const schema: GraphQLSchema = apiSchema.toGraphQLJSSchema();
  const supergraphSchema = supergraph.schema.toGraphQLJSSchema();
  const planner = new QueryPlanner(supergraph);
  const plans = new LRUCache<string, Planned>({ max: 1_000 });
  const documents = createDocumentCache(schema);
  /** Validation errors of documents checked before (a document from `parse` is shared, so this hits). */
  const validated = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  const sources = new WeakMap<DocumentNode, string>();
  const links = new Map<string, Client>();
  let active = 0;

  /** One graphql-ws connection per subgraph, opened on first use, closed when idle. */
  function link(subgraph: string): Client {
    let client = links.get(subgraph);
    if (!client) {
      const url = subgraphUrls[subgraph];
      if (!url) throw new Error(`no routing URL for subgraph ${subgraph}`);
      let pongTimer: NodeJS.Timeout | undefined;
      let linkSocket: WebSocket | undefined;
      client = createClient({
        url: url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        lazy: true,
        lazyCloseTimeout: 1_000,
        keepAlive: 10_000,
        // A link that dies without closing (a host gone) is noticed by a missing pong, not by the OS
        // minutes later: close it, and its subscriptions re-subscribe on a new one.
        on: {
          ping(received) {
            if (received) return;
            clearTimeout(pongTimer);
            pongTimer = setTimeout(() => {
              if (linkSocket?.readyState === WebSocket.OPEN) linkSocket.close(4408, 'Pong timeout');
            }, 5_000);
          },
          pong(received) {
            if (received) clearTimeout(pongTimer);
          },
          connected(socket) {
            linkSocket = socket as WebSocket;
          },
          closed() {
            clearTimeout(pongTimer);
            linkSocket = undefined;
          },
        },
        // Re-subscribing is ours to do (each time with a freshly signed context), not the client's.
        retryAttempts: 0,
        connectionParams: () => ({ link: sign.link(subgraph) }),
      });
      links.set(subgraph, client);
    }
    return client;
  }

  function plan(document: DocumentNode, operation: OperationDefinitionNode, operationName: string | undefined): Planned {
    const key = `${operationName ?? ''}\u0000${sources.get(document) ?? print(document)}`;
    let planned = plans.get(key);
    if (!planned) {
      const queryPlan = planner.buildQueryPlan(operationFromDocument(apiSchema, document, { operationName }));
      const node = queryPlan.node;
      if (node?.kind !== 'Subscription') throw new Error(`expected a subscription plan, got ${node?.kind}`);
      const operationDocument: DocumentNode = { kind: Kind.DOCUMENT, definitions: [operation, ...document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION)] };
      planned = {
        plan: queryPlan,
        primary: node.primary,
        rest: node.rest,
        operation,
        document: operationDocument,
        operationContext: buildOperationContext({ schema, operationDocument, operationName: operation.name?.value }),
      };
      plans.set(key, planned);
    }
    return planned;
  }

  /**
   * Checks a document is a valid subscription of the API schema, with valid variables. Errors are
   * returned, not thrown: they go to the client as the subscription's error message.
   */
  function check(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined) {
    let validationErrors = validated.get(document);
    if (!validationErrors) {
      validationErrors = validate(schema, document);
      validated.set(document, validationErrors);
    }
    if (validationErrors.length > 0) {
      return { errors: validationErrors.map((e) => graphQLError(ErrorCode.BAD_USER_INPUT, e.message, { extensions: { reason: 'GRAPHQL_VALIDATION_FAILED' } })) };
    }
    const operation = getOperationAST(document, operationName ?? undefined);
    if (!operation) return { errors: [graphQLError(ErrorCode.BAD_USER_INPUT, operationName ? `Unknown operation "${operationName}"` : 'The document must name the operation to run')] };
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
    if (coerced.errors) return { errors: coerced.errors.map((e) => graphQLError(ErrorCode.BAD_USER_INPUT, e.message)) };
    return { operation, variables: coerced.coerced };
  }

  /**
   * Admits and starts one subscription. Throws the GraphQL error of a refusal (validation, cost,
   * concurrency, bucket, monthly quota); otherwise the stream, which holds one of the tenant's
   * concurrency slots until it ends.
   */
  async function start(request: SubscriptionRequest): Promise<AsyncGenerator<ExecutionResult>> {
    const { tenant, limits, document } = request;
    const checked = check(document, request.operationName, request.variables);
    if (checked.errors) throw checked.errors[0];
    const { operation, variables } = checked;
    if (operation.operation !== 'subscription') throw requestError(ErrorCode.BAD_USER_INPUT, 'Not a subscription');
    const operationName = operation.name?.value ?? null;
    const cost = costModel.requested(document, operationName, variables);
    const slotId = randomUUID();
    try {
      await admitter.admit(tenant, limits, cost, slotId);
    } catch (error) {
      // Fail-closed mode with Redis away: as for HTTP operations, nothing starts that could not be counted.
      if (error instanceof AdmissionUnavailableError) throw requestError(ErrorCode.SERVICE_UNAVAILABLE, 'Admission is unavailable, try again shortly', { retryAfter: 1 });
      throw error;
    }
    let planned: Planned;
    try {
      planned = plan(document, operation, operationName ?? undefined);
    } catch (error) {
      await admitter.release(tenant, slotId);
      throw error;
    }
    onStarted?.(tenant, { operationName, cost });
    return stream(request, planned, variables, slotId);
  }

  /**
   * Identical subscriptions of one principal share one upstream subscription and one shaped result per
   * event: same tenant, subject and roles (so the same authorisation and the same answers), same
   * document, operation and variables. A thousand tabs of one user's dashboard cost the subgraph and
   * the executor what one does; each tab still holds its own concurrency slot and expiry.
   */
  interface Group {
    members: Set<(result: ExecutionResult | typeof END) => void>;
    /** The newest event, given at once to a member joining a state feed (see stateFields). */
    latest?: ExecutionResult;
    /** Latest token expiry among members: the upstream context's stream end. */
    expiresAt: number;
    close(): void;
  }
  const END = Symbol('end');
  const groups = new Map<string, Group>();

  function groupKey(request: SubscriptionRequest, planned: Planned, variables: Record<string, unknown>): string {
    const { tenant } = request;
    return JSON.stringify([tenant.tenantId, tenant.subject, [...tenant.roles].sort(), planned.primary.serviceName, planned.primary.operation, planned.operation.name?.value ?? null, sources.get(request.document) ?? print(request.document), variables]);
  }

  function openGroup(key: string, request: SubscriptionRequest, planned: Planned, variables: Record<string, unknown>): Group {
    const { primary } = planned;
    const upstreamVariables = Object.fromEntries((primary.variableUsages ?? []).filter((name) => name in variables).map((name) => [name, variables[name]]));
    const replays = stateFields.has(rootFieldOf(planned.operation));
    let closed = false;
    let unsubscribe: (() => void) | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    let delay = retryInitialMs;
    let chain: Promise<unknown> = Promise.resolve();
    const broadcast = (result: ExecutionResult | typeof END) => {
      if (replays && result !== END) group.latest = result;
      for (const member of group.members) member(result);
    };

    const subscribeUpstream = async () => {
      if (closed) return;
      const streamUntil = group.expiresAt;
      const token = await sign(request.tenant, primary.serviceName, Math.floor(streamUntil / 1000));
      if (closed) return;
      unsubscribe = link(primary.serviceName).subscribe(
        {
          query: primary.operation,
          operationName: primary.operationName ?? undefined,
          variables: upstreamVariables,
          extensions: { [CONTEXT_HEADER]: token },
        },
        {
          next(event) {
            delay = retryInitialMs;
            // Events are shaped once for the group, one after another, in the order they came.
            chain = chain.then(() => resolveEvent(request, planned, variables, event as ExecutionResult)).then(broadcast, (error) => {
              logger.error({ err: error }, 'subscription event could not be resolved');
              broadcast({ errors: [graphQLError(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error')] });
            });
          },
          error(error) {
            if (closed) return;
            if (Array.isArray(error)) {
              // The subgraph refused the subscription: the members get its (masked) errors, then the end.
              const errors = (error as GraphQLError[]).map(shownError);
              chain = chain.then(() => {
                broadcast({ errors });
                broadcast(END);
              });
              return;
            }
            // The link broke (a subgraph restarting): subscribe again, with back-off, while members remain.
            logger.warn({ subgraph: primary.serviceName, retryInMs: delay }, 'subscription link lost; re-subscribing');
            retryTimer = setTimeout(() => void subscribeUpstream().catch(() => broadcast(END)), delay * (0.5 + Math.random() / 2));
            delay = Math.min(retryMaxMs, delay * 2);
          },
          complete() {
            if (closed) return;
            // The subgraph ends a stream at its context's expiry: members whose tokens last longer
            // (they joined later) keep the group, which subscribes again with their expiry.
            if (Date.now() >= streamUntil - 1_000 && group.expiresAt > streamUntil) void subscribeUpstream().catch(() => broadcast(END));
            else chain = chain.then(() => broadcast(END));
          },
        },
      );
    };

    const group: Group = {
      members: new Set(),
      expiresAt: request.expiresAt,
      close() {
        closed = true;
        groups.delete(key);
        clearTimeout(retryTimer);
        unsubscribe?.();
      },
    };
    groups.set(key, group);
    void subscribeUpstream().catch((error) => {
      logger.error({ err: error }, 'subscription could not be forwarded');
      broadcast({ errors: [graphQLError(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error')] });
      broadcast(END);
    });
    return group;
  }

  function stream(request: SubscriptionRequest, planned: Planned, variables: Record<string, unknown>, slotId: string): AsyncGenerator<ExecutionResult> {
    const { tenant, limits, expiresAt } = request;
    // A slow client keeps the newest 64 events it has not read; older ones are dropped, so one stuck
    // socket cannot grow the gateway's memory without bound.
    return new Repeater<ExecutionResult>(async (push, stop) => {
      active++;
      // The slot is held while the stream lives; its lease is renewed, so a crashed gateway's slots still free themselves.
      const renewal = setInterval(() => {
        admitter.renew(tenant, limits, slotId).catch((error) => logger.warn({ err: error }, 'subscription slot renewal failed'));
      }, Math.max(1_000, admitter.slotLeaseMs / 3));
      // At the caller's token expiry the stream ends with an UNAUTHENTICATED error (an HTTP stream's
      // client learns why; a socket has been closed with 4401 just before).
      const expiry = setTimeout(() => void push({ errors: [graphQLError(ErrorCode.UNAUTHENTICATED, 'The token expired')] }).finally(() => stop()), Math.max(0, expiresAt - Date.now()));
      const key = groupKey(request, planned, variables);
      const member = (result: ExecutionResult | typeof END) => (result === END ? stop() : void push(result).catch(() => {}));
      let group = groups.get(key);
      if (group) {
        group.expiresAt = Math.max(group.expiresAt, expiresAt);
        group.members.add(member);
        if (group.latest) member(group.latest);
      } else {
        group = openGroup(key, request, planned, variables);
        group.members.add(member);
      }
      await stop;
      active--;
      clearInterval(renewal);
      clearTimeout(expiry);
      group.members.delete(member);
      if (group.members.size === 0) group.close();
      await admitter.release(tenant, slotId);
    }, new SlidingBuffer(64)) as unknown as AsyncGenerator<ExecutionResult>;
  }

  /** Runs one event through the executor: the plan's `rest` (other subgraphs' fields) and shaping. */
  async function resolveEvent(request: SubscriptionRequest, planned: Planned, variables: Record<string, unknown>, event: ExecutionResult): Promise<ExecutionResult> {
    const { primary, rest, operation } = planned;
    const source: GraphQLDataSource = {
      process: async () => ({ data: event.data ?? null, errors: event.errors as GraphQLFormattedError[] | undefined, extensions: event.extensions }),
    };
    const serviceMap: ServiceMap = { ...options.serviceMap(), [EVENT_SOURCE]: source };
    const eventFetch: FetchNode = { ...primary, serviceName: EVENT_SOURCE };
    const node: PlanNode = rest ? { kind: 'Sequence', nodes: [eventFetch, rest] } : eventFetch;
    const context: GatewayContext = createGatewayContext(request.tenant, request.limits, sign);
    // On this path executeQueryPlan reads the request's variables, the context (the data sources sign
    // with it), the logger and the metrics; nothing else of a GatewayGraphQLRequestContext.
    const requestContext = {
      request: { query: '', variables, operationName: request.operationName ?? undefined },
      context,
      logger,
      metrics: {},
      document: planned.document,
      operationName: operation.name?.value ?? null,
      operation,
      schema,
      queryHash: '',
      source: '',
      requestIsBatched: false,
    };
    const result = await executeQueryPlan(
      { ...planned.plan, node },
      serviceMap,
      requestContext as unknown as Parameters<typeof executeQueryPlan>[2],
      planned.operationContext,
      supergraphSchema,
      apiSchema,
    );
    return { data: result.data ?? null, ...(result.errors?.length ? { errors: result.errors.map(shownError) } : {}) };
  }

  return {
    schema,
    /** Parses (and validates, once) a document by its text; throws a GraphQLError on a syntax error. */
    parse(source: string): DocumentNode {
      const { document, errors } = documents(source);
      validated.set(document, errors);
      sources.set(document, source);
      return document;
    },
    check,
    start,
    get active() {
      return active;
    },
    /** Upstream subscriptions (groups of identical subscriptions) open now. */
    get upstream() {
      return groups.size;
    },
    async close() {
      await Promise.all([...links.values()].map((client) => client.dispose()));
      links.clear();
    },
  };
}
export type SubscriptionEngine = ReturnType<typeof createSubscriptionEngine>;

/** `Subscription.<field>` of the operation's first root field. */
function rootFieldOf(operation: OperationDefinitionNode): string {
  const first = operation.selectionSet.selections.find((selection) => selection.kind === 'Field');
  return first && first.kind === 'Field' ? `Subscription.${first.name.value}` : '';
}

/** What a client may see of an error: safe codes as they are, anything else masked. */
function shownError(error: GraphQLError | { message: string; extensions?: Record<string, unknown>; path?: readonly (string | number)[] }): GraphQLError {
  const formatted = error instanceof GraphQLError ? error.toJSON() : { message: error.message, extensions: error.extensions, path: error.path };
  const { error: shown } = maskFormattedError(formatted);
  return new GraphQLError(shown.message, { path: shown.path, extensions: shown.extensions });
}
