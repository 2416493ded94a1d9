import { z } from 'zod'

/**
 * Request bodies of LiteLLM's management API (`GenerateKeyRequest`, `UpdateKeyRequest`,
 * `NewUserRequest`, `NewTeamRequest` …), with LiteLLM's field names. Fields this gateway does not
 * store are accepted and ignored, as pydantic ignores unknown fields there.
 */

/** Whether a JSON value holds U+0000 anywhere, in a string or an object key. */
export function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000')
  if (Array.isArray(value)) return value.some(containsNul)
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([k, v]) => k.includes('\u0000') || containsNul(v))
  }
  return false
}

export const NUL_MESSAGE = 'must not contain NUL (\\u0000) characters'

/** Text Postgres can store: `text` and `jsonb` both refuse U+0000 (which would be a 500). */
export const safeText = z.string().refine((text) => !text.includes('\u0000'), NUL_MESSAGE)

const str = safeText.nullish()
const strings = z.array(safeText).nullish()
/** Free-form JSON objects (metadata, config …), stored as jsonb. */
const object = z
  .record(safeText, z.unknown())
  .refine((value) => !containsNul(value), NUL_MESSAGE)
  .nullish()
/** `integer` columns (max_parallel_requests): 0 … 2^31-1. */
const int4 = z.number().int().min(0).max(2_147_483_647)
/** `bigint` columns (rpm_limit, tpm_limit), as far as a JSON number is exact: 0 … 2^53-1. */
const int8 = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
/** Negative values are refused with LiteLLM's message by `checkBudgets` (see BUDGET_FIELDS). */
const money = z.number().nullish()
const perModel = z.record(safeText, int8).nullish()

/** `{group: {"budget_limit": usd, "time_period": "1d"}}` (LiteLLM's BudgetConfig). */
const modelMaxBudget = z
  .record(
    safeText,
    z
      .object({ budget_limit: z.number().min(0), time_period: safeText.optional() })
      .loose()
      .refine((value) => !containsNul(value), NUL_MESSAGE),
  )
  .nullish()

const keyFields = {
  key_alias: str,
  duration: str,
  models: strings,
  aliases: object,
  config: object,
  spend: money,
  max_budget: money,
  budget_duration: str,
  soft_budget: money,
  model_max_budget: modelMaxBudget,
  max_parallel_requests: int4.nullish(),
  rpm_limit: int8.nullish(),
  tpm_limit: int8.nullish(),
  model_rpm_limit: perModel,
  model_tpm_limit: perModel,
  user_id: str,
  team_id: str,
  organization_id: str,
  budget_id: str,
  metadata: object,
  allowed_cache_controls: strings,
  permissions: object,
  blocked: z.boolean().nullish(),
  tags: strings,
  guardrails: strings,
  allowed_routes: strings,
  key_type: z.enum(['llm_api', 'management', 'read_only', 'default']).nullish(),
}

/** The budget fields LiteLLM refuses when negative (and `spend`, which cannot be either). */
export const BUDGET_FIELDS = ['max_budget', 'soft_budget', 'spend'] as const

export const generateKeySchema = z.object({ key: str, ...keyFields })
export const updateKeySchema = z.object({ key: safeText, ...keyFields })
export const regenerateKeySchema = z.object({ key: str, new_key: str, ...keyFields })
export const keyRefSchema = z.object({ key: safeText })
export const deleteKeysSchema = z.object({ keys: strings, key_aliases: strings })

const userFields = {
  user_alias: str,
  user_email: str,
  user_role: str,
  teams: strings,
  team_id: str,
  organization_id: str,
  max_budget: money,
  budget_duration: str,
  models: strings,
  tpm_limit: int8.nullish(),
  rpm_limit: int8.nullish(),
  max_parallel_requests: int4.nullish(),
  metadata: object,
  model_max_budget: modelMaxBudget,
  spend: money,
}

export const newUserSchema = z.object({
  user_id: str,
  ...userFields,
  auto_create_key: z.boolean().nullish(),
  key_alias: str,
  duration: str,
})
export const updateUserSchema = z.object({ user_id: safeText, ...userFields })
export const deleteUsersSchema = z.object({ user_ids: z.array(safeText) })

const member = z
  .object({ role: safeText.optional(), user_id: str, user_email: str })
  .loose()
  .refine((value) => !containsNul(value), NUL_MESSAGE)

const teamFields = {
  team_alias: str,
  organization_id: str,
  admins: strings,
  members: strings,
  members_with_roles: z.array(member).nullish(),
  metadata: object,
  tpm_limit: int8.nullish(),
  rpm_limit: int8.nullish(),
  max_parallel_requests: int4.nullish(),
  max_budget: money,
  soft_budget: money,
  budget_duration: str,
  models: strings,
  blocked: z.boolean().nullish(),
  model_max_budget: modelMaxBudget,
  tags: strings,
}

export const newTeamSchema = z.object({ team_id: str, ...teamFields })
export const updateTeamSchema = z.object({ team_id: safeText, ...teamFields })
export const deleteTeamsSchema = z.object({ team_ids: z.array(safeText) })
export const teamRefSchema = z.object({ team_id: safeText })
