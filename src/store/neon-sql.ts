import { type CustomTypesConfig, neon, neonConfig, types as neonTypes } from '@neondatabase/serverless'
import { toParams, VALUE_PARSERS } from './pg-values'
import type { Row, Sql, Statement } from './sql'

export interface NeonSqlOptions {
  /**
   * Where to POST queries instead of Neon's `https://api.<region host>/sql`: a URL, or a function of
   * the connection string's host and port. For tests and for Workers behind a proxy.
   */
  fetchEndpoint?: string | ((host: string, port: number | string) => string)
  /** The `fetch` to send queries with (default: the global one). */
  fetch?: typeof fetch
  /** Deadline per query or transaction, in ms (default QUERY_TIMEOUT_MS). */
  queryTimeoutMs?: number
}

/**
 * Every HTTP request to Neon is aborted after this long. Without it a request that the network or
 * a proxy never answers would hang its caller (a spend write, a budget reset) forever; like pg's
 * `query_timeout` in the Node adapter, far above the run time of our statements.
 */
export const QUERY_TIMEOUT_MS = 10_000

/**
 * The driver parses rows with the `types` of each *query's* options; a `types` given to `neon()`
 * itself is ignored (driver 1.2), so every query below carries it.
 */
const TYPES: CustomTypesConfig = {
  getTypeParser: (oid, format) => VALUE_PARSERS[oid] ?? neonTypes.getTypeParser(oid, format),
}

/**
 * Postgres over Neon's HTTP SQL endpoint: one `fetch` per query or per batch, no connection to keep,
 * so it works on Workers and Lambda. Batches run in one transaction on the server (protocols.md 8.2).
 */
export function neonSql(connectionString: string, opts: NeonSqlOptions = {}): Sql {
  const route = routeFor(connectionString, opts)
  const sql = neon(connectionString, route ? { fetchOptions: { [ROUTE]: route } } : {})
  const timeoutMs = opts.queryTimeoutMs ?? QUERY_TIMEOUT_MS
  // Per-query fetchOptions are merged over the instance's (the route stays); a fresh signal each time.
  const deadline = () => ({ signal: AbortSignal.timeout(timeoutMs) })
  const run = (statement: Statement) =>
    sql.query(statement.text, toParams(statement.params), { types: TYPES, fetchOptions: deadline() })
  return {
    kind: 'neon-http',
    async query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]> {
      if (route) installDispatcher()
      return (await run({ text, params })) as T[]
    },
    async transaction(statements: readonly Statement[]): Promise<Row[][]> {
      if (statements.length === 0) return []
      if (route) installDispatcher()
      return (await sql.transaction(statements.map(run), { fetchOptions: deadline() })) as Row[][]
    },
    // Nothing to close: every query is a stateless HTTP request.
    async close(): Promise<void> {},
  }
}

/**
 * `fetchEndpoint` and `fetchFunction` exist only as globals on `neonConfig` (protocols.md 8.4), which
 * would make every `neon()` in the process (and every test) share one endpoint. Instead, the
 * per-instance endpoint and fetch ride along in the driver's per-instance `fetchOptions` (spread into
 * the `fetch` init, symbol keys included) and one global `fetchFunction` dispatches on them; requests
 * without a route go wherever they would have gone.
 */
const ROUTE = Symbol('multillm.neonRoute')

interface Route {
  /** Undefined: the URL the driver computed. */
  url: string | undefined
  fetch: typeof fetch | undefined
}

type RoutedInit = RequestInit & { [ROUTE]?: Route }

function routeFor(connectionString: string, opts: NeonSqlOptions): Route | undefined {
  if (opts.fetchEndpoint === undefined && opts.fetch === undefined) return undefined
  const endpoint = opts.fetchEndpoint
  if (typeof endpoint !== 'function') return { url: endpoint, fetch: opts.fetch }
  const { hostname, port } = new URL(connectionString)
  return { url: endpoint(hostname, port || '5432'), fetch: opts.fetch }
}

let dispatcher: ((url: string, init?: RoutedInit) => Promise<Response>) | undefined

/** (Re)installs the dispatcher, chaining to whatever `fetchFunction` was set before it. */
function installDispatcher(): void {
  if (dispatcher !== undefined && neonConfig.fetchFunction === dispatcher) return
  const previous: unknown = neonConfig.fetchFunction
  dispatcher = (url, init) => {
    const route = init?.[ROUTE]
    if (!route) return typeof previous === 'function' ? previous(url, init) : fetch(url, init)
    const { [ROUTE]: _, ...rest } = init
    // Called as a plain function: Workers' fetch throws "Illegal invocation" when `this` is an object.
    const send = route.fetch ?? fetch
    return send(route.url ?? url, rest)
  }
  neonConfig.fetchFunction = dispatcher
}
