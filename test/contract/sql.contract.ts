/**
 * What every `Sql` implementation must do the same way (src/store/sql.ts): parameter binding, value
 * normalisation, batch transactions, errors, concurrency, migrations. Each implementation's test file
 * calls `sqlContract` with a way to get a fresh, empty database.
 *
 * The process runs in Asia/Kolkata (UTC+05:30) meanwhile, so a driver that reads or writes
 * timestamps in local time is off by 5½ hours instead of passing by accident on a UTC machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Sql } from '../../src/store/sql'
import { migrateTests } from './sql-migrate.contract'
import { valueTests } from './sql-values.contract'

export interface SqlDatabase {
  sql: Sql
  /** Another handle on the same database (its own connections where the driver has any). */
  another(): Sql
  drop(): Promise<void>
}

export function sqlContract(name: string, kind: Sql['kind'], fresh: () => Promise<SqlDatabase>): void {
  describe(`Sql contract: ${name}`, () => {
    let db: SqlDatabase
    let sql: Sql
    const tz = process.env.TZ

    beforeAll(async () => {
      process.env.TZ = 'Asia/Kolkata'
      db = await fresh()
      sql = db.sql
      await sql.query(`CREATE TABLE contract_spend (
        id text PRIMARY KEY, spend double precision NOT NULL DEFAULT 0, calls bigint NOT NULL DEFAULT 0)`)
    })

    afterAll(async () => {
      if (tz === undefined) delete process.env.TZ
      else process.env.TZ = tz
      await sql?.close()
      await db?.drop()
    })

    it('is the expected implementation, in a process whose time zone is not UTC', () => {
      expect(sql.kind).toBe(kind)
      expect(new Date(0).getTimezoneOffset()).toBe(-330)
    })

    valueTests(() => sql)

    it('returns no rows for statements that return none', async () => {
      expect(await sql.query('UPDATE contract_spend SET calls = calls WHERE false')).toEqual([])
      expect(await sql.transaction([])).toEqual([])
    })

    it("runs a transaction's statements in order and returns each one's rows", async () => {
      const results = await sql.transaction([
        { text: 'INSERT INTO contract_spend (id) VALUES ($1) RETURNING id, spend', params: ['tx'] },
        { text: 'UPDATE contract_spend SET spend = spend + $1 WHERE id = $2', params: [2.5, 'tx'] },
        { text: 'SELECT spend, calls FROM contract_spend WHERE id = $1', params: ['tx'] },
      ])
      expect(results).toEqual([[{ id: 'tx', spend: 0 }], [], [{ spend: 2.5, calls: 0 }]])
    })

    it("rolls back every statement when one fails and throws Postgres' error", async () => {
      const failing = sql.transaction([
        { text: 'INSERT INTO contract_spend (id) VALUES ($1)', params: ['rolled-back'] },
        { text: 'UPDATE contract_spend SET spend = 100 WHERE id = $1', params: ['tx'] },
        { text: 'INSERT INTO contract_spend (id) VALUES ($1)', params: ['tx'] },
      ])
      await expect(failing).rejects.toMatchObject({
        message: expect.stringMatching(
          /^duplicate key value violates unique constraint "contract_spend_pkey"/,
        ),
        code: '23505',
      })
      expect(await sql.query(`SELECT id, spend FROM contract_spend ORDER BY id`)).toEqual([
        { id: 'tx', spend: 2.5 },
      ])
    })

    it('throws errors for bad SQL (not swallowed) and stays usable afterwards', async () => {
      await expect(sql.query('SELEC 1')).rejects.toMatchObject({
        message: 'syntax error at or near "SELEC"',
        code: '42601',
      })
      await expect(sql.query('SELECT * FROM nope')).rejects.toMatchObject({
        message: 'relation "nope" does not exist',
        code: '42P01',
      })
      await expect(sql.transaction([{ text: 'SELECT 1' }, { text: 'SELECT 1/0' }])).rejects.toMatchObject({
        message: 'division by zero',
        code: '22012',
      })
      expect(await sql.query('SELECT 1 AS one')).toEqual([{ one: 1 }])
    })

    it('adds 50 concurrent increments exactly', async () => {
      const other = db.another()
      try {
        await sql.query('INSERT INTO contract_spend (id) VALUES ($1)', ['busy'])
        await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            (i % 2 === 0 ? sql : other).query(
              'UPDATE contract_spend SET spend = spend + $1, calls = calls + 1 WHERE id = $2',
              [0.25, 'busy'],
            ),
          ),
        )
        expect(await sql.query('SELECT spend, calls FROM contract_spend WHERE id = $1', ['busy'])).toEqual([
          { spend: 12.5, calls: 50 },
        ])
      } finally {
        await other.close()
      }
    })

    migrateTests(fresh)
  })
}
