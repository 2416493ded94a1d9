import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import { type ClaimedRedisDb, claimRedisDb } from '../helpers/redis-db'
import { redis, requireOrSkip } from '../helpers/services'
import { type GatewayProcess, startGateway, writeConfig } from './helpers/gateway-process'

/**
 * Cooldowns are shared: when one gateway instance sees a region throttle, the other instance (on the
 * same Redis) stops sending it traffic too, without ever having seen the 429 itself.
 */
const MASTER = 'sk-cooldown-multi-master-01'
const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0'
const config = (key: string, secret: string) => `
model_list:
  - model_name: regional
    litellm_params: { model: bedrock/${HAIKU}, aws_region_name: us-west-2, aws_access_key_id: ${key}, aws_secret_access_key: ${secret} }
    model_info: { id: west }
  - model_name: regional
    litellm_params: { model: bedrock/${HAIKU}, aws_region_name: us-east-1, aws_access_key_id: ${key}, aws_secret_access_key: ${secret} }
    model_info: { id: east }
router_settings:
  cooldown_time: 120
general_settings:
  master_key: ${MASTER}
`

const chat = (base: string) =>
  fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'regional', messages: [{ role: 'user', content: 'hi' }] }),
  })

describe.runIf(requireOrSkip('cooldowns across instances', redis))('cooldowns across instances', () => {
  let redisDb: ClaimedRedisDb
  let fake: FakeBedrock
  let a: GatewayProcess
  let b: GatewayProcess

  beforeAll(async () => {
    redisDb = await claimRedisDb('cooldown-multi-instance')
    fake = await startFakeBedrock({ anyRegion: true })
    fake.setHandler((req) =>
      req.region === 'us-east-1' ? { type: 'error', errorType: 'ThrottlingException' } : undefined,
    )
    const path = writeConfig(config(fake.credentials.accessKeyId, fake.credentials.secretAccessKey))
    const env = {
      REDIS_URL: redisDb.url,
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
      DRAIN_TIMEOUT_SECONDS: '5',
    }
    a = await startGateway(['--config', path], env)
    b = await startGateway(['--config', path], env)
  }, 120_000)

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await fake?.close()
    await redisDb?.release()
  })

  it('a region that throttled on instance A gets no traffic from instance B', async () => {
    // num_retries is 0: the call that lands on the throttling region answers 429 (and cools it down).
    let throttled = 0
    for (let i = 0; i < 40 && throttled === 0; i++) {
      const res = await chat(a.url)
      await res.text()
      if (res.status === 429) throttled++
      else expect(res.headers.get('x-litellm-model-id')).toBe('west')
    }
    expect(throttled).toBe(1)
    const eastCalls = fake.requests.filter((r) => r.region === 'us-east-1').length
    expect(eastCalls).toBe(1)
    // The cooldown write is in the background; give it a moment to reach Redis.
    await new Promise((resolve) => setTimeout(resolve, 200))
    for (let i = 0; i < 20; i++) {
      const res = await chat(b.url)
      await res.text()
      expect(res.status).toBe(200)
      expect(res.headers.get('x-litellm-model-id')).toBe('west')
    }
    expect(fake.requests.filter((r) => r.region === 'us-east-1').length).toBe(eastCalls)
    const ready = (await (await fetch(`${b.url}/health/readiness`)).json()) as Record<string, unknown>
    expect(ready.routing_state).toEqual({ store: 'redis', degraded: false })
  })
})
