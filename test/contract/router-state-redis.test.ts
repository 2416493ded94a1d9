import { describe } from 'vitest'
import { redisCounters } from '../../adapters/node/stores/redis-counters'
import { upstashCounters } from '../../src/store/upstash-counters'
import { startFakeUpstash } from '../fakes/upstash'
import { claimRedisDb } from '../helpers/redis-db'
import { redis, requireOrSkip } from '../helpers/services'
import { routerStateContract } from './router-state.contract'

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Two connections to one real Redis: what two gateway instances share. */
describe.runIf(requireOrSkip('routing state: redis', redis))('routing state on Redis', () => {
  routerStateContract('redis', async () => {
    const db = await claimRedisDb('router-state-redis')
    const a = await redisCounters(db.url)
    const b = await redisCounters(db.url)
    return {
      a,
      b,
      clock: Date.now,
      wait: sleep,
      close: async () => {
        await a.close()
        await b.close()
        await db.release()
      },
    }
  })

  // One instance on Upstash's REST API (the fake in front of the same Redis), one on TCP.
  routerStateContract('upstash + redis', async () => {
    const db = await claimRedisDb('router-state-upstash')
    const fake = await startFakeUpstash({ redisUrl: db.url })
    const a = upstashCounters({ url: fake.url, token: fake.token })
    const b = await redisCounters(db.url)
    return {
      a,
      b,
      clock: Date.now,
      wait: sleep,
      close: async () => {
        await a.close()
        await b.close()
        await fake.close()
        await db.release()
      },
    }
  })
})
