import type { CounterScript, LocalCounterState } from '../store/counters'

/**
 * One script for every routing-state write of an attempt, so `started` and `ended` each cost one
 * round trip and apply atomically. ARGV is a list of operations, each taking the next KEYS:
 *
 * - `incr by ttlMs` (1 key): INCRBY; a key it creates expires after ttlMs (rpm, tpm, in-flight);
 * - `release` (1 key): one fewer in flight, never below 0 (the key is deleted at 0, expiry kept);
 * - `sample value keep ttlMs` (1 key): appends to a comma-separated list of the last `keep`
 *   latency samples, which expires ttlMs after the last sample;
 * - `cooldown untilMs ms` (1 key): the deployment cools down for ms (a longer one is kept);
 * - `fail allowed windowMs untilMs ms` (2 keys: fails, cooldown): counts a failure in a window that
 *   opens with the first one; above `allowed` the deployment cools down and the count starts over.
 *
 * Returns 1 when a cooldown was set.
 */
const APPLY_LUA = `
local k, i, cooled = 1, 1, 0
local function cool(key, untilMs, ms)
  if redis.call('PTTL', key) < tonumber(ms) then
    redis.call('SET', key, untilMs, 'PX', ms)
    return 1
  end
  return 0
end
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'incr' then
    local created = redis.call('EXISTS', KEYS[k]) == 0
    redis.call('INCRBY', KEYS[k], ARGV[i + 1])
    if created then redis.call('PEXPIRE', KEYS[k], ARGV[i + 2]) end
    k, i = k + 1, i + 3
  elseif op == 'release' then
    local v = tonumber(redis.call('GET', KEYS[k]) or '0')
    if v > 1 then redis.call('DECR', KEYS[k]) elseif v == 1 then redis.call('DEL', KEYS[k]) end
    k, i = k + 1, i + 1
  elseif op == 'sample' then
    local list = {}
    local current = redis.call('GET', KEYS[k])
    if current then for v in string.gmatch(current, '[^,]+') do list[#list + 1] = v end end
    list[#list + 1] = ARGV[i + 1]
    local from = math.max(1, #list - tonumber(ARGV[i + 2]) + 1)
    redis.call('SET', KEYS[k], table.concat(list, ',', from, #list), 'PX', ARGV[i + 3])
    k, i = k + 1, i + 4
  elseif op == 'cooldown' then
    cooled = math.max(cooled, cool(KEYS[k], ARGV[i + 1], ARGV[i + 2]))
    k, i = k + 1, i + 3
  elseif op == 'fail' then
    local n = redis.call('INCR', KEYS[k])
    if n == 1 then redis.call('PEXPIRE', KEYS[k], ARGV[i + 2]) end
    if n > tonumber(ARGV[i + 1]) then
      redis.call('DEL', KEYS[k])
      cooled = math.max(cooled, cool(KEYS[k + 1], ARGV[i + 3], ARGV[i + 4]))
    end
    k, i = k + 2, i + 5
  else
    return redis.error_reply('unknown routing op ' .. tostring(op))
  end
end
return cooled`

/** PTTL's answer: -2 missing, -1 no expiry, else ms left. */
function pttl(state: LocalCounterState, key: string): number {
  if (state.get(key) === null) return -2
  return state.ttlMs(key) ?? -1
}

function cool(state: LocalCounterState, key: string, until: string, ms: number): number {
  if (pttl(state, key) >= ms) return 0
  state.set(key, until, ms)
  return 1
}

function applyLocal(state: LocalCounterState, keys: readonly string[], args: readonly string[]): number {
  let k = 0
  let i = 0
  let cooled = 0
  const key = (offset = 0) => keys[k + offset] ?? ''
  const arg = (offset: number) => args[i + offset] ?? ''
  while (i < args.length) {
    const op = args[i]
    if (op === 'incr') {
      const current = state.get(key())
      const value = Number(current ?? '0') + Number(arg(1))
      state.set(key(), String(value), current === null ? Number(arg(2)) : state.ttlMs(key()))
      k += 1
      i += 3
    } else if (op === 'release') {
      const v = Number(state.get(key()) ?? '0')
      if (v > 1) state.set(key(), String(v - 1), state.ttlMs(key()))
      else if (v === 1) state.del(key())
      k += 1
      i += 1
    } else if (op === 'sample') {
      const current = state.get(key())
      const list = current ? current.split(',').filter((v) => v !== '') : []
      list.push(arg(1))
      state.set(key(), list.slice(-Number(arg(2))).join(','), Number(arg(3)))
      k += 1
      i += 4
    } else if (op === 'cooldown') {
      cooled = Math.max(cooled, cool(state, key(), arg(1), Number(arg(2))))
      k += 1
      i += 3
    } else if (op === 'fail') {
      const current = state.get(key())
      const n = Number(current ?? '0') + 1
      state.set(key(), String(n), current === null ? Number(arg(2)) : state.ttlMs(key()))
      if (n > Number(arg(1))) {
        state.del(key())
        cooled = Math.max(cooled, cool(state, key(1), arg(3), Number(arg(4))))
      }
      k += 2
      i += 5
    } else {
      throw new Error(`unknown routing op ${op}`)
    }
  }
  return cooled
}

export const routingApplyScript: CounterScript<number> = {
  name: 'multillm.router.apply',
  lua: APPLY_LUA,
  local: applyLocal,
  parse: (reply) => Number(reply),
}

/** Builds the KEYS and ARGV of one routingApplyScript run. */
export class RoutingOps {
  readonly keys: string[] = []
  readonly args: Array<string | number> = []

  get empty(): boolean {
    return this.args.length === 0
  }

  incr(key: string, by: number, ttlMs: number): this {
    this.keys.push(key)
    this.args.push('incr', Math.round(by), Math.round(ttlMs))
    return this
  }

  release(key: string): this {
    this.keys.push(key)
    this.args.push('release')
    return this
  }

  sample(key: string, value: number, keep: number, ttlMs: number): this {
    this.keys.push(key)
    this.args.push('sample', Math.round(value), keep, Math.round(ttlMs))
    return this
  }

  cooldown(key: string, untilMs: number, ms: number): this {
    this.keys.push(key)
    this.args.push('cooldown', Math.round(untilMs), Math.max(1, Math.round(ms)))
    return this
  }

  fail(
    failsKey: string,
    cooldownKey: string,
    allowed: number,
    windowMs: number,
    untilMs: number,
    ms: number,
  ): this {
    this.keys.push(failsKey, cooldownKey)
    this.args.push('fail', allowed, Math.round(windowMs), Math.round(untilMs), Math.max(1, Math.round(ms)))
    return this
  }
}
