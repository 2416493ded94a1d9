import type { Row, Statement } from '../store/sql'

/**
 * Column types of LiteLLM's tables as far as parameters are concerned. Every value is sent as text
 * or a number with an explicit cast, so the three drivers (Neon HTTP, pg, PGlite) agree: JSON is
 * stringified for `jsonb`, arrays become Postgres array literals for `text[]`, dates ISO strings
 * (a `timestamp` column ignores the `Z`, so the stored value is the UTC wall time, like Prisma's).
 */
export type ColumnType = 'text' | 'float8' | 'int4' | 'int8' | 'bool' | 'jsonb' | 'text[]' | 'timestamp'

export type Columns = Readonly<Record<string, ColumnType>>

const CAST: Record<ColumnType, string> = {
  text: 'text',
  float8: 'double precision',
  int4: 'integer',
  int8: 'bigint',
  bool: 'boolean',
  jsonb: 'jsonb',
  'text[]': 'text[]',
  timestamp: 'timestamp(3)',
}

/** `{"a","b\"c"}`: a text[] literal with every element quoted, so commas and braces are data. */
export function pgTextArray(values: readonly string[]): string {
  const quoted = values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
  return `{${quoted.join(',')}}`
}

export function encode(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null
  if (type === 'jsonb') return JSON.stringify(value)
  if (type === 'text[]') return pgTextArray((value as readonly unknown[]).map(String))
  if (type === 'timestamp') return value instanceof Date ? value.toISOString() : String(value)
  return value
}

/** `$n::type` placeholders for the given values, appended to `params`. */
function placeholders(
  columns: Columns,
  names: readonly string[],
  values: Record<string, unknown>,
  params: unknown[],
) {
  return names.map((name) => {
    const type = columns[name]
    if (!type) throw new Error(`unknown column ${name}`)
    params.push(encode(type, values[name]))
    return `$${params.length}::${CAST[type]}`
  })
}

/** Only the listed columns that the values actually set (undefined = leave alone). */
const setColumns = (columns: Columns, values: Record<string, unknown>) =>
  Object.keys(values).filter((name) => values[name] !== undefined && name in columns)

export function insertStatement(
  table: string,
  columns: Columns,
  values: Record<string, unknown>,
  suffix = 'RETURNING *',
): Statement {
  const names = setColumns(columns, values)
  const params: unknown[] = []
  const slots = placeholders(columns, names, values, params)
  const list = names.map((n) => `"${n}"`).join(', ')
  return { text: `INSERT INTO "${table}" (${list}) VALUES (${slots.join(', ')}) ${suffix}`, params }
}

/**
 * UPDATE … SET the given columns (and `updated_at`, when the table has one) WHERE key = value.
 * `previous` columns also come back as they were just before, read under the row lock by this same
 * statement (so no concurrent write can fall in between), named by `previousColumn`.
 */
export function updateStatement(
  table: string,
  columns: Columns,
  where: { column: string; value: string },
  values: Record<string, unknown>,
  previous: readonly string[] = [],
): Statement {
  const names = setColumns(columns, values)
  const params: unknown[] = [where.value]
  const slots = placeholders(columns, names, values, params)
  const sets = names.map((n, i) => `"${n}" = ${slots[i]}`)
  if ('updated_at' in columns && !names.includes('updated_at')) sets.push(`updated_at = ${NOW_UTC}`)
  if (sets.length === 0) sets.push(`"${where.column}" = "${where.column}"`)
  if (previous.length === 0) {
    return {
      text: `UPDATE "${table}" SET ${sets.join(', ')} WHERE "${where.column}" = $1 RETURNING *`,
      params,
    }
  }
  const old = previous.map((n) => {
    if (!(n in columns)) throw new Error(`unknown column ${n}`)
    return `"${n}" AS "${previousColumn(n)}"`
  })
  return {
    text: `UPDATE "${table}" t SET ${sets.join(', ')}
FROM (SELECT ${old.join(', ')} FROM "${table}" WHERE "${where.column}" = $1 FOR UPDATE) p
WHERE t."${where.column}" = $1 RETURNING t.*, p.*`,
    params,
  }
}

/** The name an updateStatement `previous` column comes back under (no table has such a column). */
export const previousColumn = (column: string): string => `previous.${column}`

/** Splits a row returned by updateStatement into the updated row and the `previous` values. */
export function splitPrevious(
  returned: Row,
  previous: readonly string[],
): { row: Row; previous: Record<string, unknown> } {
  const names = new Set(previous.map(previousColumn))
  return {
    row: Object.fromEntries(Object.entries(returned).filter(([name]) => !names.has(name))),
    previous: Object.fromEntries(previous.map((column) => [column, returned[previousColumn(column)]])),
  }
}

/** The tables' default for timestamps: UTC wall time in a `timestamp` column. */
export const NOW_UTC = "(now() at time zone 'utc')"
