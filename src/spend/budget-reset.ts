import type { Logger } from '../observability/logger'
import type { Sql } from '../store/sql'
import { nextBudgetReset, parseBudgetDuration } from './budget-duration'
import type { SharedSpendTotals, ZeroedTotal } from './spend-totals'

export interface BudgetResetDeps {
  sql: Sql
  totals: SharedSpendTotals
  logger: Logger
  /** Wall clock in ms. */
  clock: () => number
  /** Drops cached copies of reset keys on every instance (their budget_reset_at changed). */
  invalidateKeys?: (tokens: readonly string[]) => Promise<void>
  timezone?: string
  /**
   * Keeps the running-total updates that failed after Postgres was reset and retries them at the
   * start of every run. Without it such a failure is thrown (after Postgres committed).
   */
  followUps?: ResetFollowUps
  /** Rows skipped for an invalid budget_duration (warned once each); kept by the caller across runs. */
  invalid?: InvalidDurations
}

type Kind = 'key' | 'user' | 'team'

const TABLES: Record<Kind, { table: string; id: string }> = {
  key: { table: '"LiteLLM_VerificationToken"', id: 'token' },
  user: { table: '"LiteLLM_UserTable"', id: 'user_id' },
  team: { table: '"LiteLLM_TeamTable"', id: 'team_id' },
}

/** Rows handled per run; a larger backlog (first start after a long stop) drains over a few runs. */
const MAX_ROWS_PER_RUN = 5000

/**
 * Due rows, most overdue first, so a backlog larger than one run drains in order. Rows whose
 * budget_duration this instance already found invalid ($2: [{kind, id, duration}]) are left out
 * while the value is unchanged: otherwise enough of them would fill every run's LIMIT and keep
 * valid rows from ever being reset.
 */
const dueQuery = `SELECT * FROM (${(Object.keys(TABLES) as Kind[])
  .map(
    (kind) =>
      `SELECT '${kind}' AS kind, ${TABLES[kind].id} AS id, budget_duration, budget_reset_at FROM ${TABLES[kind].table}
       WHERE budget_reset_at <= ($1::timestamptz AT TIME ZONE 'UTC') AND budget_duration IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($2::jsonb) AS x(kind text, id text, duration text)
           WHERE x.kind = '${kind}' AND x.id = ${TABLES[kind].id} AND x.duration = budget_duration)`,
  )
  .join('\nUNION ALL\n')}) due
ORDER BY budget_reset_at, kind, id
LIMIT ${MAX_ROWS_PER_RUN}`

/**
 * Zeroes spend of due rows and schedules their next reset. The row lock plus the
 * `budget_reset_at = <value read>` guard make this safe with several instances: the second one to
 * get the lock sees the new reset time and skips the row, so a period is never reset twice (which
 * would wipe spend recorded since the first reset). RETURNING hands back the spend that was zeroed.
 * A key's per-model spend (`model_spend`, for `model_max_budget`) is zeroed with it: entries set to
 * 0, the old object returned, so the per-model totals drop by exactly what was zeroed too.
 */
const resetStatement = (kind: Kind): string => {
  const { table, id } = TABLES[kind]
  const modelSpend = kind === 'key'
  return `
WITH due AS (
  SELECT t.${id} AS id, t.spend AS old_spend${modelSpend ? ', t.model_spend AS old_model_spend' : ''},
    r.next_reset AT TIME ZONE 'UTC' AS next_reset
  FROM ${table} t
  JOIN jsonb_to_recordset($1::jsonb) AS r(id text, old_reset timestamptz, next_reset timestamptz) ON t.${id} = r.id
  WHERE t.budget_reset_at = (r.old_reset AT TIME ZONE 'UTC')
  FOR UPDATE OF t
)
UPDATE ${table} t SET spend = 0, budget_reset_at = due.next_reset, updated_at = (now() AT TIME ZONE 'UTC')${
    modelSpend
      ? `,
  model_spend = CASE WHEN jsonb_typeof(t.model_spend) = 'object'
    THEN (SELECT COALESCE(jsonb_object_agg(e.key, 0), '{}'::jsonb) FROM jsonb_each(t.model_spend) AS e)
    ELSE '{}'::jsonb END`
      : ''
  }
FROM due WHERE t.${id} = due.id
RETURNING t.${id} AS id, due.old_spend AS spend${modelSpend ? ', due.old_model_spend AS model_spend' : ''}`
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
 * Then the shared totals drop by exactly what was zeroed (spend-totals.ts explains why not delete),
 * once per reset; a failure there is retried by `followUps` on later runs.
 *
 * Per-model budgets (`model_max_budget`) reset with their key's `budget_duration`: a key's reset
 * zeroes its `model_spend` and lowers the per-model totals like the key's. A separate window per
 * `model_max_budget[group].time_period` (LiteLLM keeps a counter per period) is not implemented:
 * the budget check (keys/authorize-call.ts) would have to name the period in the total it reads.
 * Until then `time_period` is honoured only as far as it matches the key's `budget_duration`, and a
 * key with `model_max_budget` but no `budget_duration` never resets its per-model spend.
 */
export async function resetDueBudgets(deps: BudgetResetDeps): Promise<ResetResult> {
  await deps.followUps?.retry()
  const now = new Date(deps.clock())
  const invalid = deps.invalid ?? new InvalidDurations()
  const due = await deps.sql.query<DueRow>(dueQuery, [now, invalid.json()])
  const result: ResetResult = { key: [], user: [], team: [] }
  if (due.length === 0) return result

  const plans: Record<Kind, Array<{ id: string; old_reset: string; next_reset: string }>> = {
    key: [],
    user: [],
    team: [],
  }
  const resetAt = new Map<string, string>()
  for (const row of due) {
    try {
      const next = nextBudgetReset(parseBudgetDuration(row.budget_duration), now, deps.timezone)
      const oldReset = row.budget_reset_at.toISOString()
      plans[row.kind].push({ id: row.id, old_reset: oldReset, next_reset: next.toISOString() })
      resetAt.set(`${row.kind}:${row.id}`, oldReset)
    } catch (error) {
      invalid.add(row.kind, row.id, row.budget_duration, error)
    }
  }
  invalid.warnNew(deps.logger)
  const kinds = (Object.keys(plans) as Kind[]).filter((kind) => plans[kind].length > 0)
  if (kinds.length === 0) return result
  const rows = await deps.sql.transaction(
    kinds.map((kind) => ({ text: resetStatement(kind), params: [JSON.stringify(plans[kind])] })),
  )

  const zeroed: ZeroedTotal[] = []
  kinds.forEach((kind, i) => {
    for (const row of rows[i] ?? []) {
      const id = String(row.id)
      const at = resetAt.get(`${kind}:${id}`)
      result[kind].push(id)
      zeroed.push({ entity: { kind, id }, spend: Number(row.spend ?? 0), resetAt: at })
      if (kind !== 'key') continue
      for (const [model, spend] of Object.entries(objectOf(row.model_spend))) {
        if (typeof spend === 'number' && Number.isFinite(spend) && spend !== 0)
          zeroed.push({ entity: { kind: 'key-model', id, model }, spend, resetAt: at })
      }
    }
  })
  const skipped = due.length - zeroed.filter((z) => z.entity.kind !== 'key-model').length
  if (zeroed.length > 0 || skipped > 0) {
    // Committed: from here on the reset happened, whatever the counters do.
    deps.logger.info('budgets reset', {
      keys: result.key.length,
      users: result.user.length,
      teams: result.team.length,
      model_totals: zeroed.length - result.key.length - result.user.length - result.team.length,
      // Due when read, but reset by another instance first (or invalid, warned above).
      skipped,
    })
  }
  if (result.key.length > 0) {
    await deps.invalidateKeys?.(result.key).catch((error: unknown) =>
      deps.logger.warn('reset keys not invalidated in the key cache; cached copies expire on their own', {
        keys: result.key.length,
        error,
      }),
    )
  }
  try {
    await deps.totals.subtractReset(zeroed)
  } catch (error) {
    if (!deps.followUps) throw error
    deps.followUps.add(zeroed, error)
  }
  return result
}

const objectOf = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {}

/**
 * Rows with a budget_duration that does not parse: left out of later runs while the value stays
 * the same, each warned about once per instance (one log line per run that finds new ones). Bounded;
 * past the bound the oldest are forgotten (and warned about again if still due).
 */
export class InvalidDurations {
  private readonly rows = new Map<string, { kind: Kind; id: string; duration: string }>()
  private fresh: Array<{ kind: Kind; id: string; budget_duration: string; error: unknown }> = []

  constructor(private readonly max = 10_000) {}

  add(kind: Kind, id: string, duration: string, error: unknown): void {
    const key = JSON.stringify([kind, id, duration])
    if (this.rows.has(key)) return
    if (this.rows.size >= this.max) {
      const oldest = this.rows.keys().next().value
      if (oldest !== undefined) this.rows.delete(oldest)
    }
    this.rows.set(key, { kind, id, duration })
    this.fresh.push({ kind, id, budget_duration: duration, error })
  }

  /** The `$2` parameter of the due query. */
  json(): string {
    return JSON.stringify([...this.rows.values()])
  }

  warnNew(logger: Pick<Logger, 'warn'>): void {
    if (this.fresh.length === 0) return
    const [first] = this.fresh
    logger.warn('budget not reset: invalid budget_duration', {
      rows: this.fresh.length,
      kind: first?.kind,
      id: first?.id,
      budget_duration: first?.budget_duration,
      error: first?.error,
      examples: this.fresh
        .slice(0, 5)
        .map(({ kind, id, budget_duration }) => ({ kind, id, budget_duration })),
    })
    this.fresh = []
  }
}

/** Retries per reset before its totals are deleted instead (then seeded from Postgres again). */
export const RESET_FOLLOW_UP_ATTEMPTS = 5
/** Totals kept waiting at most; past it the oldest are given up with an error log. */
const MAX_PENDING_TOTALS = 100_000

/**
 * Running-total updates of committed budget resets that failed (Redis unreachable, a lost reply):
 * kept in memory and retried at the start of every reset run until they succeed. The subtraction
 * is guarded per reset (subtractResetOnceScript), so a retry after an attempt that did apply is a
 * no-op. After RESET_FOLLOW_UP_ATTEMPTS failed runs the totals are deleted instead, so they are
 * seeded from Postgres again (losing at most the spend not yet flushed, never keeping the old
 * period's spend); a failed delete is retried the same way.
 */
export class ResetFollowUps {
  private pending: Array<{ zeroed: ZeroedTotal[]; attempts: number }> = []

  constructor(
    private readonly totals: SharedSpendTotals,
    private readonly logger: Logger,
    private readonly maxAttempts = RESET_FOLLOW_UP_ATTEMPTS,
  ) {}

  /** Totals still waiting for their update. */
  get size(): number {
    return this.pending.reduce((n, p) => n + p.zeroed.length, 0)
  }

  add(zeroed: readonly ZeroedTotal[], error: unknown): void {
    if (zeroed.length === 0) return
    this.pending.push({ zeroed: [...zeroed], attempts: 1 })
    this.logger.warn(
      'budget reset committed, but the running totals were not lowered yet; retrying on the next run',
      {
        totals: zeroed.length,
        error,
      },
    )
    while (this.size > MAX_PENDING_TOTALS && this.pending.length > 1) {
      const dropped = this.pending.shift()
      this.logger.error(
        'running totals after a budget reset given up (too many waiting); they expire on their own',
        {
          totals: dropped?.zeroed.length,
        },
      )
    }
  }

  async retry(): Promise<void> {
    const waiting = this.pending
    this.pending = []
    for (const entry of waiting) {
      const give = entry.attempts >= this.maxAttempts
      try {
        if (give) await this.totals.forget(entry.zeroed.map((z) => z.entity))
        else await this.totals.subtractReset(entry.zeroed)
        this.logger.info(
          give
            ? 'running totals deleted after failed updates; they are seeded from Postgres again'
            : 'running totals lowered after an earlier failure',
          { totals: entry.zeroed.length, attempts: entry.attempts },
        )
      } catch (error) {
        this.pending.push({ zeroed: entry.zeroed, attempts: entry.attempts + 1 })
        this.logger.warn('running totals after a budget reset still not updated; retrying on the next run', {
          totals: entry.zeroed.length,
          attempts: entry.attempts + 1,
          error,
        })
      }
    }
  }
}
