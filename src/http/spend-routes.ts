import type { IttyRouterType } from 'itty-router'
import { sha256Hex } from '../auth/sha256'
import { GatewayError } from '../errors'
import type { Sql } from '../store/sql'
import type { Gateway } from './context'
import { globalSpend, type SpendLogFilter, spendLogDays, spendLogRows } from './spend-logs'
import { type ReportGroup, spendReport } from './spend-report'

/** Raw rows per response at most; pages beyond with `offset`. */
const MAX_ROWS = 1000
/** Zero-filled days of a summary at most (a typo in a year must not build a million entries). */
const MAX_DAYS = 1000

/** /spend/logs, /global/spend, /global/spend/report (master key only). */
export function registerSpendRoutes(router: IttyRouterType, gw: Gateway): void {
  router
    .get('/spend/logs', (request) => withSql(request, gw, (sql, query) => spendLogs(sql, query)))
    .get('/global/spend', (request) =>
      withSql(request, gw, async (sql) => ({
        spend: await globalSpend(sql, new Date(gw.clock())),
        max_budget: numberOr0(gw.config.litellmSettings.max_budget),
      })),
    )
    .get('/global/spend/report', (request) => withSql(request, gw, (sql, query) => report(sql, query)))
}

/**
 * Set on summaries that hit their row limit (their breakdowns miss the smallest groups). A header,
 * so the JSON keeps LiteLLM's shape.
 */
export const TRUNCATED_HEADER = 'x-multillm-truncated'

/** A handler's answer, when it needs more than a JSON body. */
class Answer {
  constructor(
    readonly body: unknown,
    readonly truncated: boolean,
  ) {}
}

/** Master key, then a database, then the handler; the answer is JSON. */
async function withSql(
  request: Request,
  gw: Gateway,
  handler: (sql: Sql, query: URLSearchParams) => Promise<unknown>,
): Promise<Response> {
  const caller = await gw.authenticate(request)
  if (!caller.isMaster) {
    throw new GatewayError({
      status: 403,
      message: 'Only the proxy admin (master key) can read spend.',
      type: 'auth_error',
      origin: 'client',
    })
  }
  if (!gw.stores) return dbNotConnected()
  const answer = await handler(gw.stores.sql, new URL(request.url).searchParams)
  const headers = new Headers({ 'content-type': 'application/json' })
  if (!(answer instanceof Answer)) return new Response(JSON.stringify(answer), { headers })
  if (answer.truncated) {
    headers.set(TRUNCATED_HEADER, 'true')
    gw.logger.warn('spend summary truncated at its row limit', { path: new URL(request.url).pathname })
  }
  return new Response(JSON.stringify(answer.body), { headers })
}

/** LiteLLM's answer when spend is asked of a proxy without a database (its own error type). */
function dbNotConnected(): Response {
  const message =
    'Database not connected. Connect a database to your proxy - https://docs.litellm.ai/docs/simple_proxy#managing-auth---virtual-keys'
  return new Response(
    JSON.stringify({ error: { message, type: 'db_not_connected_error', param: null, code: '500' } }),
    { status: 500, headers: { 'content-type': 'application/json' } },
  )
}

async function spendLogs(sql: Sql, query: URLSearchParams): Promise<unknown> {
  const apiKey = text(query, 'api_key')
  const filter: SpendLogFilter = {
    apiKey: apiKey?.startsWith('sk-') ? await sha256Hex(apiKey) : apiKey,
    userId: text(query, 'user_id'),
    teamId: text(query, 'team_id'),
    requestId: text(query, 'request_id'),
    startDate: date(query, 'start_date'),
    endDate: date(query, 'end_date'),
  }
  const { startDate, endDate } = filter
  if (query.get('summarize')?.toLowerCase() !== 'false' && startDate !== undefined && endDate !== undefined) {
    checkRange(startDate, endDate)
    const { days, truncated } = await spendLogDays(sql, { ...filter, startDate, endDate })
    return new Answer(days, truncated)
  }
  const limit = count(query, 'limit', MAX_ROWS, 1, MAX_ROWS)
  return spendLogRows(sql, filter, limit, count(query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER))
}

async function report(sql: Sql, query: URLSearchParams): Promise<unknown> {
  const startDate = date(query, 'start_date')
  const endDate = date(query, 'end_date')
  if (startDate === undefined || endDate === undefined) {
    throw badRequest('start_date and end_date are required, as YYYY-MM-DD.')
  }
  checkRange(startDate, endDate)
  const group = query.get('group_by') ?? 'team'
  if (group !== 'team' && group !== 'customer' && group !== 'api_key') {
    throw badRequest(`group_by must be team, customer or api_key, got '${group}'.`)
  }
  const apiKey = text(query, 'api_key')
  const keyHash = apiKey?.startsWith('sk-') ? await sha256Hex(apiKey) : apiKey
  const { rows, truncated } = await spendReport(sql, group satisfies ReportGroup, startDate, endDate, keyHash)
  return new Answer(rows, truncated)
}

const text = (query: URLSearchParams, name: string): string | undefined => query.get(name) || undefined

function date(query: URLSearchParams, name: string): string | undefined {
  const value = text(query, name)
  if (value === undefined) return undefined
  const parsed = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : undefined
  if (!parsed || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== value) {
    throw badRequest(`${name} must be a date as YYYY-MM-DD, got '${value}'.`)
  }
  return value
}

function checkRange(start: string, end: string): void {
  const days = (Date.parse(end) - Date.parse(start)) / 86_400_000
  if (days < 0) throw badRequest('end_date must not be before start_date.')
  if (days >= MAX_DAYS) throw badRequest(`A date range covers at most ${MAX_DAYS} days.`)
}

function count(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const value = text(query, name)
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw badRequest(`${name} must be an integer from ${min} to ${max}, got '${value}'.`)
  }
  return n
}

const numberOr0 = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : 0

const badRequest = (message: string) => new GatewayError({ status: 400, message, origin: 'client' })
