import type { Row } from '../store/sql'
import type { OwnerLimits, VirtualKey } from './virtual-key'

/**
 * The hot-path read: a key with its user's, team's and linked budget's limits in ONE query, as
 * LiteLLM's `get_key_object` joins them into `UserAPIKeyAuth`. A key's own `max_budget` wins over
 * its linked budget row's, as in LiteLLM's key budget resolver.
 */
export const KEY_FOR_AUTH_SQL = `
SELECT k.token, k.key_name, k.key_alias, k.models, k.expires, k.blocked, k.user_id, k.team_id, k.allowed_routes,
  COALESCE(k.max_budget, b.max_budget) AS max_budget, b.soft_budget, k.budget_duration, k.budget_reset_at,
  k.rpm_limit, k.tpm_limit, k.max_parallel_requests, k.model_max_budget, k.metadata,
  u.user_id AS u_id, u.models AS u_models, u.max_budget AS u_max_budget, u.budget_duration AS u_budget_duration,
  u.rpm_limit AS u_rpm_limit, u.tpm_limit AS u_tpm_limit, u.max_parallel_requests AS u_max_parallel_requests,
  t.team_id AS t_id, t.models AS t_models, t.max_budget AS t_max_budget, t.budget_duration AS t_budget_duration,
  t.rpm_limit AS t_rpm_limit, t.tpm_limit AS t_tpm_limit, t.max_parallel_requests AS t_max_parallel_requests,
  t.blocked AS t_blocked
FROM "LiteLLM_VerificationToken" k
LEFT JOIN "LiteLLM_UserTable" u ON u.user_id = k.user_id
LEFT JOIN "LiteLLM_TeamTable" t ON t.team_id = k.team_id
LEFT JOIN "LiteLLM_BudgetTable" b ON b.budget_id = k.budget_id
WHERE k.token = $1`

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const date = (v: unknown): Date | null => (v instanceof Date ? v : typeof v === 'string' ? new Date(v) : null)
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [])
export const record = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}

function numbers(v: unknown): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, n] of Object.entries(record(v))) if (typeof n === 'number') out[k] = n
  return out
}

function modelBudgets(v: unknown): VirtualKey['modelMaxBudget'] {
  const out: VirtualKey['modelMaxBudget'] = {}
  for (const [group, entry] of Object.entries(record(v))) {
    const { budget_limit, time_period } = record(entry)
    if (typeof budget_limit !== 'number') continue
    out[group] = typeof time_period === 'string' ? { budget_limit, time_period } : { budget_limit }
  }
  return out
}

function owner(row: Row, prefix: 'u_' | 't_'): OwnerLimits | null {
  const id = str(row[`${prefix}id`])
  if (id === null) return null
  return {
    id,
    models: strings(row[`${prefix}models`]),
    maxBudget: num(row[`${prefix}max_budget`]),
    budgetDuration: str(row[`${prefix}budget_duration`]),
    rpmLimit: num(row[`${prefix}rpm_limit`]),
    tpmLimit: num(row[`${prefix}tpm_limit`]),
    maxParallelRequests: num(row[`${prefix}max_parallel_requests`]),
  }
}

/** The normalised, cacheable record of a row read with KEY_FOR_AUTH_SQL. */
export function toVirtualKey(row: Row): VirtualKey {
  const metadata = record(row.metadata)
  const team = owner(row, 't_')
  return {
    token: String(row.token),
    keyName: str(row.key_name),
    keyAlias: str(row.key_alias),
    models: strings(row.models),
    expires: date(row.expires),
    blocked: row.blocked === true,
    userId: str(row.user_id),
    teamId: str(row.team_id),
    maxBudget: num(row.max_budget),
    softBudget: num(row.soft_budget),
    budgetDuration: str(row.budget_duration),
    budgetResetAt: date(row.budget_reset_at),
    rpmLimit: num(row.rpm_limit),
    tpmLimit: num(row.tpm_limit),
    maxParallelRequests: num(row.max_parallel_requests),
    // LiteLLM keeps per-model rate limits inside metadata (generate_key_helper_fn).
    modelRpmLimit: numbers(metadata.model_rpm_limit),
    modelTpmLimit: numbers(metadata.model_tpm_limit),
    modelMaxBudget: modelBudgets(row.model_max_budget),
    metadata,
    allowedRoutes: strings(row.allowed_routes),
    user: owner(row, 'u_'),
    team: team ? { ...team, blocked: row.t_blocked === true } : null,
  }
}
