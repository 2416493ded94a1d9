import { describe, expect, it, vi } from 'vitest'
import { EPOCH_KEY } from '../../src/keys/key-invalidation'
import { createKeyService, type KeyServiceDeps } from '../../src/keys/key-service'
import type { VirtualKey } from '../../src/keys/virtual-key'
import type { Counters } from '../../src/store/counters'
import { memoryCounters } from '../../src/store/memory-counters'
import type { Sql } from '../../src/store/sql'
import type { Timers } from '../../src/timers'

/** A shared fake "Postgres": hash → record, with a read counter. */
function fakeDb() {
  const rows = new Map<string, VirtualKey>()
  const load = vi.fn(async (hash: string) => rows.get(hash))
  const put = (hash: string, models: string[] = []) =>
    rows.set(hash, { token: hash, models } as unknown as VirtualKey)
  return { rows, load, put }
}

/** Manual clock and timers: `advance(ms)` moves time and runs due timer tasks. */
function fakeTime() {
  let now = 1_000_000
  const tasks: Array<{ every: number; next: number; run: () => Promise<void> }> = []
  const timers: Timers = {
    every(ms, task) {
      const entry = { every: ms, next: now + ms, run: task }
      tasks.push(entry)
      return () => tasks.splice(tasks.indexOf(entry), 1)
    },
  }
  return {
    clock: () => now,
    timers,
    async advance(ms: number) {
      now += ms
      for (const task of tasks) {
        while (task.next <= now) {
          task.next += task.every
          await task.run()
        }
      }
    },
  }
}

const logger = () => ({
  debug: vi.fn(),
  info: vi.fn(),
  warn: vi.fn(),
  error: vi.fn(),
})

function service(deps: Partial<KeyServiceDeps> & Pick<KeyServiceDeps, 'load' | 'clock'>, counters: Counters) {
  return createKeyService({ stores: { sql: {} as Sql, counters }, logger: logger(), ...deps })
}

describe('KeyService cache', () => {
  it('caches a key for 60 s (LiteLLM user_api_key_cache_ttl), then reads Postgres again', async () => {
    const db = fakeDb()
    const time = fakeTime()
    db.put('h1')
    const keys = service(
      { load: db.load, clock: time.clock, timers: time.timers },
      memoryCounters(time.clock),
    )
    await keys.lookup('h1')
    await keys.lookup('h1')
    expect(db.load).toHaveBeenCalledTimes(1)
    await time.advance(60_001)
    await keys.lookup('h1')
    expect(db.load).toHaveBeenCalledTimes(2)
    keys.close()
  })

  it('remembers unknown hashes briefly, so a flood of bad keys does not reach Postgres', async () => {
    const db = fakeDb()
    const time = fakeTime()
    const keys = service(
      { load: db.load, clock: time.clock, timers: time.timers },
      memoryCounters(time.clock),
    )
    for (let i = 0; i < 100; i++) expect(await keys.lookup('bad')).toBeUndefined()
    expect(db.load).toHaveBeenCalledTimes(1)
    await time.advance(5_001)
    await keys.lookup('bad')
    expect(db.load).toHaveBeenCalledTimes(2)
    keys.close()
  })

  it('concurrent misses for one hash share one query', async () => {
    const db = fakeDb()
    db.put('h1')
    const time = fakeTime()
    const keys = service(
      { load: db.load, clock: time.clock, timers: time.timers },
      memoryCounters(time.clock),
    )
    const results = await Promise.all(Array.from({ length: 20 }, () => keys.lookup('h1')))
    expect(results.every((r) => r?.token === 'h1')).toBe(true)
    expect(db.load).toHaveBeenCalledTimes(1)
    keys.close()
  })

  it('is bounded: the least recently used key goes first', async () => {
    const db = fakeDb()
    for (const h of ['a', 'b', 'c']) db.put(h)
    const time = fakeTime()
    const keys = service(
      { load: db.load, clock: time.clock, timers: time.timers, maxEntries: 2 },
      memoryCounters(),
    )
    await keys.lookup('a')
    await keys.lookup('b')
    await keys.lookup('a')
    await keys.lookup('c') // evicts b, the least recently used
    db.load.mockClear()
    await keys.lookup('a')
    expect(db.load).not.toHaveBeenCalled()
    await keys.lookup('b')
    expect(db.load).toHaveBeenCalledTimes(1)
    keys.close()
  })
})

describe('KeyService invalidation across instances', () => {
  it('with timers: another instance drops the key within one poll (250 ms)', async () => {
    const db = fakeDb()
    db.put('h1', ['a'])
    const time = fakeTime()
    const counters = memoryCounters(time.clock)
    const a = service({ load: db.load, clock: time.clock, timers: time.timers }, counters)
    const b = service({ load: db.load, clock: time.clock, timers: time.timers }, counters)
    await time.advance(250) // first polls
    expect((await b.lookup('h1'))?.models).toEqual(['a'])

    db.put('h1', ['b'])
    await a.invalidate(['h1'])
    expect((await a.lookup('h1'))?.models).toEqual(['b']) // the writer's own cache at once
    expect((await b.lookup('h1'))?.models).toEqual(['a']) // b until its next poll …
    await time.advance(250)
    expect((await b.lookup('h1'))?.models).toEqual(['b']) // … and not after
    a.close()
    b.close()
  })

  it('without timers (Workers, Lambda): lookups poll lazily, at most every 250 ms', async () => {
    const db = fakeDb()
    db.put('h1', ['a'])
    const time = fakeTime()
    const counters = memoryCounters(time.clock)
    const get = vi.spyOn(counters, 'get')
    const a = service({ load: db.load, clock: time.clock }, counters)
    const b = service({ load: db.load, clock: time.clock }, counters)
    await b.lookup('h1')
    await b.lookup('h1')
    expect(get).toHaveBeenCalledTimes(1)

    db.put('h1', ['b'])
    await a.invalidate(['h1'])
    await time.advance(100)
    expect((await b.lookup('h1'))?.models).toEqual(['a'])
    await time.advance(150)
    expect((await b.lookup('h1'))?.models).toEqual(['b'])
  })

  it('clears everything when the change lists it missed have expired', async () => {
    const db = fakeDb()
    db.put('h1')
    db.put('h2')
    const time = fakeTime()
    const counters = memoryCounters(time.clock)
    const b = service({ load: db.load, clock: time.clock }, counters)
    await b.lookup('h1')
    await b.lookup('h2')
    // Another instance's change, recorded as an epoch bump whose list is already gone.
    await counters.incr(EPOCH_KEY)
    db.load.mockClear()
    await time.advance(250)
    await b.lookup('h1')
    await b.lookup('h2')
    expect(db.load).toHaveBeenCalledTimes(2)
  })

  it('keeps serving when Redis is down: logs once, caches for 5 s only', async () => {
    const db = fakeDb()
    db.put('h1')
    const time = fakeTime()
    const counters = memoryCounters(time.clock)
    const down = vi.spyOn(counters, 'get').mockRejectedValue(new Error('ECONNREFUSED'))
    const log = logger()
    const keys = createKeyService({
      stores: { sql: {} as Sql, counters },
      logger: log,
      clock: time.clock,
      load: db.load,
    })
    expect(await keys.lookup('h1')).toBeDefined()
    await time.advance(300)
    expect(await keys.lookup('h1')).toBeDefined()
    expect(log.warn).toHaveBeenCalledTimes(1)
    expect(db.load).toHaveBeenCalledTimes(1)
    await time.advance(5_000)
    await keys.lookup('h1')
    expect(db.load).toHaveBeenCalledTimes(2)
    down.mockRestore()
    await time.advance(300)
    await keys.lookup('h1')
    expect(log.info).toHaveBeenCalledWith('key cache invalidation polling recovered')
  })

  it('does not cache a read that raced with an invalidation', async () => {
    const db = fakeDb()
    db.put('h1', ['old'])
    const time = fakeTime()
    const keys = service({ load: db.load, clock: time.clock }, memoryCounters(time.clock))
    await keys.lookup('other') // first poll done
    let release: () => void = () => {}
    db.load.mockImplementationOnce(async (hash) => {
      const row = db.rows.get(hash)
      await new Promise<void>((resolve) => {
        release = resolve
      })
      return row
    })
    const slow = keys.lookup('h1')
    await Promise.resolve()
    db.put('h1', ['new'])
    await keys.invalidate(['h1'])
    release()
    expect((await slow)?.models).toEqual(['old'])
    expect((await keys.lookup('h1'))?.models).toEqual(['new'])
  })
})
