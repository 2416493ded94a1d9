import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisCounters } from '../../adapters/node/stores/redis-counters'
import { type ReserveResult, reserveScript, settleScript } from '../../src/limits/limit-scripts'
import type { Counters } from '../../src/store/counters'
import { memoryCounters } from '../../src/store/memory-counters'
import { type ClaimedRedisDb, claimRedisDb } from '../helpers/redis-db'
import { redis, requireOrSkip } from '../helpers/services'

const KEYS = ['e:requests', 'e:tokens', 'e:parallel']
const reserve = (c: Counters, rpm: number, tpm: number, par: number, est: number): Promise<ReserveResult> =>
  c.run(reserveScript, KEYS, [60_000, 600_000, rpm, tpm, par, est])
const settle = (c: Counters, delta: number, release: boolean) =>
  c.run(settleScript, KEYS, [delta, release ? 1 : 0])

/** The same scenario on any store; returns every reply so memory and Redis can be compared. */
async function scenario(c: Counters): Promise<unknown[]> {
  const out: unknown[] = []
  const strip = (r: ReserveResult) =>
    r.ok
      ? { ok: true, entities: r.entities.map((e) => ({ requests: e.requests, tokens: e.tokens })) }
      : { ...r, retryMs: r.retryMs > 0 }
  for (let i = 0; i < 4; i++) out.push(strip(await reserve(c, 3, -1, -1, 0)))
  out.push(await c.get('e:requests'))
  await c.del(KEYS)
  out.push(strip(await reserve(c, -1, 100, 2, 60)))
  out.push(strip(await reserve(c, -1, 100, 2, 60)))
  out.push(await c.get('e:tokens'), await c.get('e:parallel'))
  out.push(await settle(c, -50, true))
  out.push(await c.get('e:tokens'), await c.get('e:parallel'))
  out.push(strip(await reserve(c, -1, 100, 2, 30)))
  out.push(strip(await reserve(c, -1, 100, 2, 1)))
  out.push(strip(await reserve(c, -1, 200, 2, 1)))
  await settle(c, 0, true)
  await settle(c, 0, true)
  await settle(c, 0, true)
  out.push(await c.get('e:parallel'))
  return out
}

describe('rate-limit scripts (memory)', () => {
  it('admits exactly rpm requests per window and counts nothing for the refused one', async () => {
    const c = memoryCounters()
    for (let i = 0; i < 4; i++) expect((await reserve(c, 4, -1, -1, 10)).ok).toBe(true)
    const refused = await reserve(c, 4, -1, -1, 10)
    expect(refused).toMatchObject({ ok: false, entity: 0, type: 'requests', limit: 4, remaining: 0 })
    if (!refused.ok) expect(refused.retryMs).toBeGreaterThan(59_000)
    expect(await c.get('e:requests')).toBe('4')
    expect(await c.get('e:tokens')).toBe('40')
  })

  it('opens a new window after 60 s', async () => {
    let now = 1_000_000
    const c = memoryCounters(() => now)
    for (let i = 0; i < 2; i++) expect((await reserve(c, 2, -1, -1, 0)).ok).toBe(true)
    expect((await reserve(c, 2, -1, -1, 0)).ok).toBe(false)
    now += 60_001
    expect((await reserve(c, 2, -1, -1, 0)).ok).toBe(true)
  })

  it('reserves estimated tokens and settles them to the actual total', async () => {
    const c = memoryCounters()
    expect(await reserve(c, -1, 1000, -1, 300)).toMatchObject({ ok: true, entities: [{ tokens: 300 }] })
    await settle(c, 120 - 300, false)
    expect(await c.get('e:tokens')).toBe('120')
    expect((await reserve(c, -1, 1000, -1, 900)).ok).toBe(false)
    expect(await c.get('e:tokens')).toBe('120')
    expect((await reserve(c, -1, 1000, -1, 880)).ok).toBe(true)
    const full = await reserve(c, -1, 1000, -1, 1)
    expect(full).toMatchObject({ ok: false, type: 'tokens', limit: 1000, remaining: 0 })
  })

  it('refuses everything when one entity is over, reserving nothing for the others', async () => {
    const c = memoryCounters()
    const keys = [...KEYS, 'u:requests', 'u:tokens', 'u:parallel']
    const args = [60_000, 600_000, 10, -1, 5, 0, 1, -1, -1, 0]
    expect((await c.run(reserveScript, keys, args)).ok).toBe(true)
    const refused = await c.run(reserveScript, keys, args)
    expect(refused).toMatchObject({ ok: false, entity: 1, type: 'requests' })
    expect(await c.get('e:requests')).toBe('1')
    expect(await c.get('e:parallel')).toBe('1')
  })

  it('releases a parallel slot once per settle, never below zero, and slots expire', async () => {
    let now = 0
    const c = memoryCounters(() => now)
    expect((await reserve(c, -1, -1, 2, 0)).ok).toBe(true)
    expect((await reserve(c, -1, -1, 2, 0)).ok).toBe(true)
    expect(await reserve(c, -1, -1, 2, 0)).toMatchObject({
      ok: false,
      type: 'max_parallel_requests',
      retryMs: 1000,
    })
    await settle(c, 0, true)
    expect((await reserve(c, -1, -1, 2, 0)).ok).toBe(true)
    await settle(c, 0, true)
    await settle(c, 0, true)
    await settle(c, 0, true)
    expect(await c.get('e:parallel')).toBeNull()
    expect((await reserve(c, -1, -1, 1, 0)).ok).toBe(true)
    now += 600_001
    expect((await reserve(c, -1, -1, 1, 0)).ok).toBe(true)
  })
})

const withRedis = requireOrSkip('rate-limit scripts (Redis)', redis)

describe.skipIf(!withRedis)('rate-limit scripts: Lua on Redis matches the memory twin', () => {
  let db: ClaimedRedisDb
  let counters: Counters
  beforeAll(async () => {
    db = await claimRedisDb('limits-scripts')
    counters = await redisCounters(db.url)
  })
  afterAll(async () => {
    await counters?.close()
    await db?.release()
  })

  it('gives the same replies and values', async () => {
    const expected = await scenario(memoryCounters())
    expect(await scenario(counters)).toEqual(expected)
    expect(await counters.ttl('e:tokens')).toBeGreaterThan(55)
    expect(await counters.ttl('e:tokens')).toBeLessThanOrEqual(60)
  })
})
