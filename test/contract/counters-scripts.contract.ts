/**
 * Part of the Counters contract (counters.contract.ts): CounterScripts, whose Lua (Redis, Upstash)
 * and JavaScript twin (memory) must give the same answers, sequentially and under contention.
 */
import { expect, it } from 'vitest'
import type { CounterScript, Counters } from '../../src/store/counters'
import type { CountersFixture } from './counters.contract'

export interface ScriptTestContext {
  counters(): Counters
  fixture(): CountersFixture
  key(label: string): string
  kind: Counters['kind']
}

interface Decision {
  allowed: boolean
  count: number
  ttlMs: number
}

/** A fixed-window limiter: count a hit if below the limit; report [allowed, count, ms left]. */
export const fixedWindow: CounterScript<Decision> = {
  name: 'contract.fixedWindow',
  lua: `
local limit = tonumber(ARGV[1])
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= limit then return {0, count, redis.call('PTTL', KEYS[1])} end
count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, count, redis.call('PTTL', KEYS[1])}`,
  local(state, [key = ''], [limit = '0', windowMs = '0']) {
    const count = Number(state.get(key) ?? '0')
    if (count >= Number(limit)) return { allowed: false, count, ttlMs: state.ttlMs(key) ?? -1 }
    const ttlMs = count === 0 ? Number(windowMs) : state.ttlMs(key)
    state.set(key, String(count + 1), ttlMs)
    return { allowed: true, count: count + 1, ttlMs: ttlMs ?? -1 }
  },
  parse(reply) {
    const [allowed, count, ttlMs] = reply as [number, number, number]
    return { allowed: allowed === 1, count, ttlMs }
  },
}

/** Reply shapes: a bulk string, nil, an integer, a Lua float (truncated by Redis) inside an array. */
const shapes: CounterScript<unknown> = {
  name: 'contract.shapes',
  lua: `return {redis.call('GET', KEYS[1]), ARGV[1], tonumber(ARGV[2]), false, 3.7}`,
  local: (state, [key = ''], [text, n]) => [state.get(key), text, Number(n), null, 3],
  parse: (reply) => reply,
}

export function scriptTests({ counters: c, fixture, key, kind }: ScriptTestContext): void {
  it('runs a fixed-window limiter script: allows up to the limit, then denies until the window ends', async () => {
    const hit = () => c().run(fixedWindow, [key('limit')], [3, 1000])
    const decisions = [await hit(), await hit(), await hit(), await hit()]
    expect(decisions.map((d) => [d.allowed, d.count])).toEqual([
      [true, 1],
      [true, 2],
      [true, 3],
      [false, 3],
    ])
    for (const d of decisions) expect(d.ttlMs).toBeGreaterThan(0)
    for (const d of decisions) expect(d.ttlMs).toBeLessThanOrEqual(1000)
    await fixture().wait(1100)
    expect(await hit()).toMatchObject({ allowed: true, count: 1 })
  })

  it('keeps the limiter exact under 50 parallel calls', async () => {
    const decisions = await Promise.all(
      Array.from({ length: 50 }, () => c().run(fixedWindow, [key('limit-par')], ['10', '60000'])),
    )
    const allowed = decisions.filter((d) => d.allowed).map((d) => d.count)
    expect(allowed.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(decisions.filter((d) => !d.allowed).map((d) => d.count)).toEqual(Array(40).fill(10))
    expect(await c().get(key('limit-par'))).toBe('10')
  })

  it('hands scripts Redis reply shapes: strings, nil, integers, truncated floats', async () => {
    expect(await c().run(shapes, [key('shape')], ['x', 5])).toEqual([null, 'x', 5, null, 3])
    await c().set(key('shape'), 'héllo')
    expect(await c().run(shapes, [key('shape')], ['', '-2'])).toEqual(['héllo', '', -2, null, 3])
  })

  // Only servers cache scripts by SHA; the memory store has nothing to forget, so no test there.
  const serverOnly = kind === 'memory' ? () => {} : it
  serverOnly('falls back to EVAL when the server has forgotten a script', async () => {
    expect(fixture().flushScripts).toBeDefined()
    expect(await c().incr(key('flush'), 1, 60)).toBe(1)
    await fixture().flushScripts?.()
    expect(await c().incr(key('flush'), 1, 60)).toBe(2)
    expect(await c().run(fixedWindow, [key('flush-limit')], [1, 60000])).toMatchObject({ allowed: true })
  })
}
