/**
 * Part of the Sql contract (sql.contract.ts): parameter binding and value normalisation, in the
 * non-UTC time zone the contract sets.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import type { Sql } from '../../src/store/sql'

const LEAP = new Date('2024-02-29T23:59:59.123Z')
const LATER = new Date('2024-03-01T01:02:03.456Z')
const TAGS = ['plain', 'with space', null, 'q"uote', 'com,ma', 'back\\slash', '{brace}', '']
const DOC = { nested: { list: [1, 'two', null, true] }, amount: 1.5, text: 'é ✓' }

export function valueTests(sql: () => Sql): void {
  describe('values', () => {
    beforeAll(async () => {
      await sql().query(`CREATE TABLE contract_values (
        id text PRIMARY KEY, t text, i integer, b bigint, d double precision, n numeric, flag boolean,
        tags text[], doc jsonb, ts timestamp(3), tstz timestamptz)`)
    })

    it('binds every kind of parameter and reads the row back normalised', async () => {
      const row = ['a', `it's "quoted", with commas`, 42, Number.MAX_SAFE_INTEGER, 0.1, 12.345, true]
      await sql().query('INSERT INTO contract_values VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)', [
        ...row,
        TAGS,
        DOC,
        LEAP,
        LATER,
      ])
      const rows = await sql().query('SELECT * FROM contract_values WHERE id = $1', ['a'])
      expect(rows).toEqual([
        {
          id: 'a',
          t: `it's "quoted", with commas`,
          i: 42,
          b: Number.MAX_SAFE_INTEGER,
          d: 0.1,
          n: 12.345,
          flag: true,
          tags: TAGS,
          doc: DOC,
          ts: LEAP,
          tstz: LATER,
        },
      ])
      const [first] = rows
      expect(typeof first?.b).toBe('number')
      expect(first?.ts).toBeInstanceOf(Date)
    })

    it('binds null to every column type and reads NULL back as null', async () => {
      await sql().query('INSERT INTO contract_values VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)', [
        'nulls',
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
      ])
      const [row] = await sql().query('SELECT * FROM contract_values WHERE id = $1', ['nulls'])
      expect(row).toEqual({
        id: 'nulls',
        t: null,
        i: null,
        b: null,
        d: null,
        n: null,
        flag: null,
        tags: null,
        doc: null,
        ts: null,
        tstz: null,
      })
    })

    it('stores a Date in timestamp(3) as UTC wall-clock time and reads it back as the same instant', async () => {
      const [row] = await sql().query(
        `SELECT to_char(ts, 'YYYY-MM-DD HH24:MI:SS.MS') AS wall, ts = $1::timestamp AS same,
           (now() at time zone 'utc')::timestamp(3) AS utc_now
         FROM contract_values WHERE id = 'a'`,
        [LEAP],
      )
      expect(row?.wall).toBe('2024-02-29 23:59:59.123')
      expect(row?.same).toBe(true)
      expect(row?.utc_now).toBeInstanceOf(Date)
      expect(Math.abs(Number(row?.utc_now) - Date.now())).toBeLessThan(10_000)
    })

    it('normalises computed values of every listed type', async () => {
      const [row] = await sql().query(`SELECT
        1::int2 AS int2, 2::int4 AS int4, 9007199254740991::int8 AS int8, 0.5::float4 AS float4,
        0.1::float8 AS float8, 12.5::numeric AS numeric, count(*) AS count, true AS yes, false AS no,
        NULL::text AS nothing, '{"a":[1,2]}'::json AS json, '[1,"x",null]'::jsonb AS jsonb,
        ARRAY['a', NULL, 'b c']::text[] AS texts, ARRAY['x']::varchar[] AS varchars,
        ARRAY[1, 2]::int8[] AS int8s, ARRAY[1.5, NULL]::numeric[] AS numerics, ARRAY[1, 2]::int4[] AS int4s,
        ARRAY['2024-01-01 00:00:00.5'::timestamp] AS timestamps,
        '2024-01-01 05:30:00+05:30'::timestamptz AS tstz, '2024-01-01 00:00:00'::timestamp AS ts
        FROM contract_values`)
      expect(row).toEqual({
        int2: 1,
        int4: 2,
        int8: 9007199254740991,
        float4: 0.5,
        float8: 0.1,
        numeric: 12.5,
        count: 2,
        yes: true,
        no: false,
        nothing: null,
        json: { a: [1, 2] },
        jsonb: [1, 'x', null],
        texts: ['a', null, 'b c'],
        varchars: ['x'],
        int8s: [1, 2],
        numerics: [1.5, null],
        int4s: [1, 2],
        timestamps: [new Date('2024-01-01T00:00:00.500Z')],
        tstz: new Date('2024-01-01T00:00:00Z'),
        ts: new Date('2024-01-01T00:00:00Z'),
      })
    })

    it('binds a JS array as a Postgres array, an object or JSON text as json, Dates inside arrays as UTC', async () => {
      const [row] = await sql().query(
        `SELECT $1::text[] AS tags, $2::jsonb AS list, $3::jsonb ->> 'k' AS k, $4::timestamptz[] AS dates,
           $5::int4 + 1 AS n, $6::boolean AS flag, $7::text AS nothing`,
        [['x', 'y'], JSON.stringify([1, 'a']), { k: 'v' }, [LEAP, LATER], 41, false, null],
      )
      expect(row).toEqual({
        tags: ['x', 'y'],
        list: [1, 'a'],
        k: 'v',
        dates: [LEAP, LATER],
        n: 42,
        flag: false,
        nothing: null,
      })
    })
  })
}
