import type { CounterScript, LocalCounterState } from '../store/counters'

/**
 * The two atomic scripts behind key, user and team rate limits (Lua on Redis/Upstash, a synchronous
 * twin in memory). Per limited entity there are three keys: `requests` (opens the fixed window: it
 * is created with the window's expiry, and `tokens` shares that expiry), `tokens`, and `parallel`
 * (in-flight calls, refreshed to a TTL so a crashed instance cannot hold its slots forever).
 */

/** Reserve ARGV: window ms, parallel TTL ms, then per entity rpm, tpm, parallel limit (-1: none), estimate. */
export const RESERVE_HEADER_ARGS = 2
export const RESERVE_ARGS_PER_ENTITY = 4
export const KEYS_PER_ENTITY = 3

export type LimitType = 'requests' | 'tokens' | 'max_parallel_requests'
const TYPES: readonly LimitType[] = ['requests', 'tokens', 'max_parallel_requests']

/** Per entity after a granted reservation: requests and tokens counted in the window, ms to its end. */
export interface WindowUsage {
  requests: number
  tokens: number
  windowMs: number
}

export type ReserveResult =
  | { ok: true; entities: WindowUsage[] }
  | { ok: false; entity: number; type: LimitType; limit: number; remaining: number; retryMs: number }

export function parseReserve(reply: unknown): ReserveResult {
  const values = Array.isArray(reply) ? reply.map(Number) : []
  if (values[0] === 1) {
    const entities: WindowUsage[] = []
    for (let i = 1; i + 2 < values.length; i += 3) {
      entities.push({ requests: values[i] ?? 0, tokens: values[i + 1] ?? 0, windowMs: values[i + 2] ?? 0 })
    }
    return { ok: true, entities }
  }
  return {
    ok: false,
    entity: (values[1] ?? 1) - 1,
    type: TYPES[(values[2] ?? 1) - 1] ?? 'requests',
    limit: values[3] ?? 0,
    remaining: values[4] ?? 0,
    retryMs: values[5] ?? 0,
  }
}

const RESERVE_LUA = `
local n = #KEYS / 3
local windowMs = tonumber(ARGV[1])
local parallelTtl = tonumber(ARGV[2])
local seen = {}
for i = 1, n do
  local a = 2 + 4 * (i - 1)
  local rpm, tpm, par, est = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local k = 3 * (i - 1)
  local ttl = redis.call('PTTL', KEYS[k + 1])
  local req, tok = 0, 0
  if ttl > 0 then
    req = tonumber(redis.call('GET', KEYS[k + 1]) or '0')
    tok = tonumber(redis.call('GET', KEYS[k + 2]) or '0')
  else
    ttl = windowMs
  end
  local inflight = tonumber(redis.call('GET', KEYS[k + 3]) or '0')
  if rpm >= 0 and req + 1 > rpm then return {0, i, 1, rpm, math.max(rpm - req, 0), ttl} end
  if tpm >= 0 and (tok >= tpm or (tok > 0 and tok + est > tpm)) then
    return {0, i, 2, tpm, math.max(tpm - tok, 0), ttl}
  end
  if par >= 0 and inflight + 1 > par then return {0, i, 3, par, math.max(par - inflight, 0), 1000} end
  seen[i] = {req, tok, ttl, rpm >= 0 or tpm >= 0, par >= 0, est}
end
local out = {1}
for i = 1, n do
  local k = 3 * (i - 1)
  local s = seen[i]
  local req, tok, ttl = s[1], s[2], s[3]
  if s[4] then
    req = req + 1
    tok = tok + s[6]
    redis.call('SET', KEYS[k + 1], req, 'PX', ttl)
    redis.call('SET', KEYS[k + 2], tok, 'PX', ttl)
  end
  if s[5] then
    redis.call('INCR', KEYS[k + 3])
    redis.call('PEXPIRE', KEYS[k + 3], parallelTtl)
  end
  out[#out + 1] = req
  out[#out + 1] = tok
  out[#out + 1] = ttl
end
return out`

const num = (state: LocalCounterState, key: string): number => Number(state.get(key) ?? '0')

function reserveLocal(
  state: LocalCounterState,
  keys: readonly string[],
  args: readonly string[],
): ReserveResult {
  const n = keys.length / KEYS_PER_ENTITY
  const windowMs = Number(args[0])
  const parallelTtl = Number(args[1])
  const seen: Array<{
    req: number
    tok: number
    ttl: number
    windowed: boolean
    parallel: boolean
    est: number
  }> = []
  for (let i = 0; i < n; i++) {
    const a = RESERVE_HEADER_ARGS + RESERVE_ARGS_PER_ENTITY * i
    const [rpm, tpm, par, est] = [0, 1, 2, 3].map((j) => Number(args[a + j]))
    const k = KEYS_PER_ENTITY * i
    const requestsKey = keys[k] ?? ''
    const left = state.ttlMs(requestsKey)
    const open = left !== undefined && left > 0 && state.get(requestsKey) !== null
    const req = open ? num(state, requestsKey) : 0
    const tok = open ? num(state, keys[k + 1] ?? '') : 0
    const ttl = open ? left : windowMs
    const inflight = num(state, keys[k + 2] ?? '')
    const fail = (type: number, limit: number, remaining: number, retryMs: number): ReserveResult =>
      parseReserve([0, i + 1, type, limit, Math.max(remaining, 0), retryMs])
    if (rpm !== undefined && rpm >= 0 && req + 1 > rpm) return fail(1, rpm, rpm - req, ttl)
    if (tpm !== undefined && tpm >= 0 && (tok >= tpm || (tok > 0 && tok + (est ?? 0) > tpm))) {
      return fail(2, tpm, tpm - tok, ttl)
    }
    if (par !== undefined && par >= 0 && inflight + 1 > par) return fail(3, par, par - inflight, 1000)
    seen.push({
      req,
      tok,
      ttl,
      windowed: (rpm ?? -1) >= 0 || (tpm ?? -1) >= 0,
      parallel: (par ?? -1) >= 0,
      est: est ?? 0,
    })
  }
  const entities: WindowUsage[] = []
  for (const [i, s] of seen.entries()) {
    const k = KEYS_PER_ENTITY * i
    let { req, tok } = s
    if (s.windowed) {
      req += 1
      tok += s.est
      state.set(keys[k] ?? '', String(req), s.ttl)
      state.set(keys[k + 1] ?? '', String(tok), s.ttl)
    }
    if (s.parallel) state.set(keys[k + 2] ?? '', String(num(state, keys[k + 2] ?? '') + 1), parallelTtl)
    entities.push({ requests: req, tokens: tok, windowMs: s.ttl })
  }
  return { ok: true, entities }
}

/**
 * Checks every entity's limits and, only when all pass, counts the request, reserves the estimated
 * tokens and takes a parallel slot for each: a refused call reserves nothing. Tokens are refused
 * once the window is full, or when the estimate would overflow a window that already has tokens (a
 * single call larger than the whole limit still runs in an empty window, as in LiteLLM).
 */
export const reserveScript: CounterScript<ReserveResult> = {
  name: 'multillm.limits.reserve',
  lua: RESERVE_LUA,
  local: reserveLocal,
  parse: parseReserve,
}

/**
 * ARGV per entity: token correction (actual − estimate, integer) and '1' to release a parallel
 * slot. Tokens move within the window's expiry, floored at 0; a closed window is left alone.
 */
export const settleScript: CounterScript<number> = {
  name: 'multillm.limits.settle',
  lua: `
for i = 1, #KEYS / 3 do
  local k = 3 * (i - 1)
  local delta = tonumber(ARGV[2 * i - 1])
  if delta ~= 0 then
    local ttl = redis.call('PTTL', KEYS[k + 2])
    if ttl > 0 then
      local v = tonumber(redis.call('GET', KEYS[k + 2]) or '0') + delta
      if v < 0 then v = 0 end
      redis.call('SET', KEYS[k + 2], v, 'PX', ttl)
    end
  end
  if ARGV[2 * i] == '1' then
    local p = tonumber(redis.call('GET', KEYS[k + 3]) or '0')
    if p > 1 then redis.call('DECR', KEYS[k + 3]) elseif p == 1 then redis.call('DEL', KEYS[k + 3]) end
  end
end
return #KEYS / 3`,
  local: (state, keys, args) => {
    const n = keys.length / KEYS_PER_ENTITY
    for (let i = 0; i < n; i++) {
      const k = KEYS_PER_ENTITY * i
      const delta = Number(args[2 * i] ?? '0')
      const tokensKey = keys[k + 1] ?? ''
      const ttl = state.ttlMs(tokensKey)
      if (delta !== 0 && ttl !== undefined && ttl > 0 && state.get(tokensKey) !== null) {
        state.set(tokensKey, String(Math.max(0, num(state, tokensKey) + delta)), ttl)
      }
      if (args[2 * i + 1] === '1') {
        const parallelKey = keys[k + 2] ?? ''
        const p = num(state, parallelKey)
        if (p > 1) state.set(parallelKey, String(p - 1), state.ttlMs(parallelKey))
        else if (p === 1) state.del(parallelKey)
      }
    }
    return n
  },
  parse: (reply) => Number(reply),
}
