/**
 * The fake Neon SQL-over-HTTP endpoint must satisfy the official `@neondatabase/serverless` 1.2
 * `neon()` driver exactly as Neon does: raw text values + real OIDs (parsed by the driver),
 * batch transactions with isolation/read-only headers, and Postgres errors as NeonDbError.
 * Needs the real Postgres on 127.0.0.1:5432; tables get a per-run random name.
 */
import { randomBytes } from 'node:crypto'
import { NeonDbError, neon, neonConfig } from '@neondatabase/serverless'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeNeon, startFakeNeon } from '../fakes/neon-http'

const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 1_000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

const available = await postgresReachable()
if (!available) {
  if (process.env.REQUIRE_SERVICES)
    throw new Error(`REQUIRE_SERVICES is set but Postgres is unreachable at ${POSTGRES_URL}; start postgres`)
  console.warn(`[fakes-neon-http] Postgres unreachable at ${POSTGRES_URL}: skipping the fake Neon tests`)
}

const TABLE = `fake_neon_${randomBytes(6).toString('hex')}`

/** What the driver threw, as a NeonDbError. */
async function neonError(promise: Promise<unknown>): Promise<NeonDbError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof NeonDbError) return err
    throw err
  }
  throw new Error('expected the query to fail')
}

describe.runIf(available)('fake Neon HTTP SQL over real Postgres', () => {
  let fake: FakeNeon
  let direct: pg.Client
  let sql: ReturnType<typeof neon>

  beforeAll(async () => {
    fake = await startFakeNeon({ postgresUrl: POSTGRES_URL })
    neonConfig.fetchEndpoint = fake.fetchEndpoint
    sql = neon(fake.connectionString)
    direct = new pg.Client({ connectionString: POSTGRES_URL })
    await direct.connect()
    await direct.query(
      `CREATE TABLE ${TABLE} (id int PRIMARY KEY, name text NOT NULL, tags text[], meta jsonb)`,
    )
  })

  afterAll(async () => {
    await direct?.query(`DROP TABLE IF EXISTS ${TABLE}`)
    await direct?.end()
    await fake?.close()
  })

  const lastRequest = () => fake.requests[fake.requests.length - 1]

  it('runs a parameterised select and the driver parses every type from the real OIDs', async () => {
    const when = new Date('2024-02-29T23:59:58.123Z')
    const rows = await sql`
      SELECT ${42}::int AS i, ${'héllo "wörld" ✓'}::text AS t, ${true}::bool AS b, ${false}::bool AS f,
             ${null}::text AS n, ${JSON.stringify({ a: [1, 'x'] })}::json AS j, ${{ k: { n: null } }}::jsonb AS jb,
             ${when}::timestamptz AS ts, ${['a', null, 'c"d', 'e,f']}::text[] AS arr,
             9007199254740993::int8 AS big, 1.50::numeric AS num, 2.5::float8 AS fl,
             '2024-01-02 03:04:05'::timestamp AS local_ts, ${[1, 2, 3]}::int[] AS ints`
    expect(rows).toEqual([
      {
        i: 42,
        t: 'héllo "wörld" ✓',
        b: true,
        f: false,
        n: null,
        j: { a: [1, 'x'] },
        jb: { k: { n: null } },
        ts: when,
        arr: ['a', null, 'c"d', 'e,f'],
        big: '9007199254740993',
        num: '1.50',
        fl: 2.5,
        // timestamp without time zone is read in the process's local time zone (driver behaviour).
        local_ts: new Date(2024, 0, 2, 3, 4, 5),
        ints: [1, 2, 3],
      },
    ])

    const req = lastRequest()
    expect(req?.method).toBe('POST')
    expect(req?.path).toBe('/sql')
    expect(req?.headers['neon-raw-text-output']).toBe('true')
    expect(req?.headers['neon-array-mode']).toBe('true')
    const connection = new URL(req?.headers['neon-connection-string'] ?? '')
    expect(connection.searchParams.get('application_name')).toMatch(
      /^pkg:npm\/%40neondatabase\/serverless@1\.2\./,
    )
    expect(req?.body).toEqual({
      query: expect.stringContaining('SELECT $1::int AS i, $2::text AS t'),
      params: [
        '42',
        'héllo "wörld" ✓',
        'true',
        'false',
        null,
        '{"a":[1,"x"]}',
        '{"k":{"n":null}}',
        expect.stringMatching(/^2024-0(2-29|3-01)T\d\d:\d\d:58\.123[+-]\d\d:\d\d$/),
        '{"a",NULL,"c\\"d","e,f"}',
        '{"1","2","3"}',
      ],
    })
  })

  it('answers the wire format Neon does (raw text, OIDs, rowCount, command, objects without array mode)', async () => {
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(fake.fetchEndpoint, {
        method: 'POST',
        headers: { 'Neon-Connection-String': fake.connectionString, ...headers },
        body: JSON.stringify(body),
      })
    const query = {
      query: 'SELECT $1::int AS n, $2::text[] AS a, NULL::bool AS z',
      params: ['7', ['x', null]],
    }

    const raw = await post(query, { 'Neon-Raw-Text-Output': 'true', 'Neon-Array-Mode': 'true' })
    expect(raw.status).toBe(200)
    expect(raw.headers.get('content-type')).toBe('application/json')
    expect(await raw.json()).toEqual({
      command: 'SELECT',
      rowCount: 1,
      rowAsArray: true,
      fields: [
        {
          name: 'n',
          dataTypeID: 23,
          tableID: 0,
          columnID: 0,
          dataTypeSize: 4,
          dataTypeModifier: -1,
          format: 'text',
        },
        {
          name: 'a',
          dataTypeID: 1009,
          tableID: 0,
          columnID: 0,
          dataTypeSize: -1,
          dataTypeModifier: -1,
          format: 'text',
        },
        {
          name: 'z',
          dataTypeID: 16,
          tableID: 0,
          columnID: 0,
          dataTypeSize: 1,
          dataTypeModifier: -1,
          format: 'text',
        },
      ],
      rows: [['7', '{x,NULL}', null]],
    })

    // Without raw text / array mode the proxy converts JSON-able types itself and keys rows by name.
    const typed = await post({
      query:
        "SELECT 1::int4 AS i, 't'::bool AS b, '{\"a\":1}'::jsonb AS j, 5::int8 AS big, '{1,2}'::int[] AS arr",
      params: [],
    })
    expect(await typed.json()).toMatchObject({
      rowAsArray: false,
      rows: [{ i: 1, b: true, j: { a: 1 }, big: '5', arr: [1, 2] }],
    })

    const noHeader = await fetch(fake.fetchEndpoint, { method: 'POST', body: JSON.stringify(query) })
    expect(noHeader.status).toBe(400)
    expect(await noHeader.json()).toEqual({ message: expect.stringContaining('Neon-Connection-String') })
  })

  it('returns fullResults and arrayMode shapes like Neon', async () => {
    const full = await sql.query(
      `INSERT INTO ${TABLE} (id, name, tags, meta) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8) RETURNING id, tags`,
      [1, 'one', ['x', 'y'], { v: 1 }, 2, 'two', [], null],
      { fullResults: true },
    )
    expect(full).toMatchObject({
      command: 'INSERT',
      rowCount: 2,
      rowAsArray: false,
      viaNeonFetch: true,
      rows: [
        { id: 1, tags: ['x', 'y'] },
        { id: 2, tags: [] },
      ],
    })
    expect(full.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
      ['id', 23],
      ['tags', 1009],
    ])
    expect(full.fields[0]?.tableID).toBeGreaterThan(0)

    const arrays = await sql.query(`SELECT id, name, meta FROM ${TABLE} ORDER BY id`, [], { arrayMode: true })
    expect(arrays).toEqual([
      [1, 'one', { v: 1 }],
      [2, 'two', null],
    ])

    const both = await sql.query(`UPDATE ${TABLE} SET name = upper(name) WHERE id > $1`, [0], {
      arrayMode: true,
      fullResults: true,
    })
    expect(both).toMatchObject({ command: 'UPDATE', rowCount: 2, rowAsArray: true, rows: [] })

    const tagged = neon(fake.connectionString, { arrayMode: true, fullResults: true })
    const viaTemplate = await tagged`SELECT ${'a'}::text AS x, ${3}::int AS y`
    expect(viaTemplate).toMatchObject({ command: 'SELECT', rowCount: 1, rows: [['a', 3]] })
  })

  it('commits sql.transaction() batches in one transaction with the requested isolation', async () => {
    const results = await sql.transaction([
      sql`INSERT INTO ${sql.unsafe(TABLE)} (id, name) VALUES (${10}, ${'ten'})`,
      sql`UPDATE ${sql.unsafe(TABLE)} SET name = ${'TEN'} WHERE id = ${10} RETURNING name`,
      sql`SELECT count(*)::int AS c FROM ${sql.unsafe(TABLE)} WHERE id = ${10}`,
    ])
    expect(results).toEqual([[], [{ name: 'TEN' }], [{ c: 1 }]])
    const req = lastRequest()
    expect(req?.body).toMatchObject({ queries: [{ params: ['10', 'ten'] }, {}, {}] })
    expect((await direct.query(`SELECT name FROM ${TABLE} WHERE id = 10`)).rows).toEqual([{ name: 'TEN' }])

    const settings = await sql.transaction(
      [
        sql`SELECT current_setting('transaction_isolation') AS iso, current_setting('transaction_read_only') AS ro`,
      ],
      { isolationLevel: 'Serializable', readOnly: true },
    )
    expect(settings).toEqual([[{ iso: 'serializable', ro: 'on' }]])
    expect(lastRequest()?.headers['neon-batch-isolation-level']).toBe('Serializable')
    expect(lastRequest()?.headers['neon-batch-read-only']).toBe('true')

    const readOnly = await neonError(
      sql.transaction([sql`INSERT INTO ${sql.unsafe(TABLE)} (id, name) VALUES (99, 'x')`], {
        readOnly: true,
      }),
    )
    expect(readOnly.code).toBe('25006')

    const perQuery = await sql.transaction(
      [sql`SELECT 1::int AS a`, sql.query('SELECT 2::int AS b', [], { arrayMode: true, fullResults: true })],
      { isolationLevel: 'RepeatableRead' },
    )
    expect(perQuery[0]).toEqual([{ a: 1 }])
    expect(perQuery[1]).toMatchObject({ rowAsArray: true, rows: [[2]] })
  })

  it('rolls back every statement of a failing transaction and surfaces the Postgres error', async () => {
    const dup = await neonError(
      sql.transaction([
        sql`INSERT INTO ${sql.unsafe(TABLE)} (id, name) VALUES (${20}, ${'first'})`,
        sql`UPDATE ${sql.unsafe(TABLE)} SET name = 'changed' WHERE id = 1`,
        sql`INSERT INTO ${sql.unsafe(TABLE)} (id, name) VALUES (${20}, ${'again'})`,
      ]),
    )
    expect(dup.code).toBe('23505')
    expect(dup.message).toMatch(/duplicate key value violates unique constraint/)
    expect(dup.constraint).toBe(`${TABLE}_pkey`)
    expect(dup.table).toBe(TABLE)
    expect(dup.detail).toBe('Key (id)=(20) already exists.')
    expect(dup.severity).toBe('ERROR')
    expect((await direct.query(`SELECT 1 FROM ${TABLE} WHERE id = 20`)).rowCount).toBe(0)
    expect((await direct.query(`SELECT name FROM ${TABLE} WHERE id = 1`)).rows).toEqual([{ name: 'ONE' }])

    const missing = await neonError(
      sql.transaction([
        sql`INSERT INTO ${sql.unsafe(TABLE)} (id, name) VALUES (${21}, ${'x'})`,
        sql`SELECT * FROM no_such_table_${sql.unsafe(TABLE)}`,
      ]),
    )
    expect(missing.code).toBe('42P01')
    expect(missing.position).toBe('15')
    expect((await direct.query(`SELECT 1 FROM ${TABLE} WHERE id = 21`)).rowCount).toBe(0)
    expect(fake.requests[fake.requests.length - 1]?.status).toBe(400)

    // The pooled connection is clean afterwards: the next batch works.
    expect(await sql.transaction([sql`SELECT 1::int AS ok`])).toEqual([[{ ok: 1 }]])
  })

  it('maps single-query errors to NeonDbError with the Postgres fields', async () => {
    const undefinedTable = await neonError(sql`SELECT * FROM definitely_missing_table`)
    expect(undefinedTable).toMatchObject({ code: '42P01', position: '15', routine: expect.any(String) })
    expect(undefinedTable.message).toBe('relation "definitely_missing_table" does not exist')

    const notNull = await neonError(sql.query(`INSERT INTO ${TABLE} (id, name) VALUES ($1, $2)`, [30, null]))
    expect(notNull).toMatchObject({ code: '23502', column: 'name', table: TABLE })

    const badInput = await neonError(sql`SELECT ${'abc'}::int`)
    expect(badInput.code).toBe('22P02')

    // Neon prepares every statement: several commands in one query are a syntax error.
    const multi = await neonError(sql.query('SELECT 1; SELECT 2'))
    expect(multi.code).toBe('42601')
    expect(multi.message).toBe('cannot insert multiple commands into a prepared statement')

    // A lone BEGIN does not leak an open transaction into the next request.
    // (pg's pool hands back the most recently released connection, so this is the BEGIN's backend.)
    await sql`BEGIN`
    const backend = (await sql`SELECT pg_backend_pid() AS pid`) as { pid: number }[]
    const activity = await direct.query('SELECT state FROM pg_stat_activity WHERE pid = $1', [
      backend[0]?.pid,
    ])
    expect(activity.rows).toEqual([{ state: 'idle' }])
  })
})
