/**
 * Finding 6 of the spend review (Upstash half; the ioredis half needs a real Redis and is in
 * test/e2e/spend-review-postgres-redis.test.ts): a network error can hide a script that did run,
 * so EVAL/EVALSHA (and INCRBY) are never re-sent automatically; idempotent reads still get a retry.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { addIfPresentScript } from '../../src/spend/spend-scripts'
import { upstashCounters } from '../../src/store/upstash-counters'

/** An "Upstash" that reads each request and then drops the connection without any answer. */
let server: Server
let url: string
const bodies: string[] = []

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => {
      body += chunk
    })
    request.on('end', () => {
      bodies.push(body)
      response.socket?.destroy()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => {
  server.closeAllConnections()
  server.close()
})
beforeEach(() => {
  bodies.length = 0
})

describe('spend review 6: Upstash never re-sends a script whose reply was lost', () => {
  it('sends EVALSHA once and fails, instead of retrying it', async () => {
    const counters = upstashCounters({ url, token: 't', timeoutMs: 2000 })
    await expect(counters.run(addIfPresentScript, ['spend:key:k'], [60, '1'])).rejects.toThrow()
    expect(bodies.filter((b) => /evalsha|eval/i.test(b))).toHaveLength(1)
  })

  it('sends INCRBYFLOAT once as well', async () => {
    const counters = upstashCounters({ url, token: 't', timeoutMs: 2000 })
    await expect(counters.incrFloat('n', 1.5)).rejects.toThrow()
    expect(bodies.filter((b) => /incrbyfloat/i.test(b))).toHaveLength(1)
  })

  it('still retries an idempotent read once', async () => {
    const counters = upstashCounters({ url, token: 't', timeoutMs: 2000 })
    await expect(counters.mget(['a', 'b'])).rejects.toThrow()
    expect(bodies.filter((b) => /mget/i.test(b))).toHaveLength(2)
  })
})
