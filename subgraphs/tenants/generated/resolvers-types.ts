import type { GraphQLResolveInfo } from 'graphql';
import type { TenantRow, UserRow, ConfigRow, PlanVersionRow, LimitChangeRow } from '../repository';
import type { TenantsContext } from '../context';
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

export type ConfigEntry = {
  __typename?: 'ConfigEntry';
  key: Scalars['String']['output'];
  updatedAt: Scalars['String']['output'];
  value: Scalars['String']['output'];
};

export type CreateTenantInput = {
  adminEmail: Scalars['String']['input'];
  adminName?: InputMaybe<Scalars['String']['input']>;
  isolation?: InputMaybe<IsolationTier>;
  name: Scalars['String']['input'];
  plan?: InputMaybe<Plan>;
  /** Lowercase letters, digits and hyphens, 3 to 40 characters, starting with a letter. */
  slug: Scalars['String']['input'];
};

export type IsolationTier =
  | 'DATABASE'
  | 'SCHEMA'
  | 'SHARED';

/** One change of a tenant's overrides. */
export type LimitChange = {
  __typename?: 'LimitChange';
  after: LimitOverrides;
  before: LimitOverrides;
  /** ISO 8601. */
  changedAt: Scalars['String']['output'];
  /** The verified subject that made the change. */
  changedBy: Scalars['String']['output'];
  kind: LimitChangeKind;
  /** For a REVERT: the version restored. */
  revertedTo: Maybe<Scalars['Int']['output']>;
  /** Starts at 1 for the tenant's first change; revertTenantLimits takes it. */
  version: Scalars['Int']['output'];
};

export type LimitChangeKind =
  /** revertTenantLimits */
  | 'REVERT'
  /** setTenantLimits */
  | 'SET';

/** A tenant's overrides: null where the plan's value applies. */
export type LimitOverrides = {
  __typename?: 'LimitOverrides';
  bucketCapacity: Maybe<Scalars['Int']['output']>;
  gracePercent: Maybe<Scalars['Int']['output']>;
  maxConcurrency: Maybe<Scalars['Int']['output']>;
  maxOperationCost: Maybe<Scalars['Int']['output']>;
  monthlyBudget: Maybe<Scalars['Int']['output']>;
  restoreRate: Maybe<Scalars['Float']['output']>;
  softLimitPercent: Maybe<Scalars['Int']['output']>;
};

/** Inclusive bounds of one override. */
export type LimitRange = {
  __typename?: 'LimitRange';
  max: Scalars['Float']['output'];
  min: Scalars['Float']['output'];
};

export type Mutation = {
  __typename?: 'Mutation';
  /** Platform-admin only: registers a tenant and its first admin user. */
  createTenant: Tenant;
  deleteTenantConfig: Scalars['Boolean']['output'];
  /**
   * Platform-admin only: restores the selected tenant's overrides as they were at `version` of its
   * limit history (0: no overrides), recorded as a new history entry.
   */
  revertTenantLimits: Tenant;
  /**
   * Platform-admin only: changes a plan's limits as a new plan version; every tenant on the plan gets
   * them at once, except where it has its own override.
   */
  setPlanLimits: PlanDefinition;
  /** Platform-admin only: a plan's persisted-operation policy, for its tenants without their own. */
  setPlanPersistedOperations: PlanDefinition;
  setTenantConfig: ConfigEntry;
  /**
   * Platform-admin only: overrides limits of the selected tenant's plan. A field left out keeps its
   * override, a null clears it (the plan's value applies again). Each value must lie in the plan's
   * allowed range. Recorded in Tenant.limitHistory; every gateway uses the new limits at once.
   */
  setTenantLimits: Tenant;
  /**
   * Platform-admin only: whether the selected tenant may send documents of its own (ALLOW) or only the
   * operations of the persisted-operation manifest (REQUIRE); null follows its plan again. Every gateway
   * applies it at once (a gateway started with PERSISTED_OPERATIONS=require requires them regardless).
   */
  setTenantPersistedOperations: Tenant;
  /** Platform-admin only: suspends or reactivates the selected tenant. */
  setTenantStatus: Tenant;
};


export type MutationCreateTenantArgs = {
  input: CreateTenantInput;
};


export type MutationDeleteTenantConfigArgs = {
  key: Scalars['String']['input'];
};


export type MutationRevertTenantLimitsArgs = {
  version: Scalars['Int']['input'];
};


export type MutationSetPlanLimitsArgs = {
  input: PlanLimitsInput;
  plan: Plan;
};


export type MutationSetPlanPersistedOperationsArgs = {
  plan: Plan;
  policy: PersistedOperationsPolicy;
};


export type MutationSetTenantConfigArgs = {
  key: Scalars['String']['input'];
  value: Scalars['String']['input'];
};


export type MutationSetTenantLimitsArgs = {
  input: TenantLimitsInput;
};


export type MutationSetTenantPersistedOperationsArgs = {
  policy?: InputMaybe<PersistedOperationsPolicy>;
};


export type MutationSetTenantStatusArgs = {
  status: TenantStatus;
};

/** Whether a tenant's clients may send GraphQL documents of their own, or only persisted operations. */
export type PersistedOperationsPolicy =
  /** Any valid document, as well as persisted operations. */
  | 'ALLOW'
  /** Only operations of the persisted-operation manifest (by id or by their exact text). */
  | 'REQUIRE';

export type Plan =
  | 'enterprise'
  | 'free'
  | 'pro'
  | 'starter';

/** One version of a plan. */
export type PlanDefinition = {
  __typename?: 'PlanDefinition';
  /** The ranges a tenant's overrides must stay within. */
  allowedRanges: PlanLimitRanges;
  /** When this version was made (ISO 8601). */
  createdAt: Scalars['String']['output'];
  /** Platform-admin only: who made this version. */
  createdBy: Maybe<Scalars['String']['output']>;
  limits: PlanLimits;
  name: Plan;
  /** The plan's persisted-operation policy; null on a past version (the policy is not versioned). */
  persistedOperations: Maybe<PersistedOperationsPolicy>;
  /** Starts at 1; each change of the plan's limits adds one. */
  version: Scalars['Int']['output'];
};

/** What a tenant's override of each limit may be on a plan; null: that limit cannot be overridden there. */
export type PlanLimitRanges = {
  __typename?: 'PlanLimitRanges';
  bucketCapacity: Maybe<LimitRange>;
  gracePercent: Maybe<LimitRange>;
  maxConcurrency: Maybe<LimitRange>;
  maxOperationCost: Maybe<LimitRange>;
  monthlyBudget: Maybe<LimitRange>;
  restoreRate: Maybe<LimitRange>;
  softLimitPercent: Maybe<LimitRange>;
};

/** Query-cost limits: a plan's, or the ones in force for a tenant. */
export type PlanLimits = {
  __typename?: 'PlanLimits';
  /** Token bucket size, in cost units. */
  bucketCapacity: Scalars['Int']['output'];
  /** Percent above the monthly budget still admitted before the hard limit rejects. */
  gracePercent: Scalars['Int']['output'];
  /** Operations in flight at once. */
  maxConcurrency: Scalars['Int']['output'];
  /** Largest cost one operation may have. */
  maxOperationCost: Scalars['Int']['output'];
  /** Cost units per calendar month (UTC). */
  monthlyBudget: Scalars['Int']['output'];
  /** Cost units restored to the bucket per second. */
  restoreRate: Scalars['Float']['output'];
  /** Share of the monthly budget, in percent, at which the tenant is warned. */
  softLimitPercent: Scalars['Int']['output'];
};

/** Left out or null: the plan's current value stays. */
export type PlanLimitsInput = {
  bucketCapacity?: InputMaybe<Scalars['Int']['input']>;
  gracePercent?: InputMaybe<Scalars['Int']['input']>;
  maxConcurrency?: InputMaybe<Scalars['Int']['input']>;
  maxOperationCost?: InputMaybe<Scalars['Int']['input']>;
  monthlyBudget?: InputMaybe<Scalars['Int']['input']>;
  restoreRate?: InputMaybe<Scalars['Float']['input']>;
  softLimitPercent?: InputMaybe<Scalars['Int']['input']>;
};

export type Query = {
  __typename?: 'Query';
  /** The tenant the caller's token (and selector) resolved to. */
  currentTenant: Tenant;
  /** Platform-admin only: a plan's versions, newest first. `first` is at most 100. */
  planVersions: Array<PlanDefinition>;
  /** Every plan's current version: its limits and the ranges a tenant's overrides must stay within. */
  plans: Array<PlanDefinition>;
  /** The tenant's configuration entries. */
  tenantConfig: Array<ConfigEntry>;
  /** The tenant's users. `first` is at most 100. */
  users: Array<User>;
  /** The calling user, or null when the token's subject is not a user of this tenant. */
  viewer: Maybe<User>;
};


export type QueryPlanVersionsArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
  plan: Plan;
};


export type QueryUsersArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type Role =
  | 'admin'
  | 'member'
  | 'viewer';

export type Tenant = {
  __typename?: 'Tenant';
  createdAt: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  isolation: IsolationTier;
  /** Admin only: every change of the overrides, newest first. `first` is at most 100. */
  limitHistory: Array<LimitChange>;
  /** Admin only: this tenant's overrides of its plan's limits. */
  limitOverrides: LimitOverrides;
  /** Admin only: the limits in force (the overrides where set, else the plan's current version). */
  limits: PlanLimits;
  name: Scalars['String']['output'];
  /** Admin only: the persisted-operation policy in force (the tenant's own where set, else its plan's). */
  persistedOperations: PersistedOperationsPolicy;
  /** Admin only: the tenant's own persisted-operation policy; null when it follows its plan. */
  persistedOperationsOverride: Maybe<PersistedOperationsPolicy>;
  plan: Plan;
  slug: Scalars['String']['output'];
  status: TenantStatus;
};


export type TenantLimitHistoryArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
};

/** Left out: the override stays as it is. null: the override is cleared. */
export type TenantLimitsInput = {
  bucketCapacity?: InputMaybe<Scalars['Int']['input']>;
  gracePercent?: InputMaybe<Scalars['Int']['input']>;
  maxConcurrency?: InputMaybe<Scalars['Int']['input']>;
  maxOperationCost?: InputMaybe<Scalars['Int']['input']>;
  monthlyBudget?: InputMaybe<Scalars['Int']['input']>;
  restoreRate?: InputMaybe<Scalars['Float']['input']>;
  softLimitPercent?: InputMaybe<Scalars['Int']['input']>;
};

export type TenantStatus =
  | 'ACTIVE'
  | 'SUSPENDED';

export type User = {
  __typename?: 'User';
  email: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  name: Scalars['String']['output'];
  role: Role;
  tenant: Tenant;
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
  User: User;
}>;

/** Mapping of federation reference types */
export type FederationReferenceTypes = ResolversObject<{
  Tenant:
    ( { __typename: 'Tenant' }
    & GraphQLRecursivePick<FederationTypes['Tenant'], {"id":true}> );
  User:
    ( { __typename: 'User' }
    & GraphQLRecursivePick<FederationTypes['User'], {"id":true}> );
}>;



/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = ResolversObject<{
  ConfigEntry: ResolverTypeWrapper<ConfigRow>;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  CreateTenantInput: CreateTenantInput;
  IsolationTier: IsolationTier;
  LimitChange: ResolverTypeWrapper<LimitChangeRow>;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
  LimitChangeKind: LimitChangeKind;
  LimitOverrides: ResolverTypeWrapper<LimitOverrides>;
  Float: ResolverTypeWrapper<Scalars['Float']['output']>;
  LimitRange: ResolverTypeWrapper<LimitRange>;
  Mutation: ResolverTypeWrapper<Record<PropertyKey, never>>;
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  PersistedOperationsPolicy: PersistedOperationsPolicy;
  Plan: Plan;
  PlanDefinition: ResolverTypeWrapper<PlanVersionRow>;
  PlanLimitRanges: ResolverTypeWrapper<PlanLimitRanges>;
  PlanLimits: ResolverTypeWrapper<PlanLimits>;
  PlanLimitsInput: PlanLimitsInput;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  Role: Role;
  Tenant: ResolverTypeWrapper<TenantRow>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  TenantLimitsInput: TenantLimitsInput;
  TenantStatus: TenantStatus;
  User: ResolverTypeWrapper<UserRow>;
}>;

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = ResolversObject<{
  ConfigEntry: ConfigRow;
  String: Scalars['String']['output'];
  CreateTenantInput: CreateTenantInput;
  LimitChange: LimitChangeRow;
  Int: Scalars['Int']['output'];
  LimitOverrides: LimitOverrides;
  Float: Scalars['Float']['output'];
  LimitRange: LimitRange;
  Mutation: Record<PropertyKey, never>;
  Boolean: Scalars['Boolean']['output'];
  PlanDefinition: PlanVersionRow;
  PlanLimitRanges: PlanLimitRanges;
  PlanLimits: PlanLimits;
  PlanLimitsInput: PlanLimitsInput;
  Query: Record<PropertyKey, never>;
  Tenant: TenantRow;
  ID: Scalars['ID']['output'];
  TenantLimitsInput: TenantLimitsInput;
  User: UserRow;
}>;

export type ConfigEntryResolvers<ContextType = TenantsContext, ParentType extends ResolversParentTypes['ConfigEntry'] = ResolversParentTypes['ConfigEntry']> = ResolversObject<{
  key?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  value?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
}>;

export type LimitChangeResolvers<ContextType = TenantsContext, ParentType extends ResolversParentTypes['LimitChange'] = ResolversParentTypes['LimitChange']> = ResolversObject<{
  after?: Resolver<ResolversTypes['LimitOverrides'], ParentType, ContextType>;
  before?: Resolver<ResolversTypes['LimitOverrides'], ParentType, ContextType>;
  changedAt?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  changedBy?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['LimitChangeKind'], ParentType, ContextType>;
  revertedTo?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  version?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export type LimitOverridesResolvers<ContextType = TenantsContext, ParentType extends ResolversParentTypes['LimitOverrides'] = ResolversParentTypes['LimitOverrides']> = ResolversObject<{
  bucketCapacity?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  gracePercent?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  maxConcurrency?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  maxOperationCost?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  monthlyBudget?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  restoreRate?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  softLimitPercent?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
}>;

export type LimitRangeResolvers<ContextType = TenantsContext, ParentType extends ResolversParentTypes['LimitRange'] = ResolversParentTypes['LimitRange']> = ResolversObject<{
  max?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  min?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
}>;

export type MutationResolvers<ContextType = TenantsContext, ParentType extends ResolversParentTypes['Mutation'] = ResolversParentTypes['Mutation']> = ResolversObject<{
  createTenant?: Resolver<ResolversTypes['Tenant'], ParentType, ContextType, RequireFields<MutationCreateTenantArgs, 'input'>>;
  deleteTenantConfig?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType, RequireFields<MutationDeleteTenantConfigArgs, 'key'>>;
  revertTenantLimits?: Resolver<ResolversTypes['Tenant'], ParentType, ContextType, RequireFields<MutationRevertTenantLimitsArgs, 'version'>>;
  setPlanLimits?: Resolver<ResolversTypes['PlanDefinition'], ParentType, ContextType, RequireFields<MutationSetPlanLimitsArgs, 'input' | 'plan'>>;
  setPlanPersistedOperations?: Resolver<ResolversTypes['PlanDefinition'], ParentType, ContextType, RequireFields<MutationSetPlanPersistedOperationsArgs, 'plan' | 'policy'>>;
  setTenantConfig?: Resolver<ResolversTypes['ConfigEntry'], ParentType, ContextType, RequireFields<MutationSetTenantConfigArgs, 'key' | 'value'>>;
  setTenantLimits?: Resolver<ResolversTypes['Tenant'], ParentType, ContextType, RequireFields<MutationSetTenantLimitsArgs, 'input'>>;
  setTenantPersistedOperations?: Resolver<ResolversTypes['Tenant'], ParentType, ContextType, Partial<MutationSetTenantPersistedOperationsArgs>>;
  setTenantStatus?: Resolver<ResolversTypes['Tenant'], ParentType, ContextType, RequireFields<MutationSetTenantStatusArgs, 'status'>>;
}>;

export type PlanDefinitionResolvers<ContextType = TenantsContext, ParentType extends ResolversParentTypes['PlanDefinition'] = ResolversParentTypes['PlanDefinition']> = ResolversObject<{
  allowedRanges?: Resolver<ResolversTypes['PlanLimitRanges'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  createdBy?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  limits?: Resolver<ResolversTypes['PlanLimits'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['Plan'], ParentType, ContextType>;
  persistedOperations?: Resolver<Maybe<ResolversTypes['PersistedOperationsPolicy']>, ParentType, ContextType>;
  version?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export type PlanLimitRangesResolvers<ContextType = TenantsContext, ParentType extends ResolversParentTypes['PlanLimitRanges'] = ResolversParentTypes['PlanLimitRanges']> = ResolversObject<{
  bucketCapacity?: Resolver<Maybe<ResolversTypes['LimitRange']>, ParentType, ContextType>;
  gracePercent?: Resolver<Maybe<ResolversTypes['LimitRange']>, ParentType, ContextType>;
  maxConcurrency?: Resolver<Maybe<ResolversTypes['LimitRange']>, ParentType, ContextType>;
  maxOperationCost?: Resolver<Maybe<ResolversTypes['LimitRange']>, ParentType, ContextType>;
  monthlyBudget?: Resolver<Maybe<ResolversTypes['LimitRange']>, ParentType, ContextType>;
  restoreRate?: Resolver<Maybe<ResolversTypes['LimitRange']>, ParentType, ContextType>;
  softLimitPercent?: Resolver<Maybe<ResolversTypes['LimitRange']>, ParentType, ContextType>;
}>;

export type PlanLimitsResolvers<ContextType = TenantsContext, ParentType extends ResolversParentTypes['PlanLimits'] = ResolversParentTypes['PlanLimits']> = ResolversObject<{
  bucketCapacity?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  gracePercent?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  maxConcurrency?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  maxOperationCost?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  monthlyBudget?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  restoreRate?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  softLimitPercent?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export type QueryResolvers<ContextType = TenantsContext, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = ResolversObject<{
  currentTenant?: Resolver<ResolversTypes['Tenant'], ParentType, ContextType>;
  planVersions?: Resolver<Array<ResolversTypes['PlanDefinition']>, ParentType, ContextType, RequireFields<QueryPlanVersionsArgs, 'first' | 'plan'>>;
  plans?: Resolver<Array<ResolversTypes['PlanDefinition']>, ParentType, ContextType>;
  tenantConfig?: Resolver<Array<ResolversTypes['ConfigEntry']>, ParentType, ContextType>;
  users?: Resolver<Array<ResolversTypes['User']>, ParentType, ContextType, RequireFields<QueryUsersArgs, 'first'>>;
  viewer?: Resolver<Maybe<ResolversTypes['User']>, ParentType, ContextType>;
}>;

export type TenantResolvers<ContextType = TenantsContext, ParentType extends ResolversParentTypes['Tenant'] = ResolversParentTypes['Tenant'], FederationReferenceType extends FederationReferenceTypes['Tenant'] = FederationReferenceTypes['Tenant']> = ResolversObject<{
  __resolveReference?: ReferenceResolver<Maybe<ResolversTypes['Tenant']> | FederationReferenceType, FederationReferenceType, ContextType>;
  createdAt?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  isolation?: Resolver<ResolversTypes['IsolationTier'], ParentType, ContextType>;
  limitHistory?: Resolver<Array<ResolversTypes['LimitChange']>, ParentType, ContextType, RequireFields<TenantLimitHistoryArgs, 'first'>>;
  limitOverrides?: Resolver<ResolversTypes['LimitOverrides'], ParentType, ContextType>;
  limits?: Resolver<ResolversTypes['PlanLimits'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  persistedOperations?: Resolver<ResolversTypes['PersistedOperationsPolicy'], ParentType, ContextType>;
  persistedOperationsOverride?: Resolver<Maybe<ResolversTypes['PersistedOperationsPolicy']>, ParentType, ContextType>;
  plan?: Resolver<ResolversTypes['Plan'], ParentType, ContextType>;
  slug?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['TenantStatus'], ParentType, ContextType>;
}>;

export type UserResolvers<ContextType = TenantsContext, ParentType extends ResolversParentTypes['User'] = ResolversParentTypes['User'], FederationReferenceType extends FederationReferenceTypes['User'] = FederationReferenceTypes['User']> = ResolversObject<{
  __resolveReference?: ReferenceResolver<Maybe<ResolversTypes['User']> | FederationReferenceType, FederationReferenceType, ContextType>;
  email?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  role?: Resolver<ResolversTypes['Role'], ParentType, ContextType>;
  tenant?: Resolver<ResolversTypes['Tenant'], ParentType, ContextType>;
}>;

export type Resolvers<ContextType = TenantsContext> = ResolversObject<{
  ConfigEntry?: ConfigEntryResolvers<ContextType>;
  LimitChange?: LimitChangeResolvers<ContextType>;
  LimitOverrides?: LimitOverridesResolvers<ContextType>;
  LimitRange?: LimitRangeResolvers<ContextType>;
  Mutation?: MutationResolvers<ContextType>;
  PlanDefinition?: PlanDefinitionResolvers<ContextType>;
  PlanLimitRanges?: PlanLimitRangesResolvers<ContextType>;
  PlanLimits?: PlanLimitsResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  Tenant?: TenantResolvers<ContextType>;
  User?: UserResolvers<ContextType>;
}>;

