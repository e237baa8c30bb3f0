import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
};

export type CreatePetInput = {
  name: Scalars['String']['input'];
  species: Scalars['String']['input'];
  ownerId?: InputMaybe<Scalars['ID']['input']>;
};

export type CreateTenantInput = {
  /** Lowercase letters, digits and hyphens, 3 to 40 characters, starting with a letter. */
  slug: Scalars['String']['input'];
  name: Scalars['String']['input'];
  plan?: InputMaybe<Plan>;
  isolation?: InputMaybe<IsolationTier>;
  adminEmail: Scalars['String']['input'];
  adminName?: InputMaybe<Scalars['String']['input']>;
};

export type IsolationTier =
  | 'SHARED'
  | 'SCHEMA'
  | 'DATABASE';

export type LimitChangeKind =
  /** setTenantLimits */
  | 'SET'
  /** revertTenantLimits */
  | 'REVERT';

/** Whether a tenant's clients may send GraphQL documents of their own, or only persisted operations. */
export type PersistedOperationsPolicy =
  /** Any valid document, as well as persisted operations. */
  | 'ALLOW'
  /** Only operations of the persisted-operation manifest (by id or by their exact text). */
  | 'REQUIRE';

export type Plan =
  | 'free'
  | 'starter'
  | 'pro'
  | 'enterprise';

/** Left out or null: the plan's current value stays. */
export type PlanLimitsInput = {
  monthlyBudget?: InputMaybe<Scalars['Int']['input']>;
  bucketCapacity?: InputMaybe<Scalars['Int']['input']>;
  restoreRate?: InputMaybe<Scalars['Float']['input']>;
  maxOperationCost?: InputMaybe<Scalars['Int']['input']>;
  maxConcurrency?: InputMaybe<Scalars['Int']['input']>;
  softLimitPercent?: InputMaybe<Scalars['Int']['input']>;
  gracePercent?: InputMaybe<Scalars['Int']['input']>;
};

export type Role =
  | 'admin'
  | 'member'
  | 'viewer';

/** Left out: the override stays as it is. null: the override is cleared. */
export type TenantLimitsInput = {
  monthlyBudget?: InputMaybe<Scalars['Int']['input']>;
  bucketCapacity?: InputMaybe<Scalars['Int']['input']>;
  restoreRate?: InputMaybe<Scalars['Float']['input']>;
  maxOperationCost?: InputMaybe<Scalars['Int']['input']>;
  maxConcurrency?: InputMaybe<Scalars['Int']['input']>;
  softLimitPercent?: InputMaybe<Scalars['Int']['input']>;
  gracePercent?: InputMaybe<Scalars['Int']['input']>;
};

export type TenantStatus =
  | 'ACTIVE'
  | 'SUSPENDED';

export type UpdatePetInput = {
  name?: InputMaybe<Scalars['String']['input']>;
  species?: InputMaybe<Scalars['String']['input']>;
  ownerId?: InputMaybe<Scalars['ID']['input']>;
};

export type PetFieldsFragment = { id: string, name: string, species: string, createdAt: string, owner?: { id: string, name: string } | null };

export type ListPetsQueryVariables = Exact<{
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
  species?: InputMaybe<Scalars['String']['input']>;
}>;


export type ListPetsQuery = { pets: { totalCount: number, edges: Array<{ cursor: string, node: { id: string, name: string, species: string, createdAt: string, owner?: { id: string, name: string } | null } }>, pageInfo: { hasNextPage: boolean, endCursor?: string | null } } };

export type GetPetQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type GetPetQuery = { pet?: { id: string, name: string, species: string, createdAt: string, owner?: { id: string, name: string } | null } | null };

export type CreatePetMutationVariables = Exact<{
  input: CreatePetInput;
}>;


export type CreatePetMutation = { createPet: { id: string, name: string, species: string, createdAt: string, owner?: { id: string, name: string } | null } };

export type UpdatePetMutationVariables = Exact<{
  id: Scalars['ID']['input'];
  input: UpdatePetInput;
}>;


export type UpdatePetMutation = { updatePet: { id: string, name: string, species: string, createdAt: string, owner?: { id: string, name: string } | null } };

export type DeletePetMutationVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type DeletePetMutation = { deletePet: boolean };

export type CurrentTenantQueryVariables = Exact<{ [key: string]: never; }>;


export type CurrentTenantQuery = { currentTenant: { id: string, slug: string, name: string, plan: Plan, status: TenantStatus } };

export type ViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type ViewerQuery = { viewer?: { id: string, email: string, name: string, role: Role, tenant: { id: string, slug: string } } | null };

export type QuotaFieldsFragment = { plan: Plan, limit: number, used: number, remaining: number, restoreRate: number, burnRatePerMinute: number, resetsAt: string, projectedExhaustionAt?: string | null };

export type QuotaStatusQueryVariables = Exact<{ [key: string]: never; }>;


export type QuotaStatusQuery = { quotaStatus: { plan: Plan, limit: number, used: number, remaining: number, restoreRate: number, burnRatePerMinute: number, resetsAt: string, projectedExhaustionAt?: string | null } };

export type RecentOperationsQueryVariables = Exact<{
  first?: InputMaybe<Scalars['Int']['input']>;
}>;


export type RecentOperationsQuery = { recentOperations: Array<{ operationName?: string | null, cost: number, latencyMs: number, outcome: string, at: string }> };

export type QuotaStatusFeedSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type QuotaStatusFeedSubscription = { quotaStatus: { plan: Plan, limit: number, used: number, remaining: number, restoreRate: number, burnRatePerMinute: number, resetsAt: string, projectedExhaustionAt?: string | null, recentOperations: Array<{ operationName?: string | null, cost: number, latencyMs: number, outcome: string, at: string }>, usageByMinute: Array<{ minute: string, cost: number, operations: number }> } };

export const PetFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"PetFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Pet"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"species"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"owner"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]} as unknown as DocumentNode<PetFieldsFragment, unknown>;
export const QuotaFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"QuotaFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"QuotaStatus"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"plan"}},{"kind":"Field","name":{"kind":"Name","value":"limit"}},{"kind":"Field","name":{"kind":"Name","value":"used"}},{"kind":"Field","name":{"kind":"Name","value":"remaining"}},{"kind":"Field","name":{"kind":"Name","value":"restoreRate"}},{"kind":"Field","name":{"kind":"Name","value":"burnRatePerMinute"}},{"kind":"Field","name":{"kind":"Name","value":"resetsAt"}},{"kind":"Field","name":{"kind":"Name","value":"projectedExhaustionAt"}}]}}]} as unknown as DocumentNode<QuotaFieldsFragment, unknown>;
export const ListPetsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ListPets"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"species"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"pets"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"species"},"value":{"kind":"Variable","name":{"kind":"Name","value":"species"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"PetFields"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"PetFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Pet"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"species"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"owner"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]} as unknown as DocumentNode<ListPetsQuery, ListPetsQueryVariables>;
export const GetPetDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"GetPet"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"pet"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"PetFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"PetFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Pet"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"species"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"owner"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]} as unknown as DocumentNode<GetPetQuery, GetPetQueryVariables>;
export const CreatePetDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreatePet"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreatePetInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createPet"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"PetFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"PetFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Pet"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"species"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"owner"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]} as unknown as DocumentNode<CreatePetMutation, CreatePetMutationVariables>;
export const UpdatePetDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UpdatePet"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UpdatePetInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"updatePet"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}},{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"PetFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"PetFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Pet"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"species"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"owner"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]} as unknown as DocumentNode<UpdatePetMutation, UpdatePetMutationVariables>;
export const DeletePetDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DeletePet"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deletePet"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}]}]}}]} as unknown as DocumentNode<DeletePetMutation, DeletePetMutationVariables>;
export const CurrentTenantDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CurrentTenant"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"currentTenant"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"slug"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"plan"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]} as unknown as DocumentNode<CurrentTenantQuery, CurrentTenantQueryVariables>;
export const ViewerDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"email"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"tenant"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"slug"}}]}}]}}]}}]} as unknown as DocumentNode<ViewerQuery, ViewerQueryVariables>;
export const QuotaStatusDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"QuotaStatus"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"quotaStatus"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"QuotaFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"QuotaFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"QuotaStatus"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"plan"}},{"kind":"Field","name":{"kind":"Name","value":"limit"}},{"kind":"Field","name":{"kind":"Name","value":"used"}},{"kind":"Field","name":{"kind":"Name","value":"remaining"}},{"kind":"Field","name":{"kind":"Name","value":"restoreRate"}},{"kind":"Field","name":{"kind":"Name","value":"burnRatePerMinute"}},{"kind":"Field","name":{"kind":"Name","value":"resetsAt"}},{"kind":"Field","name":{"kind":"Name","value":"projectedExhaustionAt"}}]}}]} as unknown as DocumentNode<QuotaStatusQuery, QuotaStatusQueryVariables>;
export const RecentOperationsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"RecentOperations"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"recentOperations"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"operationName"}},{"kind":"Field","name":{"kind":"Name","value":"cost"}},{"kind":"Field","name":{"kind":"Name","value":"latencyMs"}},{"kind":"Field","name":{"kind":"Name","value":"outcome"}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}}]}}]} as unknown as DocumentNode<RecentOperationsQuery, RecentOperationsQueryVariables>;
export const QuotaStatusFeedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"QuotaStatusFeed"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"quotaStatus"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"plan"}},{"kind":"Field","name":{"kind":"Name","value":"limit"}},{"kind":"Field","name":{"kind":"Name","value":"used"}},{"kind":"Field","name":{"kind":"Name","value":"remaining"}},{"kind":"Field","name":{"kind":"Name","value":"restoreRate"}},{"kind":"Field","name":{"kind":"Name","value":"burnRatePerMinute"}},{"kind":"Field","name":{"kind":"Name","value":"resetsAt"}},{"kind":"Field","name":{"kind":"Name","value":"projectedExhaustionAt"}},{"kind":"Field","name":{"kind":"Name","value":"recentOperations"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"10"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"operationName"}},{"kind":"Field","name":{"kind":"Name","value":"cost"}},{"kind":"Field","name":{"kind":"Name","value":"latencyMs"}},{"kind":"Field","name":{"kind":"Name","value":"outcome"}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}},{"kind":"Field","name":{"kind":"Name","value":"usageByMinute"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"minutes"},"value":{"kind":"IntValue","value":"30"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"minute"}},{"kind":"Field","name":{"kind":"Name","value":"cost"}},{"kind":"Field","name":{"kind":"Name","value":"operations"}}]}}]}}]}}]} as unknown as DocumentNode<QuotaStatusFeedSubscription, QuotaStatusFeedSubscriptionVariables>;

/** One operation of sdk/persisted-operations.json: `body` is sent verbatim, `id` is its sha256. */
export interface PersistedOperation {
  id: string;
  name: string;
  type: 'query' | 'mutation' | 'subscription';
  body: string;
}

/** The persisted entry of each document above, keyed by the document object itself. */
export const persistedOperations: ReadonlyMap<object, PersistedOperation> = new Map<object, PersistedOperation>([
  [CreatePetDocument, {"id":"a2bb820a71ed689e0e9892df6fd1b0b30d0aa1a814dcba1671b7b2ee14382631","name":"CreatePet","type":"mutation","body":"mutation CreatePet($input: CreatePetInput!) {\n  createPet(input: $input) {\n    ...PetFields\n  }\n}\n\nfragment PetFields on Pet {\n  id\n  name\n  species\n  createdAt\n  owner {\n    id\n    name\n  }\n}"}],
  [CurrentTenantDocument, {"id":"8cf62341b496831ab2bd8fdfa1319e3e44037b252a30c699f381e80d1f8f459e","name":"CurrentTenant","type":"query","body":"query CurrentTenant {\n  currentTenant {\n    id\n    slug\n    name\n    plan\n    status\n  }\n}"}],
  [DeletePetDocument, {"id":"2b43eac6050a0a67e98960e70aa0b63fde39d10db53c73013d028eb385f167a7","name":"DeletePet","type":"mutation","body":"mutation DeletePet($id: ID!) {\n  deletePet(id: $id)\n}"}],
  [GetPetDocument, {"id":"d26e8f543c27da556aed6da8568e7e106cbb068f8dd2874f6129935f60fbd9b0","name":"GetPet","type":"query","body":"query GetPet($id: ID!) {\n  pet(id: $id) {\n    ...PetFields\n  }\n}\n\nfragment PetFields on Pet {\n  id\n  name\n  species\n  createdAt\n  owner {\n    id\n    name\n  }\n}"}],
  [ListPetsDocument, {"id":"451460c645433d6117159e7e724085f3b70f8d995067d8033652fc4d018526a4","name":"ListPets","type":"query","body":"query ListPets($first: Int, $after: String, $species: String) {\n  pets(first: $first, after: $after, species: $species) {\n    totalCount\n    edges {\n      cursor\n      node {\n        ...PetFields\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nfragment PetFields on Pet {\n  id\n  name\n  species\n  createdAt\n  owner {\n    id\n    name\n  }\n}"}],
  [QuotaStatusDocument, {"id":"0c0037d79b582d3dc887375525889d736fc7a654bb59bc0727ddae09427a6964","name":"QuotaStatus","type":"query","body":"query QuotaStatus {\n  quotaStatus {\n    ...QuotaFields\n  }\n}\n\nfragment QuotaFields on QuotaStatus {\n  plan\n  limit\n  used\n  remaining\n  restoreRate\n  burnRatePerMinute\n  resetsAt\n  projectedExhaustionAt\n}"}],
  [QuotaStatusFeedDocument, {"id":"57577937a8fc5ab1accc1d2aa65cb3103df1b72694711468fe9913d446280993","name":"QuotaStatusFeed","type":"subscription","body":"subscription QuotaStatusFeed {\n  quotaStatus {\n    plan\n    limit\n    used\n    remaining\n    restoreRate\n    burnRatePerMinute\n    resetsAt\n    projectedExhaustionAt\n    recentOperations(first: 10) {\n      operationName\n      cost\n      latencyMs\n      outcome\n      at\n    }\n    usageByMinute(minutes: 30) {\n      minute\n      cost\n      operations\n    }\n  }\n}"}],
  [RecentOperationsDocument, {"id":"f3cf31ea6319440954b53fa43980330778fc72c897b042ec2e86a89228cbf4c8","name":"RecentOperations","type":"query","body":"query RecentOperations($first: Int) {\n  recentOperations(first: $first) {\n    operationName\n    cost\n    latencyMs\n    outcome\n    at\n  }\n}"}],
  [UpdatePetDocument, {"id":"07c57c4c695b2a9a5b9efac6b02355f89ef9078edf78fbcda498ab33c7e4d76e","name":"UpdatePet","type":"mutation","body":"mutation UpdatePet($id: ID!, $input: UpdatePetInput!) {\n  updatePet(id: $id, input: $input) {\n    ...PetFields\n  }\n}\n\nfragment PetFields on Pet {\n  id\n  name\n  species\n  createdAt\n  owner {\n    id\n    name\n  }\n}"}],
  [ViewerDocument, {"id":"1386fdf30402be396d4338489543101deaeadee7e7236296049214cccc207053","name":"Viewer","type":"query","body":"query Viewer {\n  viewer {\n    id\n    email\n    name\n    role\n    tenant {\n      id\n      slug\n    }\n  }\n}"}],
]);
