/**
 * The value contract of `Sql` (see sql.ts), shared by the three drivers so that they cannot drift:
 * Postgres text output → JS values for the types whose driver defaults differ, and JS parameters →
 * text that means the same thing whatever the process time zone.
 *
 * Driver defaults this replaces:
 * - int8 and numeric arrive as strings in pg/neon (and as bigint in PGlite beyond 2^53); amounts and
 *   token counts here are numbers, so they become numbers.
 * - `timestamp` (without time zone) is read as *local* time by pg-types and PGlite. LiteLLM's schema
 *   stores UTC wall-clock time in it (`now() at time zone 'utc'`), so it is read as UTC.
 * - A `Date` parameter is sent by pg/neon as local time with an offset; Postgres silently drops the
 *   offset when the target is `timestamp`, so a non-UTC process would store local wall-clock time.
 *   Parameters therefore carry `toISOString()` (UTC), which is right for timestamp and timestamptz.
 */

export type TextParser = (text: string) => unknown

const OID = {
  int8: 20,
  numeric: 1700,
  timestamp: 1114,
  timestamptz: 1184,
  textArray: 1009,
  varcharArray: 1015,
  int8Array: 1016,
  numericArray: 1231,
  timestampArray: 1115,
  timestamptzArray: 1185,
} as const

/** Postgres' ISO output (DateStyle ISO): `2024-01-02 03:04:05.678[+01[:30[:15]]][ BC]`. */
const TIMESTAMP =
  /^(\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?)?( BC)?$/

/** The largest instants a Date can hold stand in for Postgres' ±infinity. */
const MAX_DATE_MS = 8.64e15

/** Reads timestamp (as UTC) and timestamptz (by its offset) text. */
export function parseTimestamp(text: string): Date {
  if (text === 'infinity') return new Date(MAX_DATE_MS)
  if (text === '-infinity') return new Date(-MAX_DATE_MS)
  const m = TIMESTAMP.exec(text)
  if (!m) throw new Error(`unexpected timestamp text from Postgres: ${text} (is DateStyle ISO?)`)
  const n = (i: number): number => Number(m[i] ?? 0)
  const date = new Date(0)
  // setUTCFullYear, because Date.UTC maps years 0–99 to 1900–1999.
  date.setUTCFullYear(m[12] ? 1 - n(1) : n(1), n(2) - 1, n(3))
  date.setUTCHours(n(4), n(5), n(6), Number((m[7] ?? '').padEnd(3, '0').slice(0, 3)))
  const offsetSeconds = (m[8] === '-' ? -1 : 1) * (n(9) * 3600 + n(10) * 60 + n(11))
  return new Date(date.getTime() - offsetSeconds * 1000)
}

/**
 * Parses Postgres' array output (`{a,"b c",NULL,{1,2}}`, optionally prefixed by `[1:2]=`), NULL
 * elements becoming null and nested arrays nested JS arrays.
 */
export function parseArray(text: string, element: TextParser): unknown[] {
  let i = text.startsWith('[') ? text.indexOf('=') + 1 : 0
  const list = (): unknown[] => {
    const out: unknown[] = []
    i++ // '{'
    if (text[i] === '}') {
      i++
      return out
    }
    for (;;) {
      if (i >= text.length) throw new Error(`unexpected array text from Postgres: ${text}`)
      if (text[i] === '{') out.push(list())
      else if (text[i] === '"') {
        let value = ''
        for (i++; i < text.length && text[i] !== '"'; i++) {
          if (text[i] === '\\') i++
          value += text[i]
        }
        i++
        out.push(element(value))
      } else {
        const start = i
        while (i < text.length && text[i] !== ',' && text[i] !== '}') i++
        const raw = text.slice(start, i)
        out.push(raw === 'NULL' ? null : element(raw))
      }
      if (text[i++] === '}') return out
    }
  }
  return list()
}

const asText: TextParser = (text) => text

/** Parsers by type OID; every other type keeps its driver's default (bool, int4, float8, json …). */
export const VALUE_PARSERS: Readonly<Record<number, TextParser>> = {
  [OID.int8]: Number,
  [OID.numeric]: Number,
  [OID.timestamp]: parseTimestamp,
  [OID.timestamptz]: parseTimestamp,
  [OID.textArray]: (text) => parseArray(text, asText),
  [OID.varcharArray]: (text) => parseArray(text, asText),
  [OID.int8Array]: (text) => parseArray(text, Number),
  [OID.numericArray]: (text) => parseArray(text, Number),
  [OID.timestampArray]: (text) => parseArray(text, parseTimestamp),
  [OID.timestamptzArray]: (text) => parseArray(text, parseTimestamp),
}

/**
 * One parameter as every driver should send it: Dates as UTC ISO text (see above), objects as JSON
 * text (pg would do the same, PGlite would too for a json parameter but not for a text one), arrays
 * as arrays (→ Postgres arrays; pass `JSON.stringify(list)` for a JSON array), the rest unchanged.
 */
export function toParam(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString()
  if (Array.isArray(value)) return value.map(toParam)
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) return JSON.stringify(value)
  return value
}

export const toParams = (params: readonly unknown[] | undefined): unknown[] => (params ?? []).map(toParam)
