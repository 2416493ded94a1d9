/**
 * A virtual key as the hot path needs it: the `LiteLLM_VerificationToken` row joined with its
 * user's and team's limits, normalised. Cached per instance; never holds the raw key.
 */
export interface VirtualKey {
  /** sha256 hex of the raw key: the primary key, and the id spend and limits are keyed on. */
  token: string
  keyName: string | null
  keyAlias: string | null
  /** Allowed model groups; empty = all (LiteLLM), `all-proxy-models` = all. */
  models: string[]
  expires: Date | null
  blocked: boolean
  userId: string | null
  teamId: string | null
  maxBudget: number | null
  softBudget: number | null
  budgetDuration: string | null
  budgetResetAt: Date | null
  rpmLimit: number | null
  tpmLimit: number | null
  maxParallelRequests: number | null
  /** `{group: n}`, stored in `metadata` as LiteLLM does. */
  modelRpmLimit: Record<string, number>
  modelTpmLimit: Record<string, number>
  /** `{group: {budget_limit, time_period}}`. */
  modelMaxBudget: Record<string, { budget_limit: number; time_period?: string }>
  metadata: Record<string, unknown>
  /**
   * Routes the key may call (LiteLLM `allowed_routes`): paths (exact or as a prefix), `/x/*`
   * wildcards, or route groups such as `llm_api_routes` (what `key_type` sets). Empty or absent =
   * every route.
   */
  allowedRoutes?: string[]
  user: OwnerLimits | null
  team: (OwnerLimits & { blocked: boolean }) | null
}

/** Limits of the user or team that owns a key (their budgets apply to every key they own). */
export interface OwnerLimits {
  id: string
  models: string[]
  maxBudget: number | null
  budgetDuration: string | null
  rpmLimit: number | null
  tpmLimit: number | null
  maxParallelRequests: number | null
}

/** Who is calling: the master key, or a virtual key (then `key` is its record). */
export interface Caller {
  /** sha256 hex of the presented key. */
  keyHash: string
  isMaster: boolean
  key?: VirtualKey
}
