import type { CounterScript, LocalCounterState } from './counters'

/**
 * The building blocks every Counters implementation shares, so Redis, Upstash and memory agree:
 * INCRBY / INCRBYFLOAT that set an expiry only when they create the key, Redis' error texts, and
 * Redis' INCRBYFLOAT decimal formatting.
 */

/** Expiry in ms for Redis' PX/PEXPIRE (which take integers); rejects what Redis would reject. */
export function ttlToMs(ttlSeconds: number | undefined): number | undefined {
  if (ttlSeconds === undefined) return undefined
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`a counter TTL must be a positive number of seconds, got ${ttlSeconds}`)
  }
  return Math.max(1, Math.round(ttlSeconds * 1000))
}

export const NOT_AN_INTEGER = 'ERR value is not an integer or out of range'
export const NOT_A_FLOAT = 'ERR value is not a valid float'

/**
 * Atomic on Redis and Upstash because a script runs alone. EXISTS before the increment decides
 * whether this call created the key; checking TTL = -1 instead would also put an expiry on a key
 * someone created on purpose without one. ARGV: increment, expiry in ms ('' for none).
 */
const incrLua = (command: 'INCRBY' | 'INCRBYFLOAT'): string => `
local created = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('${command}', KEYS[1], ARGV[1])
if created and ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value`

function localIncr(state: LocalCounterState, key: string, next: (current: string) => string, ttl?: string) {
  const current = state.get(key)
  const value = next(current ?? '0')
  // Like INCRBY: an existing key keeps its expiry, a created one gets the requested one.
  const ttlMs = current === null ? (ttl ? Number(ttl) : undefined) : state.ttlMs(key)
  state.set(key, value, ttlMs)
  return value
}

/** INCRBY's arithmetic: both operands must be integers (as text), or Redis' error. */
function addIntegers(current: string, by: string): string {
  if (!/^-?\d+$/.test(current) || !/^-?\d+$/.test(by)) throw new Error(NOT_AN_INTEGER)
  return String(BigInt(current) + BigInt(by))
}

export const incrScript: CounterScript<number> = {
  name: 'multillm.incr',
  lua: incrLua('INCRBY'),
  local: (state, [key = ''], [by = '1', ttl]) =>
    Number(localIncr(state, key, (current) => addIntegers(current, by), ttl)),
  parse: (reply) => Number(reply),
}

/** INCRBYFLOAT replies with a bulk string (a Lua number would be truncated to an integer). */
export const incrFloatScript: CounterScript<number> = {
  name: 'multillm.incrFloat',
  lua: incrLua('INCRBYFLOAT'),
  local: (state, [key = ''], [by = '0', ttl]) =>
    Number(localIncr(state, key, (current) => addDecimals(current, by), ttl)),
  parse: (reply) => Number(reply),
}

const DECIMAL = /^([+-])?(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i

function toScaled(text: string): { units: bigint; scale: number } {
  const m = DECIMAL.exec(text.trim())
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(NOT_A_FLOAT)
  const fraction = m[3] ?? ''
  let units = BigInt(`${m[2]}${fraction}` || '0')
  let scale = fraction.length - Number(m[4] ?? 0)
  if (scale < 0) {
    units *= 10n ** BigInt(-scale)
    scale = 0
  }
  return { units: m[1] === '-' ? -units : units, scale }
}

/**
 * Redis computes INCRBYFLOAT in long double and prints it with 17 decimals, trailing zeros removed
 * (so ten increments of 0.1 give "1", where doubles would give 0.9999999999999999). Exact decimal
 * addition rounded to 17 decimals reproduces that.
 */
export function addDecimals(a: string, b: string): string {
  const x = toScaled(a)
  const y = toScaled(b)
  const scale = Math.max(x.scale, y.scale)
  let sum = x.units * 10n ** BigInt(scale - x.scale) + y.units * 10n ** BigInt(scale - y.scale)
  if (scale > 17) {
    const divisor = 10n ** BigInt(scale - 17)
    const half = divisor / 2n
    sum = (sum < 0n ? sum - half : sum + half) / divisor
  }
  const places = Math.min(scale, 17)
  const digits = (sum < 0n ? -sum : sum).toString().padStart(places + 1, '0')
  const whole = digits.slice(0, digits.length - places)
  const fraction = digits.slice(digits.length - places).replace(/0+$/, '')
  const text = fraction === '' ? whole : `${whole}.${fraction}`
  return sum < 0n ? `-${text}` : text
}
