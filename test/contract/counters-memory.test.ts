import { describe, expect, it } from 'vitest'
import { memoryCounters } from '../../src/store/memory-counters'
import { countersContract } from './counters.contract'

/** An injected clock: TTL tests run instantly and exactly. */
countersContract('memory', 'memory', async () => {
  let now = 1_700_000_000_000
  return {
    counters: memoryCounters(() => now),
    wait: async (ms) => {
      now += ms
    },
  }
})

describe('memory counters: bounded memory', () => {
  it('forgets expired keys on read and sweeps the unread ones every 1000 writes', async () => {
    let now = 0
    const counters = memoryCounters(() => now)
    for (let i = 0; i < 998; i++) await counters.set(`k${i}`, 'x', 1)
    await counters.set('forever', 'x')
    expect(counters.size).toBe(999)
    now += 1001
    expect(await counters.get('k0')).toBeNull()
    expect(counters.size).toBe(998) // k0 went on read
    await counters.set('trigger', 'x') // the 1000th write sweeps
    expect(counters.size).toBe(2)
    expect(await counters.mget(['forever', 'trigger'])).toEqual(['x', 'x'])
  })
})
