import type { Sql } from '../store/sql'

/** Filters of `/spend/logs`, validated by the route. Dates are `YYYY-MM-DD`, both ends inclusive. */
export interface SpendLogFilter {
  apiKey?: string
  userId?: string
  teamId?: string
  requestId?: string
  startDate?: string
  endDate?: string
}

/** LiteLLM's column names, so clients reading `/spend/logs` rows see what LiteLLM returns. */
const COLUMNS = `request_id, call_type, api_key, spend, total_tokens, prompt_tokens, completion_tokens,
  "startTime", "endTime", "completionStartTime", request_duration_ms, model, model_id, model_group,
  custom_llm_provider, api_base, "user", metadata, cache_hit, cache_key, request_tags, team_id,
  organization_id, end_user, requester_ip_address, session_id, status`

function where(filter: SpendLogFilter): { clause: string; params: unknown[] } {
  const conditions: string[] = []
  const params: unknown[] = []
  const add = (sql: (placeholder: string) => string, value: unknown) => {
    params.push(value)
    conditions.push(sql(`$${params.length}`))
  }
  if (filter.apiKey !== undefined) add((p) => `api_key = ${p}`, filter.apiKey)
  if (filter.userId !== undefined) add((p) => `"user" = ${p}`, filter.userId)
  if (filter.teamId !== undefined) add((p) => `team_id = ${p}`, filter.teamId)
  if (filter.requestId !== undefined) add((p) => `request_id = ${p}`, filter.requestId)
  // The end date is inclusive (its whole day); timestamps and dates are both UTC here.
  if (filter.startDate !== undefined) add((p) => `"startTime" >= ${p}::date`, filter.startDate)
  if (filter.endDate !== undefined) add((p) => `"startTime" < ${p}::date + 1`, filter.endDate)
  return { clause: conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '', params }
}

/** Raw rows, newest first, one page at a time so a large table cannot exhaust the gateway's memory. */
export async function spendLogRows(sql: Sql, filter: SpendLogFilter, limit: number, offset: number) {
  const { clause, params } = where(filter)
  return sql.query(
    `SELECT ${COLUMNS} FROM "LiteLLM_SpendLogs" ${clause}
     ORDER BY "startTime" DESC, request_id LIMIT ${limit} OFFSET ${offset}`,
    params,
  )
}

export interface DaySummary {
  startTime: string
  spend: number
  users: Record<string, number>
  models: Record<string, number>
  api_keys: Record<string, number>
}

/**
 * Grouped rows (day × key × user × model) read at most; far above what a real range has. Beyond
 * it the smallest groups are left out of the breakdowns (the day totals stay exact) and the answer
 * says so (`truncated`).
 */
export const MAX_GROUPS = 100_000
const DAY_MS = 86_400_000

export interface DaySummaries {
  days: DaySummary[]
  /** More groups than `maxGroups`: the per user/model/key breakdowns miss the smallest ones. */
  truncated: boolean
}

/**
 * LiteLLM's summarized `/spend/logs` (start and end date given): one entry per day from start to
 * end, zero-filled, with spend per user, model and key. Aggregated in SQL, so memory follows the
 * number of distinct groups, not of calls.
 */
export async function spendLogDays(
  sql: Sql,
  filter: SpendLogFilter & { startDate: string; endDate: string },
  maxGroups = MAX_GROUPS,
): Promise<DaySummaries> {
  const { clause, params } = where(filter)
  const groups = await sql.query<{
    day: string
    api_key: string
    user_id: string | null
    model: string
    spend: number
  }>(
    `SELECT to_char("startTime", 'YYYY-MM-DD') AS day, api_key, "user" AS user_id, model, sum(spend) AS spend
     FROM "LiteLLM_SpendLogs" ${clause} GROUP BY 1, 2, 3, 4
     ORDER BY 5 DESC, 1, 2, 3, 4 LIMIT ${maxGroups + 1}`,
    params,
  )
  const truncated = groups.length > maxGroups
  if (truncated) groups.length = maxGroups
  const days = new Map<string, DaySummary>()
  for (let t = Date.parse(filter.startDate); t <= Date.parse(filter.endDate); t += DAY_MS) {
    const day = new Date(t).toISOString().slice(0, 10)
    days.set(day, { startTime: day, spend: 0, users: {}, models: {}, api_keys: {} })
  }
  const bump = (map: Record<string, number>, name: string | null, spend: number) => {
    if (name) map[name] = (map[name] ?? 0) + spend
  }
  for (const g of groups) {
    const day = days.get(g.day)
    if (!day) continue
    day.spend += g.spend
    bump(day.users, g.user_id, g.spend)
    bump(day.models, g.model, g.spend)
    bump(day.api_keys, g.api_key, g.spend)
  }
  if (truncated) {
    // The breakdowns are cut; the day totals need not be (at most one row per day).
    const totals = await sql.query<{ day: string; spend: number }>(
      `SELECT to_char("startTime", 'YYYY-MM-DD') AS day, sum(spend) AS spend
       FROM "LiteLLM_SpendLogs" ${clause} GROUP BY 1 ORDER BY 1`,
      params,
    )
    for (const total of totals) {
      const day = days.get(total.day)
      if (day) day.spend = total.spend
    }
  }
  return { days: [...days.values()], truncated }
}

/**
 * `/global/spend`: LiteLLM reads the `MonthlyGlobalSpend` view, which despite its name is the spend
 * of the last 30 days (`startTime >= CURRENT_DATE - 30 days`); the same window here.
 */
export async function globalSpend(sql: Sql, now: Date): Promise<number> {
  const [row] = await sql.query<{ spend: number | null }>(
    `SELECT sum(spend) AS spend FROM "LiteLLM_SpendLogs"
     WHERE "startTime" >= (($1::timestamptz AT TIME ZONE 'UTC')::date - 30)`,
    [now],
  )
  return row?.spend ?? 0
}
