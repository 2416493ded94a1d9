import type { Logger } from '../observability/logger'
import type { Sql } from '../store/sql'
import { nextBudgetReset, parseBudgetDuration } from './budget-duration'
import type { SharedSpendTotals } from './spend-totals'
import type { SpendEntity } from './spend-types'

export interface BudgetResetDeps {
  sql: Sql
  totals: SharedSpendTotals
  logger: Logger
  /** Wall clock in ms. */
  clock: () => number
  /** Drops cached copies of reset keys on every instance (their budget_reset_at changed). */
  invalidateKeys?: (tokens: readonly string[]) => Promise<void>
  timezone?: string
}

type Kind = 'key' | 'user' | 'team'

const TABLES: Record<Kind, { table: string; id: string }> = {
  key: { table: '"LiteLLM_VerificationToken"', id: 'token' },
  user: { table: '"LiteLLM_UserTable"', id: 'user_id' },
  team: { table: '"LiteLLM_TeamTable"', id: 'team_id' },
}

/** Rows handled per run; a larger backlog (first start after a long stop) drains over a few runs. */
const MAX_ROWS_PER_RUN = 5000

const dueQuery = (Object.keys(TABLES) as Kind[])
  .map(
    (kind) =>
      `SELECT '${kind}' AS kind, ${TABLES[kind].id} AS id, budget_duration, budget_reset_at FROM ${TABLES[kind].table}
       WHERE budget_reset_at <= ($1::timestamptz AT TIME ZONE 'UTC') AND budget_duration IS NOT NULL`,
  )
  .join('\nUNION ALL\n')

/**
 * Zeroes spend of due rows and schedules their next reset. The row lock plus the
 * `budget_reset_at = <value read>` guard make this safe with several instances: the second one to
 * get the lock sees the new reset time and skips the row, so a period is never reset twice (which
 * would wipe spend recorded since the first reset). RETURNING hands back the spend that was zeroed.
 */
const resetStatement = (kind: Kind): string => {
  const { table, id } = TABLES[kind]
  return `
WITH due AS (
  SELECT t.${id} AS id, t.spend AS old_spend, r.next_reset AT TIME ZONE 'UTC' AS next_reset
  FROM ${table} t
  JOIN jsonb_to_recordset($1::jsonb) AS r(id text, old_reset timestamptz, next_reset timestamptz) ON t.${id} = r.id
  WHERE t.budget_reset_at = (r.old_reset AT TIME ZONE 'UTC')
  FOR UPDATE OF t
)
UPDATE ${table} t SET spend = 0, budget_reset_at = due.next_reset, updated_at = (now() AT TIME ZONE 'UTC')
FROM due WHERE t.${id} = due.id
RETURNING t.${id} AS id, due.old_spend AS spend`
}

type DueRow = {
  kind: Kind
  id: string
  budget_duration: string
  budget_reset_at: Date
}

export interface ResetResult {
  key: string[]
  user: string[]
  team: string[]
}

/**
 * LiteLLM's `reset_budget` job: spend → 0 for every key, user and team whose `budget_reset_at` has
 * passed, next reset from `budget_duration` (calendar-aligned, see budget-duration.ts). The next
 * time is computed here rather than in SQL so there is one implementation of the duration rules.
 * Then the shared totals drop by exactly what was zeroed (spend-totals.ts explains why not delete).
 */
export async function resetDueBudgets(deps: BudgetResetDeps): Promise<ResetResult> {
  const now = new Date(deps.clock())
  const due = await deps.sql.query<DueRow>(`${dueQuery}\nLIMIT ${MAX_ROWS_PER_RUN}`, [now])
  const result: ResetResult = { key: [], user: [], team: [] }
  if (due.length === 0) return result

  const plans: Record<Kind, Array<{ id: string; old_reset: string; next_reset: string }>> = {
    key: [],
    user: [],
    team: [],
  }
  for (const row of due) {
    try {
      const next = nextBudgetReset(parseBudgetDuration(row.budget_duration), now, deps.timezone)
      plans[row.kind].push({
        id: row.id,
        old_reset: row.budget_reset_at.toISOString(),
        next_reset: next.toISOString(),
      })
    } catch (error) {
      deps.logger.warn('budget not reset: invalid budget_duration', {
        kind: row.kind,
        id: row.id,
        budget_duration: row.budget_duration,
        error,
      })
    }
  }
  const kinds = (Object.keys(plans) as Kind[]).filter((kind) => plans[kind].length > 0)
  const rows = await deps.sql.transaction(
    kinds.map((kind) => ({ text: resetStatement(kind), params: [JSON.stringify(plans[kind])] })),
  )

  const zeroed: Array<{ entity: SpendEntity; spend: number }> = []
  kinds.forEach((kind, i) => {
    for (const row of rows[i] ?? []) {
      const id = String(row.id)
      result[kind].push(id)
      zeroed.push({ entity: { kind, id }, spend: Number(row.spend ?? 0) })
    }
  })
  await deps.totals.subtractReset(zeroed)
  if (result.key.length > 0) await deps.invalidateKeys?.(result.key)
  const total = zeroed.length
  if (total > 0)
    deps.logger.info('budgets reset', {
      keys: result.key.length,
      users: result.user.length,
      teams: result.team.length,
    })
  return result
}
