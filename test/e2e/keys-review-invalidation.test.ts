import { afterEach, describe, expect, it } from 'vitest'
import { EPOCH_KEY, publishInvalidation } from '../../src/keys/key-invalidation'
import type { Sql } from '../../src/store/sql'
import {
  type FlakyCounters,
  flakyCounters,
  generate,
  type Instance,
  instance,
  manualClock,
  migratedSql,
} from './keys-review-harness'

/**
 * Finding 1: a changed key must not keep working on another instance for the cache TTL (60 s)
 * because Redis failed. Two instances (A and B) share one Postgres and one (flaky) Redis; the clock
 * is moved by hand, and without timers each instance polls the shared epoch on a lookup at most
 * every 250 ms, as on Workers and Lambda.
 */
describe('key cache invalidation when Redis fails', () => {
  let sql: Sql
  let redis: FlakyCounters
  let clock: ReturnType<typeof manualClock>
  let a: Instance
  let b: Instance

  async function twoInstances() {
    clock = manualClock()
    sql = await migratedSql()
    redis = flakyCounters(clock.now)
    a = await instance(sql, redis.counters, clock.now)
    b = await instance(sql, redis.counters, clock.now)
  }

  /** Moves past the poll interval, so the next lookup on an instance polls. */
  const nextPoll = () => clock.advance(300)

  afterEach(async () => {
    redis.down = false
    await a.app.close()
    await b.app.close()
    await sql.close()
  })

  it('a key blocked while Redis is down is refused by the other instance within 5 s, not 60 s', async () => {
    await twoInstances()
    const { key } = await generate(a)
    nextPoll()
    expect((await b.chat(key, 'model-a')).status).toBe(200) // B caches the key for 60 s

    redis.down = true
    expect((await a.call('POST', '/key/block', { key })).status).toBe(200)
    expect((await a.chat(key, 'model-a')).status).toBe(401) // the writer at once
    nextPoll()
    // B's poll fails: what it has cached is cut to 5 s from now (this call may still pass).
    await b.chat(key, 'model-a')
    clock.advance(5_000)
    expect((await b.chat(key, 'model-a')).status).toBe(401)
  })

  it('publishes an invalidation that failed once the counters answer again', async () => {
    await twoInstances()
    const { key } = await generate(a)
    const other = await generate(a)
    nextPoll()
    expect((await b.chat(key, 'model-a')).status).toBe(200)

    redis.down = true // only while A writes; B makes no call meanwhile, so it never sees a failure
    expect((await a.call('POST', '/key/block', { key })).status).toBe(200)
    redis.down = false

    nextPoll()
    await a.chat(other.key, 'model-a') // A polls again: its queued change goes out
    nextPoll()
    const refused = await b.chat(key, 'model-a')
    expect(refused.status).toBe(401)
    expect(refused.json.error.message).toContain('Key is blocked')
  })

  it('clears the cache when polling recovers (changes made meanwhile may have been missed)', async () => {
    await twoInstances()
    const { key } = await generate(a)
    nextPoll()
    expect((await b.chat(key, 'model-a')).status).toBe(200)

    redis.down = true
    nextPoll()
    expect((await b.chat(key, 'model-a')).status).toBe(200) // B's poll fails; cached key still used
    expect((await a.call('POST', '/key/update', { key, models: ['model-b'] })).status).toBe(200)
    redis.down = false

    // A has not polled since, so its change is not published yet; B must not trust its cache.
    nextPoll()
    const denied = await b.chat(key, 'model-a')
    expect(denied.status).toBe(401)
    expect(denied.json.error.type).toBe('key_model_access_denied')
  })

  it('detects a Redis restart that reset the epoch, even when it counts back up to the same value', async () => {
    await twoInstances()
    const { key } = await generate(a)
    await generate(a)
    nextPoll()
    expect((await b.chat(key, 'model-a')).status).toBe(200) // B has seen the current epoch
    const before = Number(await redis.inner().get(EPOCH_KEY))

    redis.restart()
    expect((await a.call('POST', '/key/update', { key, models: ['model-b'] })).status).toBe(200)
    // Other changes after the restart, until the epoch is back where B last saw it.
    const epoch = async () => Number(await redis.inner().get(EPOCH_KEY))
    for (let i = 0; i < 200 && (await epoch()) < before; i++) {
      await publishInvalidation(redis.counters, ['some-other-key'])
    }

    nextPoll()
    const denied = await b.chat(key, 'model-a')
    expect(denied.status).toBe(401)
    expect(denied.json.error.type).toBe('key_model_access_denied')
  })

  it('/key/delete while Redis is down deletes (200, not 500) and the key stops working at once', async () => {
    await twoInstances()
    const { key } = await generate(a, { max_budget: 10 })
    expect((await a.chat(key, 'model-a')).status).toBe(200) // cached on A, totals seeded

    redis.down = true
    const deleted = await a.call('POST', '/key/delete', { keys: [key] })
    expect(deleted.status).toBe(200)
    expect(deleted.json).toEqual({ deleted_keys: [key] })
    expect((await a.chat(key, 'model-a')).status).toBe(401)
    redis.down = false
    nextPoll()
    expect((await b.chat(key, 'model-a')).status).toBe(401)
  })
})
