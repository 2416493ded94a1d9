import { Redis } from 'ioredis'
import { describe } from 'vitest'
import { upstashCounters } from '../../src/store/upstash-counters'
import { startFakeUpstash } from '../fakes/upstash'
import { redis, redisUrl, requireOrSkip } from '../helpers/services'
import { countersContract } from './counters.contract'

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Through the Upstash REST fake (test/fakes/upstash.ts) in front of the real Redis. */
describe.runIf(requireOrSkip('counters contract: upstash', redis))('Upstash REST via the fake', () => {
  countersContract('upstash', 'upstash', async () => {
    const fake = await startFakeUpstash({ redisUrl })
    const admin = new Redis(redisUrl)
    return {
      counters: upstashCounters({ url: fake.url, token: fake.token }),
      wait: sleep,
      flushScripts: async () => {
        await admin.script('FLUSH')
      },
      close: async () => {
        await admin.quit()
        await fake.close()
      },
    }
  })
})
