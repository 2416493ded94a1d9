import { describe, expect, it } from 'vitest'
import { createApp } from '../../src/app'
import { parseConfig } from '../../src/config/parse'
import { silentLogger } from '../../src/observability/logger'
import type { Counters } from '../../src/store/counters'
import { memoryCounters } from '../../src/store/memory-counters'
import type { Sql } from '../../src/store/sql'

/** /health/readiness tells whether routing and rate limits run on shared or per-instance state. */
const CONFIG = `
model_list:
  - model_name: g
    litellm_params: { model: mock/a, mock_response: hi }
  - model_name: g
    litellm_params: { model: mock/b, mock_response: hi }
`

/** Counters whose every operation fails, as when Redis is down. */
function unreachableCounters(): Counters {
  const fail = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'))
  return {
    ...memoryCounters(),
    kind: 'redis',
    get: fail,
    mget: fail,
    set: fail,
    incr: fail,
    incrFloat: fail,
    run: fail,
  }
}

const unusedSql = { kind: 'pglite' } as unknown as Sql

async function readiness(counters: Counters | undefined) {
  const app = createApp({
    config: await parseConfig(CONFIG, {}),
    env: {},
    masterKey: 'sk-ready',
    logger: silentLogger,
    stores: counters ? { sql: unusedSql, counters } : undefined,
  })
  const call = () =>
    app.fetch(
      new Request('http://gw/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: 'Bearer sk-ready', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'g', messages: [{ role: 'user', content: 'hi' }] }),
      }),
    )
  return { app, call }
}

describe('/health/readiness', () => {
  it('reports in-memory state without stores', async () => {
    const { app } = await readiness(undefined)
    const body = await (await app.fetch(new Request('http://gw/health/readiness'))).json()
    expect(body).toMatchObject({
      status: 'healthy',
      cache: null,
      routing_state: { store: 'local', degraded: false },
    })
  })

  it('keeps serving and reports routing as degraded while the shared counters are unreachable', async () => {
    const { app, call } = await readiness(unreachableCounters())
    const answer = await call()
    expect(answer.status).toBe(200)
    const body = await (await app.fetch(new Request('http://gw/health/readiness'))).json()
    expect(body).toMatchObject({
      status: 'healthy',
      cache: 'redis',
      routing_state: { store: 'redis', degraded: true },
    })
  })
})
