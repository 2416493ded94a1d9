/**
 * Local Neon SQL-over-HTTP endpoint (protocols.md 8) over a real Postgres, for the
 * `@neondatabase/serverless` `neon()` driver: `POST /sql` with `{query, params}` or a batch
 * `{queries: […]}` run in one transaction. Queries always use the extended protocol (as Neon
 * prepares every statement) with every type parser replaced by the identity, so values are
 * Postgres' own text output; `fields` carry pg's real OIDs and errors carry pg's error fields.
 *
 * The `Neon-Connection-String` header picks the database (its path); user, password, host and port
 * always come from `postgresUrl`, so any credentials/host in the header are accepted.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import pg from 'pg'
import { flatHeaders, Lifecycle, listen, readBody } from './http-util'

export interface FakeNeonOptions {
  /** Default `postgres://postgres@127.0.0.1:5432/test`. */
  postgresUrl?: string
}

export interface NeonRecordedRequest {
  method: string
  path: string
  headers: Record<string, string>
  /** Parsed JSON body (raw text if it did not parse). */
  body: unknown
  status?: number
}

export interface FakeNeon {
  /**
   * `postgresql://<user>:<random password>@127.0.0.1:<fake port>/<db of postgresUrl>`: what to hand
   * to `neon()`. The driver adds `application_name`; the fake accepts any password.
   */
  connectionString: string
  /** `http://127.0.0.1:<port>/sql`; set `neonConfig.fetchEndpoint` to it (it is a global-only option). */
  fetchEndpoint: string
  requests: NeonRecordedRequest[]
  close(): Promise<void>
}

interface SqlQuery {
  query: string
  params: (string | null)[]
  arrayMode: boolean | undefined
}

interface NeonField {
  name: string
  dataTypeID: number
  tableID: number
  columnID: number
  dataTypeSize: number
  dataTypeModifier: number
  format: string
}

interface NeonResult {
  command: string
  rowCount: number | null
  rowAsArray: boolean
  fields: NeonField[]
  rows: unknown[]
}

/** node-postgres' `queryMode` is not in @types/pg; `extended` forces Parse/Bind/Execute. */
interface ExtendedArrayQuery extends pg.QueryArrayConfig {
  queryMode: 'extended'
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

const ISOLATION: Record<string, string> = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
}

const ERROR_FIELDS = [
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const

const identity = (value: string): string => value
/** Every OID parses to its text form (what `Neon-Raw-Text-Output: true` returns). */
const RAW_TEXT = { getTypeParser: () => identity } as unknown as pg.CustomTypesConfig

const BASE_HEADERS = { 'content-type': 'application/json', 'access-control-allow-origin': '*' }

export async function startFakeNeon(opts: FakeNeonOptions = {}): Promise<FakeNeon> {
  const postgresUrl = new URL(opts.postgresUrl ?? 'postgres://postgres@127.0.0.1:5432/test')
  const defaultDb = decodeURIComponent(postgresUrl.pathname.slice(1)) || 'postgres'
  const requests: NeonRecordedRequest[] = []
  const lifecycle = new Lifecycle()
  const pools = new Map<string, pg.Pool>()

  function poolFor(database: string): pg.Pool {
    let pool = pools.get(database)
    if (!pool) {
      const target = new URL(postgresUrl)
      target.pathname = `/${encodeURIComponent(database)}`
      pool = new pg.Pool({
        connectionString: target.toString(),
        max: 8,
        idleTimeoutMillis: 5_000,
        // Deterministic text output, like Neon's defaults.
        options: '-c TimeZone=UTC -c DateStyle=ISO,MDY -c IntervalStyle=postgres',
        application_name: 'fake-neon-http',
      })
      pool.on('error', () => {})
      pools.set(database, pool)
    }
    return pool
  }

  // Fail fast when Postgres is unreachable.
  const probe = await poolFor(defaultDb).connect()
  probe.release()

  async function execute(client: pg.PoolClient, q: SqlQuery, arrayHeader: boolean, raw: boolean) {
    const config: ExtendedArrayQuery = {
      text: q.query,
      values: q.params,
      rowMode: 'array',
      types: RAW_TEXT,
      queryMode: 'extended',
    }
    const result = await client.query(config)
    const arrayMode = q.arrayMode ?? arrayHeader
    const fields: NeonField[] = result.fields.map((f) => ({
      name: f.name,
      dataTypeID: f.dataTypeID,
      tableID: f.tableID,
      columnID: f.columnID,
      dataTypeSize: f.dataTypeSize,
      dataTypeModifier: f.dataTypeModifier,
      format: 'text',
    }))
    const rows = (result.rows as unknown[][]).map((row) => {
      const values = row.map((value, i) =>
        raw || value === null ? value : toJsonValue(String(value), fields[i]?.dataTypeID ?? 25),
      )
      return arrayMode ? values : Object.fromEntries(fields.map((f, i) => [f.name, values[i] ?? null]))
    })
    const out: NeonResult = {
      command: result.command,
      rowCount: result.rowCount,
      rowAsArray: arrayMode,
      fields,
      rows,
    }
    return out
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET'
    const url = new URL(req.url ?? '/', 'http://fake-neon')
    const headers = flatHeaders(req)
    const text = Buffer.from(await readBody(req)).toString('utf8')
    const record: NeonRecordedRequest = { method, path: url.pathname + url.search, headers, body: text }
    requests.push(record)
    const extraHeaders: Record<string, string> = {}
    const reply = (status: number, body: unknown): void => {
      record.status = status
      res.writeHead(status, { ...BASE_HEADERS, ...extraHeaders })
      res.end(JSON.stringify(body))
    }

    if (method === 'OPTIONS') {
      record.status = 204
      res.writeHead(204, {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': '*',
        'access-control-max-age': '86400',
      })
      res.end()
      return
    }
    if (url.pathname !== '/sql') return reply(404, { message: `no route for ${url.pathname}` })
    if (method !== 'POST') return reply(405, { message: 'method not allowed, use POST' })

    try {
      const database = databaseFrom(headers['neon-connection-string'])
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        throw new HttpError(400, 'request body is not valid JSON')
      }
      record.body = body
      const raw = headers['neon-raw-text-output']?.toLowerCase() === 'true'
      const arrayHeader = headers['neon-array-mode']?.toLowerCase() === 'true'
      const pool = poolFor(database)

      if (isRecord(body) && Array.isArray(body.queries)) {
        const queries = body.queries.map(toSqlQuery)
        const begin = beginStatement(headers)
        for (const name of ['neon-batch-isolation-level', 'neon-batch-read-only', 'neon-batch-deferrable']) {
          const value = headers[name]
          if (value !== undefined) extraHeaders[name] = value
        }
        const client = await pool.connect()
        let broken: Error | undefined
        try {
          await client.query(begin)
          const results: NeonResult[] = []
          try {
            for (const q of queries) results.push(await execute(client, q, arrayHeader, raw))
            await client.query('COMMIT')
          } catch (err) {
            await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
              broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr))
            })
            throw err
          }
          return reply(200, { results })
        } finally {
          client.release(broken)
        }
      }

      const query = toSqlQuery(body)
      const client = await pool.connect()
      let broken: Error | undefined
      try {
        return reply(200, await execute(client, query, arrayHeader, raw))
      } finally {
        // A lone `BEGIN` (or a failure inside one) must not leak into the next request.
        if (client.getTransactionStatus() !== 'I') {
          await client.query('ROLLBACK').catch((err: unknown) => {
            broken = err instanceof Error ? err : new Error(String(err))
          })
        }
        client.release(broken)
      }
    } catch (err) {
      if (err instanceof HttpError) return reply(err.status, { message: err.message })
      if (err instanceof pg.DatabaseError) return reply(400, databaseErrorJson(err))
      return reply(500, { message: `fake neon: ${err instanceof Error ? err.message : String(err)}` })
    }
  }

  const started = await listen(handle, lifecycle)
  const user = encodeURIComponent(decodeURIComponent(postgresUrl.username) || 'postgres')
  const password = randomBytes(9).toString('hex')
  return {
    connectionString: `postgresql://${user}:${password}@127.0.0.1:${started.port}/${encodeURIComponent(defaultDb)}`,
    fetchEndpoint: `${started.url}/sql`,
    requests,
    close: async () => {
      await started.close()
      const all = [...pools.values()]
      pools.clear()
      await Promise.all(all.map((pool) => pool.end().catch(() => undefined)))
    },
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The database named by `Neon-Connection-String` (validated like Neon: scheme, user, host, db). */
function databaseFrom(header: string | undefined): string {
  if (!header) throw new HttpError(400, 'missing Neon-Connection-String header')
  let parsed: URL
  try {
    parsed = new URL(header)
  } catch {
    throw new HttpError(400, 'Neon-Connection-String is not a valid URL')
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw new HttpError(400, 'Neon-Connection-String must use the postgres:// or postgresql:// scheme')
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''))
  if (!parsed.username || !parsed.hostname || !database)
    throw new HttpError(400, 'Neon-Connection-String must name a user, a host and a database')
  return database
}

function beginStatement(headers: Record<string, string>): string {
  let begin = 'BEGIN'
  const isolation = headers['neon-batch-isolation-level']
  if (isolation !== undefined) {
    const level = ISOLATION[isolation]
    if (!level) throw new HttpError(400, `invalid isolation level: ${isolation}`)
    begin += ` ISOLATION LEVEL ${level}`
  }
  const readOnly = headers['neon-batch-read-only']?.toLowerCase()
  if (readOnly === 'true') begin += ' READ ONLY'
  else if (readOnly !== undefined && readOnly !== 'false')
    throw new HttpError(400, `invalid Neon-Batch-Read-Only: ${readOnly}`)
  const deferrable = headers['neon-batch-deferrable']?.toLowerCase()
  if (deferrable === 'true') begin += ' DEFERRABLE'
  else if (deferrable !== undefined && deferrable !== 'false')
    throw new HttpError(400, `invalid Neon-Batch-Deferrable: ${deferrable}`)
  return begin
}

function toSqlQuery(value: unknown): SqlQuery {
  if (!isRecord(value) || typeof value.query !== 'string')
    throw new HttpError(400, 'expected {"query": string, "params": [...]} or {"queries": [...]}')
  const params = value.params ?? []
  if (!Array.isArray(params)) throw new HttpError(400, '"params" must be an array')
  const arrayMode = typeof value.arrayMode === 'boolean' ? value.arrayMode : undefined
  return { query: value.query, params: params.map(toParam), arrayMode }
}

/** Driver params are already text; raw JSON values are converted the way Neon's proxy does. */
function toParam(value: unknown): string | null {
  if (value === null || value === undefined) return null
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (Array.isArray(value)) return arrayLiteral(value)
  return JSON.stringify(value)
}

function arrayLiteral(items: unknown[]): string {
  const parts = items.map((item) => {
    if (item === null || item === undefined) return 'NULL'
    if (Array.isArray(item)) return arrayLiteral(item)
    const text = toParam(item) ?? ''
    return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
  })
  return `{${parts.join(',')}}`
}

function databaseErrorJson(err: pg.DatabaseError): Record<string, string | null> {
  const out: Record<string, string | null> = { message: err.message }
  for (const field of ERROR_FIELDS) out[field] = err[field] ?? null
  return out
}

// ---- `Neon-Raw-Text-Output: false`: the proxy turns some types into JSON values itself ----

/** Array OID → element OID for the built-in array types. */
const ARRAY_ELEMENT: Record<number, number> = {
  1000: 16,
  1001: 17,
  1005: 21,
  1007: 23,
  1016: 20,
  1021: 700,
  1022: 701,
  1028: 26,
  1231: 1700,
  199: 114,
  3807: 3802,
  1009: 25,
  1015: 1043,
  1014: 1042,
  1002: 18,
  1003: 19,
  2951: 2950,
  1115: 1114,
  1185: 1184,
  1182: 1082,
  1183: 1083,
  1270: 1266,
  1187: 1186,
}

/** pg-types' parser for text[] (OID 1009): nested arrays of strings and nulls. */
const parseTextArray = (pg.types.getTypeParser as (oid: number) => (text: string) => unknown)(1009)

function toJsonValue(text: string, oid: number): unknown {
  const element = ARRAY_ELEMENT[oid]
  if (element !== undefined) return mapArray(parseTextArray(text), element)
  return scalarJson(text, oid)
}

function mapArray(value: unknown, oid: number): unknown {
  if (Array.isArray(value)) return value.map((item: unknown) => mapArray(item, oid))
  return typeof value === 'string' ? scalarJson(value, oid) : null
}

function scalarJson(text: string, oid: number): unknown {
  switch (oid) {
    case 16:
      return text === 't'
    case 21:
    case 23:
    case 26:
      return Number(text)
    case 700:
    case 701: {
      const n = Number(text)
      return Number.isFinite(n) ? n : text
    }
    case 114:
    case 3802:
      return JSON.parse(text) as unknown
    default:
      return text
  }
}
