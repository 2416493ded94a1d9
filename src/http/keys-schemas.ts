import { z } from 'zod'

/**
 * Request bodies of LiteLLM's management API (`GenerateKeyRequest`, `UpdateKeyRequest`,
 * `NewUserRequest`, `NewTeamRequest` …), with LiteLLM's field names. Fields this gateway does not
 * store are accepted and ignored, as pydantic ignores unknown fields there.
 */
const str = z.string().nullish()
const strings = z.array(z.string()).nullish()
const object = z.record(z.string(), z.unknown()).nullish()
const count = z.number().int().nullish()
const money = z.number().nullish()

/** `{group: {"budget_limit": usd, "time_period": "1d"}}` (LiteLLM's BudgetConfig). */
const modelMaxBudget = z
  .record(z.string(), z.object({ budget_limit: z.number(), time_period: z.string().optional() }).loose())
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
  max_parallel_requests: count,
  rpm_limit: count,
  tpm_limit: count,
  model_rpm_limit: z.record(z.string(), z.number()).nullish(),
  model_tpm_limit: z.record(z.string(), z.number()).nullish(),
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

/** The budget fields LiteLLM refuses when negative. */
export const BUDGET_FIELDS = ['max_budget', 'soft_budget'] as const

export const generateKeySchema = z.object({ key: str, ...keyFields })
export const updateKeySchema = z.object({ key: z.string(), ...keyFields })
export const regenerateKeySchema = z.object({ key: str, new_key: str, ...keyFields })
export const keyRefSchema = z.object({ key: z.string() })
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
  tpm_limit: count,
  rpm_limit: count,
  max_parallel_requests: count,
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
export const updateUserSchema = z.object({ user_id: z.string(), ...userFields })
export const deleteUsersSchema = z.object({ user_ids: z.array(z.string()) })

const member = z.object({ role: z.string().optional(), user_id: str, user_email: str }).loose()

const teamFields = {
  team_alias: str,
  organization_id: str,
  admins: strings,
  members: strings,
  members_with_roles: z.array(member).nullish(),
  metadata: object,
  tpm_limit: count,
  rpm_limit: count,
  max_parallel_requests: count,
  max_budget: money,
  soft_budget: money,
  budget_duration: str,
  models: strings,
  blocked: z.boolean().nullish(),
  model_max_budget: modelMaxBudget,
  tags: strings,
}

export const newTeamSchema = z.object({ team_id: str, ...teamFields })
export const updateTeamSchema = z.object({ team_id: z.string(), ...teamFields })
export const deleteTeamsSchema = z.object({ team_ids: z.array(z.string()) })
export const teamRefSchema = z.object({ team_id: z.string() })
