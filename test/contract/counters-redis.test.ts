import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { redisCounters } from '../../adapters/node/stores/redis-counters'
import { redis, redisUrl, requireOrSkip } from '../helpers/services'
import { countersContract } from './counters.contract'

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

describe.runIf(requireOrSkip('counters contract: redis', redis))('Redis over TCP', () => {
  countersContract('redis', 'redis', async () => {
    const admin = new Redis(redisUrl)
    return {
      counters: await redisCounters(redisUrl),
      wait: sleep,
      flushScripts: async () => {
        await admin.script('FLUSH')
      },
      close: async () => {
        await admin.quit()
      },
    }
  })

  it('connects with host/port options as well as a URL', async () => {
    const counters = await redisCounters({ host: '127.0.0.1', port: 6379, db: 0 })
    try {
      expect(await counters.ttl('contract:redis:never-set')).toBe(-2)
    } finally {
      await counters.close()
    }
  })

  it('fails fast when Redis is unreachable instead of retrying forever', async () => {
    const started = Date.now()
    await expect(redisCounters('redis://127.0.0.1:9')).rejects.toThrow(/ECONNREFUSED|Connection is closed/)
    expect(Date.now() - started).toBeLessThan(3000)
  })
})
