import { badRequest } from '../errors'
import { nextBudgetReset, parseBudgetDuration } from '../spend/budget-duration'
import { expiresAt } from './key-expiry'

/** The `/key/generate` / `/key/update` / `/key/{key}/regenerate` fields stored on the key row. */
export interface KeyInput {
  key_alias?: string | null | undefined
  duration?: string | null | undefined
  models?: string[] | null | undefined
  aliases?: Record<string, unknown> | null | undefined
  config?: Record<string, unknown> | null | undefined
  spend?: number | null | undefined
  max_budget?: number | null | undefined
  budget_duration?: string | null | undefined
  model_max_budget?:
    | Record<string, { budget_limit: number; time_period?: string | undefined }>
    | null
    | undefined
  max_parallel_requests?: number | null | undefined
  rpm_limit?: number | null | undefined
  tpm_limit?: number | null | undefined
  model_rpm_limit?: Record<string, number> | null | undefined
  model_tpm_limit?: Record<string, number> | null | undefined
  user_id?: string | null | undefined
  team_id?: string | null | undefined
  organization_id?: string | null | undefined
  budget_id?: string | null | undefined
  metadata?: Record<string, unknown> | null | undefined
  allowed_cache_controls?: string[] | null | undefined
  permissions?: Record<string, unknown> | null | undefined
  blocked?: boolean | null | undefined
  tags?: string[] | null | undefined
  guardrails?: string[] | null | undefined
  allowed_routes?: string[] | null | undefined
  key_type?: 'llm_api' | 'management' | 'read_only' | 'default' | null | undefined
}

/** Columns copied as given; `null` clears them (LiteLLM updates with `exclude_unset`, not `exclude_none`). */
const NULLABLE = [
  'key_alias',
  'spend',
  'max_budget',
  'max_parallel_requests',
  'rpm_limit',
  'tpm_limit',
  'user_id',
  'team_id',
  'organization_id',
  'budget_id',
  'blocked',
] as const

/** NOT NULL columns: `null` means "back to the default" ([] or {}). */
const WITH_DEFAULT = {
  models: [],
  aliases: {},
  config: {},
  model_max_budget: {},
  allowed_cache_controls: [],
  permissions: {},
  allowed_routes: [],
} as const

/** Request fields LiteLLM stores inside `metadata` (`LiteLLM_ManagementEndpoint_MetadataFields`). */
const METADATA_FIELDS = ['model_rpm_limit', 'model_tpm_limit', 'tags', 'guardrails'] as const

/** `key_type` is sugar for `allowed_routes` (LiteLLM's `handle_key_type`). */
const KEY_TYPE_ROUTES = {
  llm_api: ['llm_api_routes'],
  management: ['management_routes'],
  read_only: ['info_routes'],
}

/**
 * The key row's column values for a request: undefined leaves a column alone (update), so
 * `/key/generate` gets defaults from the table. `existingMetadata` is the stored metadata on
 * update: it is kept unless the request replaces it, and metadata fields are merged into it.
 */
export function keyColumnValues(
  input: KeyInput,
  now: number,
  existingMetadata?: Record<string, unknown>,
): Record<string, unknown> {
  const values: Record<string, unknown> = {}
  for (const column of NULLABLE) if (input[column] !== undefined) values[column] = input[column]
  for (const [column, fallback] of Object.entries(WITH_DEFAULT)) {
    const value = input[column as keyof typeof WITH_DEFAULT]
    if (value !== undefined) values[column] = value ?? fallback
  }
  if (input.key_type && input.key_type !== 'default') values.allowed_routes = KEY_TYPE_ROUTES[input.key_type]

  const metadata = metadataOf(input, existingMetadata)
  if (metadata) values.metadata = metadata

  if (input.duration !== undefined) values.expires = expiryOf(input.duration, now)
  if (input.budget_duration !== undefined) {
    values.budget_duration = input.budget_duration
    values.budget_reset_at = budgetResetAt(input.budget_duration, now, 'budget_duration')
  }
  return values
}

function metadataOf(input: KeyInput, existing: Record<string, unknown> | undefined) {
  const touched =
    input.metadata !== undefined || METADATA_FIELDS.some((f) => input[f] !== undefined && input[f] !== null)
  if (!touched) return undefined
  const metadata: Record<string, unknown> = { ...(input.metadata === undefined ? existing : input.metadata) }
  for (const field of METADATA_FIELDS) {
    const value = input[field]
    if (value !== undefined && value !== null) metadata[field] = value
  }
  return metadata
}

/**
 * The latest timestamp stored: 9999-12-31T23:59:59.999Z. Later dates are valid for Postgres but
 * their ISO form (`+010000-…`) is not, and no client expects them; a duration that goes further is
 * a 400, not a 500.
 */
const MAX_TIMESTAMP = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

function withinRange(date: Date | null, param: string, duration: string): Date | null {
  if (date !== null && !(date.getTime() <= MAX_TIMESTAMP)) {
    throw badRequest(`Invalid ${param} '${duration}': it ends after the year 9999.`, param)
  }
  return date
}

function expiryOf(duration: string | null, now: number): Date | null {
  let date: Date | null
  try {
    date = expiresAt(duration, now)
  } catch (error) {
    throw badRequest((error as Error).message.replace('budget_duration', 'duration'), 'duration')
  }
  return withinRange(date, 'duration', duration ?? '')
}

/** `budget_reset_at` for a `budget_duration` (null clears it); a bad duration is a 400 naming `param`. */
export function budgetResetAt(duration: string | null, now: number, param: string): Date | null {
  if (duration === null) return null
  let date: Date
  try {
    date = nextBudgetReset(parseBudgetDuration(duration), new Date(now))
  } catch (error) {
    throw badRequest((error as Error).message, param)
  }
  return withinRange(date, param, duration)
}

/**
 * LiteLLM answers a negative budget with 400 `max_budget cannot be negative. Received: -1`
 * (`_validate_max_budget`); the same rule for every budget field of the request.
 */
export function checkBudgets(body: Record<string, unknown>, fields: readonly string[]): void {
  for (const field of fields) {
    const value = body[field]
    if (typeof value === 'number' && value < 0) {
      throw badRequest(`${field} cannot be negative. Received: ${value}`, field)
    }
  }
}
