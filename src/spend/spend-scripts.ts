import { addDecimals } from '../store/counter-scripts'
import type { CounterScript, LocalCounterState } from '../store/counters'

/**
 * The counter scripts behind spend totals. Each runs atomically (Lua on Redis/Upstash, a
 * synchronous twin in memory), which is what lets several instances seed and add to the same total
 * without double counting. Values stay decimal strings as INCRBYFLOAT writes them; '' in a reply
 * means "no such total" (a Lua table cannot hold nil).
 */

const parseTotals = (reply: unknown): Array<number | null> =>
  Array.isArray(reply) ? reply.map((v) => (v === '' || v === null || v === undefined ? null : Number(v))) : []

/** Seconds → ms for the local twins (ARGV arrive as strings). */
const ttlMsOf = (seconds: string | undefined): number => Number(seconds ?? '0') * 1000

/**
 * ARGV: ttl seconds, then one increment per key. Adds to the totals that exist and refreshes their
 * expiry; a missing total is left missing (reply '') because only the caller can seed it from
 * Postgres. Creating it at the increment would silently drop everything spent before.
 */
export const addIfPresentScript: CounterScript<Array<number | null>> = {
  name: 'multillm.spend.addIfPresent',
  lua: `
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    out[i] = redis.call('INCRBYFLOAT', key, ARGV[i + 1])
    redis.call('EXPIRE', key, ARGV[1])
  else
    out[i] = ''
  end
end
return out`,
  local: (state, keys, args) =>
    keys.map((key, i) => {
      const current = state.get(key)
      if (current === null) return null
      const value = addDecimals(current, args[i + 1] ?? '0')
      state.set(key, value, ttlMsOf(args[0]))
      return Number(value)
    }),
  parse: parseTotals,
}

function localSeed(state: LocalCounterState, key: string, base: string, by: string, ttl: string | undefined) {
  const current = state.get(key)
  const value = addDecimals(current ?? base, current === null || Number(by) !== 0 ? by : '0')
  state.set(key, value, ttlMsOf(ttl))
  return Number(value)
}

/**
 * ARGV: ttl seconds, then per key its Postgres value and an increment. A missing total is set to
 * value + increment; an existing one only gets the increment (the Postgres value read by this
 * instance may already be stale, the total is not). Two instances seeding at once: the first
 * creates, the second adds — nothing is counted twice.
 */
export const seedScript: CounterScript<Array<number | null>> = {
  name: 'multillm.spend.seed',
  lua: `
local out = {}
for i, key in ipairs(KEYS) do
  local by = ARGV[2 * i + 1]
  if redis.call('EXISTS', key) == 0 then
    redis.call('SET', key, ARGV[2 * i])
  end
  if tonumber(by) ~= 0 then
    out[i] = redis.call('INCRBYFLOAT', key, by)
  else
    out[i] = redis.call('GET', key)
  end
  redis.call('EXPIRE', key, ARGV[1])
end
return out`,
  local: (state, keys, args) =>
    keys.map((key, i) => localSeed(state, key, args[2 * i + 1] ?? '0', args[2 * i + 2] ?? '0', args[0])),
  parse: parseTotals,
}

/**
 * ARGV: the spend each key's row had when a budget reset zeroed it. An existing total drops by that
 * amount: it then holds exactly the spend recorded but not yet flushed, which Postgres will add to
 * the fresh period too. Clamped at 0 for a total seeded after the reset (already fresh) or one that
 * lost increments in a Redis restart; either way the error is at most the spend of a few seconds.
 */
export const subtractResetScript: CounterScript<number> = {
  name: 'multillm.spend.subtractReset',
  lua: `
for i, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if current then
    if tonumber(current) >= tonumber(ARGV[i]) then
      redis.call('INCRBYFLOAT', key, '-' .. ARGV[i])
    else
      redis.call('INCRBYFLOAT', key, '-' .. current)
    end
  end
end
return #KEYS`,
  local: (state, keys, args) => {
    for (const [i, key] of keys.entries()) {
      const current = state.get(key)
      if (current === null) continue
      const old = args[i] ?? '0'
      const value = Number(current) >= Number(old) ? addDecimals(current, `-${old}`) : '0'
      state.set(key, value, state.ttlMs(key))
    }
    return keys.length
  },
  parse: (reply) => Number(reply),
}

/**
 * The budget-reset subtraction, applied at most once per reset however often it is sent (a retry
 * after a lost reply, or after a failure the caller could not tell from success).
 * KEYS: n totals, then n guard keys (`reset-applied:<total>:<old budget_reset_at>`).
 * ARGV: guard expiry in seconds, then per total its increment (minus the spend Postgres zeroed).
 * A total whose guard is already set is skipped; otherwise the guard is set (SET NX) and an existing
 * total moves by the increment, floored at 0 like subtractResetScript (a total seeded after the
 * reset is already fresh). Replies with the number of totals whose guard this run set.
 */
export const subtractResetOnceScript: CounterScript<number> = {
  name: 'multillm.spend.subtractResetOnce',
  lua: `
local n = #KEYS / 2
local applied = 0
for i = 1, n do
  if redis.call('SET', KEYS[n + i], '1', 'NX', 'EX', ARGV[1]) then
    applied = applied + 1
    if redis.call('EXISTS', KEYS[i]) == 1 then
      local value = redis.call('INCRBYFLOAT', KEYS[i], ARGV[i + 1])
      if tonumber(value) < 0 then
        local ttl = redis.call('PTTL', KEYS[i])
        redis.call('SET', KEYS[i], '0')
        if ttl > 0 then redis.call('PEXPIRE', KEYS[i], ttl) end
      end
    end
  end
end
return applied`,
  local: (state, keys, args) => {
    const n = keys.length / 2
    let applied = 0
    for (let i = 0; i < n; i++) {
      const guard = keys[n + i] ?? ''
      if (state.get(guard) !== null) continue
      state.set(guard, '1', ttlMsOf(args[0]))
      applied++
      const key = keys[i] ?? ''
      const current = state.get(key)
      if (current === null) continue
      const value = addDecimals(current, args[i + 1] ?? '0')
      state.set(key, Number(value) < 0 ? '0' : value, state.ttlMs(key))
    }
    return applied
  },
  parse: (reply) => Number(reply),
}

/**
 * ARGV: per key the spend an update just wrote to its row (`to`) and minus the spend the row had
 * (`-from`), both read by that one statement. An existing total moves by exactly `to - from`: it
 * then holds the new Postgres value plus the spend recorded but not yet flushed, as before. Floored
 * at `to`, which the true total can never be below (unflushed spend is never negative): only a
 * total seeded from the new value between the update and this script (already right) would cross
 * it. A missing total is left missing (reply ''); it is seeded from the new Postgres value.
 */
export const adjustIfPresentScript: CounterScript<Array<number | null>> = {
  name: 'multillm.spend.adjustIfPresent',
  lua: `
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    local to = ARGV[2 * i - 1]
    redis.call('INCRBYFLOAT', key, to)
    local value = redis.call('INCRBYFLOAT', key, ARGV[2 * i])
    if tonumber(value) < tonumber(to) then
      local ttl = redis.call('PTTL', key)
      redis.call('SET', key, to)
      if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
      value = to
    end
    out[i] = value
  else
    out[i] = ''
  end
end
return out`,
  local: (state, keys, args) =>
    keys.map((key, i) => {
      const current = state.get(key)
      if (current === null) return null
      const to = args[2 * i] ?? '0'
      const moved = addDecimals(addDecimals(current, to), args[2 * i + 1] ?? '0')
      const value = Number(moved) < Number(to) ? to : moved
      state.set(key, value, state.ttlMs(key))
      return Number(value)
    }),
  parse: parseTotals,
}
