import { budgetResetAt } from './key-values'

/** User and team columns a request may set directly (LiteLLM's NewUserRequest / NewTeamRequest). */
const PLAIN = [
  'user_alias',
  'user_email',
  'user_role',
  'team_alias',
  'team_id',
  'organization_id',
  'max_budget',
  'soft_budget',
  'tpm_limit',
  'rpm_limit',
  'max_parallel_requests',
  'spend',
  'blocked',
] as const

/** NOT NULL columns: `null` means back to the default. */
const WITH_DEFAULT = {
  teams: [],
  models: [],
  metadata: {},
  model_max_budget: {},
  admins: [],
  members: [],
  members_with_roles: [],
} as const

/**
 * Column values for a user or team row from a request body (fields absent from the body stay
 * undefined, so an update leaves them alone); `budget_duration` also sets `budget_reset_at`, and
 * `tags` go into metadata (the stored one on update) as LiteLLM stores them.
 */
export function ownerColumnValues(
  body: Record<string, unknown>,
  now: number,
  existingMetadata: Record<string, unknown> = {},
): Record<string, unknown> {
  const values: Record<string, unknown> = {}
  for (const column of PLAIN) if (body[column] !== undefined) values[column] = body[column]
  for (const [column, fallback] of Object.entries(WITH_DEFAULT)) {
    if (body[column] !== undefined) values[column] = body[column] ?? fallback
  }
  if (Array.isArray(body.tags)) {
    const metadata = (values.metadata ?? existingMetadata) as Record<string, unknown>
    values.metadata = { ...metadata, tags: body.tags }
  }
  if (body.budget_duration !== undefined) {
    const duration = typeof body.budget_duration === 'string' ? body.budget_duration : null
    values.budget_duration = duration
    values.budget_reset_at = budgetResetAt(duration, now, 'budget_duration')
  }
  return values
}
