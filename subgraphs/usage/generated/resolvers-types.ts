import type { GraphQLResolveInfo } from 'graphql';
import type { TenantRef, QuotaRow, OperationRow, MinuteRow } from '../repository';
import type { UsageContext } from '../context';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  _FieldSet: { input: any; output: any; }
};

export type OperationUsage = {
  __typename?: 'OperationUsage';
  at: Scalars['String']['output'];
  cost: Scalars['Int']['output'];
  latencyMs: Scalars['Float']['output'];
  operationName: Maybe<Scalars['String']['output']>;
  outcome: Scalars['String']['output'];
};

export type Plan =
  | 'enterprise'
  | 'free'
  | 'pro'
  | 'starter';

export type Query = {
  __typename?: 'Query';
  /** The caller's tenant's quota for the current month, computed from recorded usage. */
  quotaStatus: QuotaStatus;
  /** The caller's tenant's most recent operations. `first` is at most 100. */
  recentOperations: Array<OperationUsage>;
};


export type QueryRecentOperationsArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
};

/**
 * Costs 2 (not 1) wherever it is returned (Query.quotaStatus, Tenant.usage): it sums this month's usage
 * and the last five minutes' for the burn rate, two aggregates instead of one row fetch.
 */
export type QuotaStatus = {
  __typename?: 'QuotaStatus';
  /** Average cost spent per minute over the last five minutes. */
  burnRatePerMinute: Scalars['Float']['output'];
  /** Monthly cost budget of the plan. */
  limit: Scalars['Int']['output'];
  plan: Plan;
  /** When the budget runs out at the current burn rate (ISO 8601, UTC); null when it lasts past resetsAt. */
  projectedExhaustionAt: Maybe<Scalars['String']['output']>;
  /** The tenant's most recent operations, newest first. `first` is at most 50. */
  recentOperations: Array<OperationUsage>;
  remaining: Scalars['Int']['output'];
  /** When the monthly budget resets (ISO 8601, UTC). */
  resetsAt: Scalars['String']['output'];
  /** Cost units restored per second to the tenant's bucket. */
  restoreRate: Scalars['Float']['output'];
  /** The tenant this status is of (its other fields come from the tenants subgraph). */
  tenant: Tenant;
  /** Cost spent per minute over the last `minutes` minutes (at most 60), oldest first; idle minutes are included with 0. */
  usageByMinute: Array<UsageMinute>;
  /** Cost spent this month. */
  used: Scalars['Int']['output'];
};


/**
 * Costs 2 (not 1) wherever it is returned (Query.quotaStatus, Tenant.usage): it sums this month's usage
 * and the last five minutes' for the burn rate, two aggregates instead of one row fetch.
 */
export type QuotaStatusRecentOperationsArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
};


/**
 * Costs 2 (not 1) wherever it is returned (Query.quotaStatus, Tenant.usage): it sums this month's usage
 * and the last five minutes' for the burn rate, two aggregates instead of one row fetch.
 */
export type QuotaStatusUsageByMinuteArgs = {
  minutes?: InputMaybe<Scalars['Int']['input']>;
};

export type Subscription = {
  __typename?: 'Subscription';
  /**
   * The caller's tenant's quota: sent at once, then whenever the tenant's recorded usage changes, at most
   * once per QUOTA_FEED_INTERVAL_MS (default 500 ms) per tenant; intermediate states may be skipped, the
   * last one never is. Costs what the selection costs once, when it starts; events are free.
   */
  quotaStatus: QuotaStatus;
};

export type Tenant = {
  __typename?: 'Tenant';
  id: Scalars['ID']['output'];
  usage: QuotaStatus;
};

export type UsageMinute = {
  __typename?: 'UsageMinute';
  cost: Scalars['Int']['output'];
  /** Start of the minute (ISO 8601, UTC). */
  minute: Scalars['String']['output'];
  operations: Scalars['Int']['output'];
};

export type WithIndex<TObject> = TObject & Record<string, any>;
export type ResolversObject<TObject> = WithIndex<TObject>;

export type ResolverTypeWrapper<T> = Promise<T> | T;

export type ReferenceResolver<TResult, TReference, TContext> = (
      reference: TReference,
      context: TContext,
      info: GraphQLResolveInfo
    ) => Promise<TResult> | TResult;

      type ScalarCheck<T, S> = S extends true ? T : NullableCheck<T, S>;
      type NullableCheck<T, S> = Maybe<T> extends T ? Maybe<ListCheck<NonNullable<T>, S>> : ListCheck<T, S>;
      type ListCheck<T, S> = T extends (infer U)[] ? NullableCheck<U, S>[] : GraphQLRecursivePick<T, S>;
      export type GraphQLRecursivePick<T, S> = { [K in keyof T & keyof S]: ScalarCheck<T[K], S[K]> };
    

export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<TResult, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = ResolverFn<TResult, TParent, TContext, TArgs> | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<TResult, TKey extends string, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<TResult, TKey extends string, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

/** Mapping of federation types */
export type FederationTypes = ResolversObject<{
  Tenant: Tenant;
}>;

/** Mapping of federation reference types */
export type FederationReferenceTypes = ResolversObject<{
  Tenant:
    ( { __typename: 'Tenant' }
    & GraphQLRecursivePick<FederationTypes['Tenant'], {"id":true}> );
}>;



/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = ResolversObject<{
  OperationUsage: ResolverTypeWrapper<OperationRow>;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
  Float: ResolverTypeWrapper<Scalars['Float']['output']>;
  Plan: Plan;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  QuotaStatus: ResolverTypeWrapper<QuotaRow>;
  Subscription: ResolverTypeWrapper<Record<PropertyKey, never>>;
  Tenant: ResolverTypeWrapper<TenantRef>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  UsageMinute: ResolverTypeWrapper<MinuteRow>;
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
}>;

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = ResolversObject<{
  OperationUsage: OperationRow;
  String: Scalars['String']['output'];
  Int: Scalars['Int']['output'];
  Float: Scalars['Float']['output'];
  Query: Record<PropertyKey, never>;
  QuotaStatus: QuotaRow;
  Subscription: Record<PropertyKey, never>;
  Tenant: TenantRef;
  ID: Scalars['ID']['output'];
  UsageMinute: MinuteRow;
  Boolean: Scalars['Boolean']['output'];
}>;

export type OperationUsageResolvers<ContextType = UsageContext, ParentType extends ResolversParentTypes['OperationUsage'] = ResolversParentTypes['OperationUsage']> = ResolversObject<{
  at?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  cost?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  latencyMs?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  operationName?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  outcome?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
}>;

export type QueryResolvers<ContextType = UsageContext, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = ResolversObject<{
  quotaStatus?: Resolver<ResolversTypes['QuotaStatus'], ParentType, ContextType>;
  recentOperations?: Resolver<Array<ResolversTypes['OperationUsage']>, ParentType, ContextType, RequireFields<QueryRecentOperationsArgs, 'first'>>;
}>;

export type QuotaStatusResolvers<ContextType = UsageContext, ParentType extends ResolversParentTypes['QuotaStatus'] = ResolversParentTypes['QuotaStatus']> = ResolversObject<{
  burnRatePerMinute?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  limit?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  plan?: Resolver<ResolversTypes['Plan'], ParentType, ContextType>;
  projectedExhaustionAt?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  recentOperations?: Resolver<Array<ResolversTypes['OperationUsage']>, ParentType, ContextType, RequireFields<QuotaStatusRecentOperationsArgs, 'first'>>;
  remaining?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  resetsAt?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  restoreRate?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  tenant?: Resolver<ResolversTypes['Tenant'], ParentType, ContextType>;
  usageByMinute?: Resolver<Array<ResolversTypes['UsageMinute']>, ParentType, ContextType, RequireFields<QuotaStatusUsageByMinuteArgs, 'minutes'>>;
  used?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export type SubscriptionResolvers<ContextType = UsageContext, ParentType extends ResolversParentTypes['Subscription'] = ResolversParentTypes['Subscription']> = ResolversObject<{
  quotaStatus?: SubscriptionResolver<ResolversTypes['QuotaStatus'], "quotaStatus", ParentType, ContextType>;
}>;

export type TenantResolvers<ContextType = UsageContext, ParentType extends ResolversParentTypes['Tenant'] = ResolversParentTypes['Tenant'], FederationReferenceType extends FederationReferenceTypes['Tenant'] = FederationReferenceTypes['Tenant']> = ResolversObject<{
  __resolveReference?: ReferenceResolver<Maybe<ResolversTypes['Tenant']> | FederationReferenceType, FederationReferenceType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['QuotaStatus'], ParentType, ContextType>;
}>;

export type UsageMinuteResolvers<ContextType = UsageContext, ParentType extends ResolversParentTypes['UsageMinute'] = ResolversParentTypes['UsageMinute']> = ResolversObject<{
  cost?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  minute?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  operations?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export type Resolvers<ContextType = UsageContext> = ResolversObject<{
  OperationUsage?: OperationUsageResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  QuotaStatus?: QuotaStatusResolvers<ContextType>;
  Subscription?: SubscriptionResolvers<ContextType>;
  Tenant?: TenantResolvers<ContextType>;
  UsageMinute?: UsageMinuteResolvers<ContextType>;
}>;

