import type { Columns } from './sql-columns'

/** Writable columns of LiteLLM's tables (migration 001), with their types for parameter casts. */
export const KEY_TABLE = 'LiteLLM_VerificationToken'
export const USER_TABLE = 'LiteLLM_UserTable'
export const TEAM_TABLE = 'LiteLLM_TeamTable'
export const BUDGET_TABLE = 'LiteLLM_BudgetTable'
export const DELETED_KEY_TABLE = 'LiteLLM_DeletedVerificationToken'

const LIMITS: Columns = {
  max_budget: 'float8',
  max_parallel_requests: 'int4',
  tpm_limit: 'int8',
  rpm_limit: 'int8',
  budget_duration: 'text',
  budget_reset_at: 'timestamp',
  model_max_budget: 'jsonb',
  metadata: 'jsonb',
  models: 'text[]',
  spend: 'float8',
  updated_at: 'timestamp',
}

export const KEY_COLUMNS: Columns = {
  ...LIMITS,
  token: 'text',
  key_name: 'text',
  key_alias: 'text',
  expires: 'timestamp',
  aliases: 'jsonb',
  config: 'jsonb',
  user_id: 'text',
  team_id: 'text',
  permissions: 'jsonb',
  blocked: 'bool',
  allowed_cache_controls: 'text[]',
  allowed_routes: 'text[]',
  budget_id: 'text',
  organization_id: 'text',
  created_by: 'text',
  updated_by: 'text',
  /** Written by the spend batch; set directly only when /key/regenerate carries running totals over. */
  model_spend: 'jsonb',
}

export const USER_COLUMNS: Columns = {
  ...LIMITS,
  user_id: 'text',
  user_alias: 'text',
  team_id: 'text',
  organization_id: 'text',
  teams: 'text[]',
  user_role: 'text',
  user_email: 'text',
}

export const TEAM_COLUMNS: Columns = {
  ...LIMITS,
  team_id: 'text',
  team_alias: 'text',
  organization_id: 'text',
  admins: 'text[]',
  members: 'text[]',
  members_with_roles: 'jsonb',
  soft_budget: 'float8',
  blocked: 'bool',
}

export const BUDGET_COLUMNS: Columns = {
  budget_id: 'text',
  max_budget: 'float8',
  soft_budget: 'float8',
  model_max_budget: 'jsonb',
  created_by: 'text',
  updated_by: 'text',
  updated_at: 'timestamp',
}
