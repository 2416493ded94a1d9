import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import type { Caller, VirtualKey } from '../../src/keys/virtual-key'
import { limitsDegraded, reserveLimits } from '../../src/limits/limiter'
import { silentLogger } from '../../src/observability/logger'
import type { ChatRequest } from '../../src/openai/chat-request'
import type { Counters } from '../../src/store/counters'
import { memoryCounters } from '../../src/store/memory-counters'
import { virtualKey } from '../helpers/virtual-key'

/** What the gateway does with rate limits when the shared counters (Redis/Upstash) are unreachable. */
const key: VirtualKey = virtualKey({ token: 'hash-of-limited-key', rpmLimit: 1 })
const caller: Caller = { keyHash: key.token, isMaster: false, key }
const body = { model: 'g', messages: [{ role: 'user', content: 'hi' }] } as ChatRequest

/** Shared counters whose every script run fails, as when Redis is down. */
function unreachable(): Counters {
  const counters = memoryCounters()
  return {
    ...counters,
    run: async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:6379')
    },
  }
}

describe('rate limits when the counters are unreachable', () => {
  it('keeps serving and limits per instance (fail open, the default)', async () => {
    const deps = { counters: unreachable(), logger: silentLogger, failClosed: false }
    const first = await reserveLimits(deps, caller, 'g', body)
    expect(first).toBeDefined()
    // rpm_limit 1 still holds, counted in this instance's fallback counters.
    const second = await reserveLimits(deps, caller, 'g', body).catch((e: unknown) => e)
    expect(second).toBeInstanceOf(GatewayError)
    expect((second as GatewayError).status).toBe(429)
    await first?.settle(10)
  })

  it('reports the degraded state while the counters are down, and clears it once they answer again', async () => {
    const counters = memoryCounters()
    let down = true
    const flaky: Counters = {
      ...counters,
      run: (script, keys, args) =>
        down ? Promise.reject(new Error('ECONNREFUSED')) : counters.run(script, keys, args),
    }
    const deps = { counters: flaky, logger: silentLogger, failClosed: false }
    expect(limitsDegraded(flaky)).toBe(false)
    await (await reserveLimits(deps, caller, 'g', body))?.settle(1)
    expect(limitsDegraded(flaky)).toBe(true)
    down = false
    const fresh: Caller = {
      keyHash: 'other',
      isMaster: false,
      key: virtualKey({ token: 'other', rpmLimit: 5 }),
    }
    await (await reserveLimits(deps, fresh, 'g', body))?.settle(1)
    expect(limitsDegraded(flaky)).toBe(false)
  })

  it('refuses with 503 when rate_limit_fail_closed is set', async () => {
    const deps = { counters: unreachable(), logger: silentLogger, failClosed: true }
    const error = await reserveLimits(deps, caller, 'g', body).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GatewayError)
    expect((error as GatewayError).status).toBe(503)
  })
})
