/**
 * LiteLLM's `budget_duration` strings (keys, users, teams, customers): `<n><unit>` with unit `s`, `m`,
 * `h`, `d`, `w` or `mo`, e.g. `30s`, `30m`, `1h`, `1d`, `7d`, `30d`, `1mo`.
 */
export type BudgetDurationUnit = 's' | 'm' | 'h' | 'd' | 'w' | 'mo'

export interface BudgetDuration {
  value: number
  unit: BudgetDurationUnit
  /** The string as configured (trimmed), for messages and for storing back unchanged. */
  text: string
}

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/**
 * Whole match, unlike LiteLLM's `re.match(r"(\d+)(mo|[smhdw]?)")` which reads `30days` as `30d` and
 * accepts a bare `30` only to fail later: a typo should be a 400 now, not a surprise reset. The
 * number may be left out (`mo`, `d`) and then means 1.
 */
const DURATION = /^(\d*)(mo|[smhdw])$/

/**
 * Caps the count so every reset stays inside the range of a JavaScript Date (±275,000 years);
 * a million months is still 83,000 years.
 */
const MAX_VALUE = 1_000_000

const ACCEPTED =
  'a positive integer followed by s, m, h, d, w or mo (e.g. 30s, 30m, 1h, 1d, 7d, 30d, 1mo, mo)'

/** Parses a `budget_duration`; throws an Error naming the value and the accepted forms. */
export function parseBudgetDuration(input: string): BudgetDuration {
  const text = typeof input === 'string' ? input.trim() : ''
  const match = DURATION.exec(text)
  const value = match?.[1] === '' ? 1 : Number(match?.[1])
  if (match === null || !Number.isSafeInteger(value) || value < 1 || value > MAX_VALUE) {
    throw new Error(`Invalid budget_duration '${String(input)}': expected ${ACCEPTED}.`)
  }
  return { value, unit: match[2] as BudgetDurationUnit, text }
}

/** The timezone names that mean UTC; calendar alignment in other zones is not implemented yet. */
const UTC_NAMES = new Set(['utc', 'etc/utc', 'gmt', 'etc/gmt', 'z', 'zulu', 'universal', 'etc/universal'])

export function isSupportedBudgetTimezone(timezone: string): boolean {
  return UTC_NAMES.has(timezone.trim().toLowerCase())
}

/** 00:00 UTC of the Monday after `from`'s day (a Monday moves to the next one). */
function nextMondayUtc(from: Date): number {
  const startOfDay = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate())
  const daysAhead = (8 - from.getUTCDay()) % 7 || 7
  return startOfDay + daysAhead * DAY
}

/** 00:00 UTC on the 1st of the month `months` after `from`'s (Date.UTC rolls the year over). */
const firstOfMonthUtc = (from: Date, months: number): number =>
  Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + months, 1)

/**
 * When a budget that is current at `from` resets next, always strictly after `from`. Follows newer
 * LiteLLM releases, which align day-based budgets to the calendar so every key of a team resets
 * together, whenever it was created:
 * - `1d` → next midnight; `Nd` → midnight N days after today's;
 * - `7d` and `1w` → next Monday 00:00 (`Nw` → that Monday plus N-1 weeks);
 * - `30d`, `mo`, `1mo` → the 1st of next month 00:00 (`Nmo` → the 1st, N months on);
 * - `s`, `m`, `h` → `from` plus the duration, unaligned.
 *
 * Only UTC is supported for now: LiteLLM's `litellm_settings.timezone` defaults to UTC, and a
 * deployment that sets another zone gets a RangeError here (validate it at config load with
 * `isSupportedBudgetTimezone`) rather than budgets silently resetting at the wrong local hour.
 */
export function nextBudgetReset(duration: BudgetDuration, from: Date, timezone = 'UTC'): Date {
  if (!isSupportedBudgetTimezone(timezone)) {
    throw new RangeError(`Budget reset timezone '${timezone}' is not supported yet; only UTC is.`)
  }
  const now = from.getTime()
  if (Number.isNaN(now)) throw new RangeError('nextBudgetReset needs a valid Date.')
  const { value, unit } = duration
  switch (unit) {
    case 's':
      return new Date(now + value * SECOND)
    case 'm':
      return new Date(now + value * MINUTE)
    case 'h':
      return new Date(now + value * HOUR)
    case 'd':
      if (value === 7) return new Date(nextMondayUtc(from))
      if (value === 30) return new Date(firstOfMonthUtc(from, 1))
      return new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()) + value * DAY)
    case 'w':
      return new Date(nextMondayUtc(from) + (value - 1) * 7 * DAY)
    case 'mo':
      return new Date(firstOfMonthUtc(from, value))
  }
}
