import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisCounters } from '../../adapters/node/stores/redis-counters'
import type { GatewayConfig } from '../../src/config/types'
import { GatewayError } from '../../src/errors'
import type { Logger } from '../../src/observability/logger'
import { silentLogger } from '../../src/observability/logger'
import type { ChatRequest } from '../../src/openai/chat-request'
import type { Deployment } from '../../src/providers/types'
import { createDeploymentRouter } from '../../src/router/create-deployment-router'
import type { Counters } from '../../src/store/counters'
import { type ClaimedRedisDb, claimRedisDb } from '../helpers/redis-db'
import { redis, requireOrSkip } from '../helpers/services'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy'

const dep = (id: string): Deployment => ({
  id,
  modelName: 'outage',
  provider: 'mock',
  providerModel: 'x',
  params: { model: 'mock/x' },
  modelInfo: {},
})
const [a, b] = [dep('a'), dep('b')]
const config: GatewayConfig = {
  deployments: [a, b],
  routerSettings: { cooldown_time: 60 },
  litellmSettings: {},
  generalSettings: {},
  environmentVariables: {},
  warnings: [],
}
const request = {
  body: { model: 'outage', messages: [{ role: 'user', content: 'hi' }] } as ChatRequest,
  estimatedPromptTokens: 10,
}
const limited = new GatewayError({ status: 429, message: 'slow down', origin: 'upstream' })

/** Redis taken away from one instance (through a TCP proxy) while another still reaches it. */
describe.runIf(requireOrSkip('routing state: redis outage', redis))(
  'routing while Redis is unreachable',
  () => {
    let db: ClaimedRedisDb
    let proxy: TcpProxy
    let viaProxy: Counters
    let direct: Counters

    beforeAll(async () => {
      db = await claimRedisDb('router-state-outage')
      proxy = await startTcpProxy({ host: '127.0.0.1', port: 6379 })
      viaProxy = await redisCounters({ host: proxy.host, port: proxy.port, db: db.db })
      direct = await redisCounters(db.url)
    })

    afterAll(async () => {
      await viaProxy?.close()
      await direct?.close()
      await proxy?.close()
      await db?.release()
    })

    it('still routes, flags the degraded state, warns once and recovers when Redis is back', async () => {
      let offset = 0
      const clock = () => Date.now() + offset
      const warnings: string[] = []
      const logger: Logger = { ...silentLogger, warn: (m) => warnings.push(m) }
      const cut = createDeploymentRouter({ config, counters: viaProxy, clock, random: () => 0, logger })
      const healthy = createDeploymentRouter({
        config,
        counters: direct,
        clock,
        random: () => 0,
        logger: silentLogger,
      })
      expect((await cut.pick([a, b], request, new Set())).id).toBe('a')
      expect(cut.health()).toEqual({ store: 'redis', degraded: false })

      proxy.cut('refuse')
      const pending: Promise<unknown>[] = []
      // The other instance cools `a` down in Redis; the cut one cannot see it.
      healthy.ended(a, { ok: false, error: limited }, (p) => pending.push(p))
      await Promise.all(pending.splice(0))
      for (let i = 0; i < 5; i++) expect((await cut.pick([a, b], request, new Set())).id).toBe('a')
      expect(cut.health().degraded).toBe(true)
      expect(warnings).toEqual(['routing state store unreachable: routing on per-instance state'])

      proxy.restore()
      offset += 5001 // past the retry interval
      let recovered = false
      for (let i = 0; i < 50 && !recovered; i++) {
        const picked = await cut.pick([a, b], request, new Set())
        recovered = !cut.health().degraded && picked.id === 'b'
        if (!recovered) {
          await new Promise((resolve) => setTimeout(resolve, 100))
          offset += 5001
        }
      }
      expect(recovered).toBe(true) // back on shared state: it sees the other instance's cooldown
      expect(warnings).toHaveLength(1)
    })
  },
)
