import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { App } from '../../src/app'
import { sha256Hex } from '../../src/auth/sha256'
import { silentLogger } from '../../src/observability/logger'
import { adjustIfPresentScript, seedScript } from '../../src/spend/spend-scripts'
import { createSpendService } from '../../src/spend/spend-service'
import { memoryCounters } from '../../src/store/memory-counters'
import type { Sql } from '../../src/store/sql'
import {
  createInProcessApp,
  emptyGatewayConfig,
  jsonSender,
  type ManualTimers,
  manualTimers,
  migratedPglite,
  waitUntilQueue,
} from '../helpers/in-process-gateway'

/**
 * `/key/update {"spend": X}` (and `/user/update`) write X to the row; the running total budgets are
 * checked against must follow: it moves by exactly X minus the spend the row had, so it still holds
 * X plus the spend recorded but not yet flushed.
 *
 * The batch write runs only when the test fires it (`flush()`), so which calls are in Postgres and
 * which are still queued is exact. Prices are powers of two so every sum is exact in floats too:
 * 10 prompt × 0.0625 + 20 completion × 0.03125 = 1.25 per call.
 */
const MASTER = 'sk-master-spend-set'
const COST = 1.25
const BATCH_WRITE_MS = 7000
const CONFIG = `
model_list:
  - model_name: priced
    litellm_params: { model: mock/x, mock_response: hi }
    model_info: { input_cost_per_token: 0.0625, output_cost_per_token: 0.03125 }
general_settings:
  proxy_batch_write_at: ${BATCH_WRITE_MS / 1000}
`

let sql: Sql
let app: App
let tasks: ManualTimers['tasks']
const { waitUntil, settle } = waitUntilQueue()
/** One batch write, as the Node timer runs it every `proxy_batch_write_at` seconds. */
async function flush() {
  await settle()
  const writes = tasks.filter((t) => t.ms === BATCH_WRITE_MS)
  expect(writes).toHaveLength(1)
  await writes[0]?.task()
}

const send = jsonSender(() => app, MASTER, waitUntil)

async function chat(key: string): Promise<number> {
  const { status } = await send(
    '/v1/chat/completions',
    { model: 'priced', messages: [{ role: 'user', content: 'hi' }] },
    key,
  )
  await settle()
  return status
}

const keySpend = async (key: string): Promise<number> => (await send(`/key/info?key=${key}`)).json.info.spend

async function rowSpend(
  table: 'LiteLLM_VerificationToken' | 'LiteLLM_UserTable',
  column: string,
  id: string,
) {
  const [row] = await sql.query<{ spend: number }>(`SELECT spend FROM "${table}" WHERE ${column} = $1`, [id])
  return row?.spend
}

describe('setting spend through the management API', () => {
  beforeEach(async () => {
    sql = await migratedPglite()
    const manual = manualTimers()
    tasks = manual.tasks
    app = await createInProcessApp(sql, { config: CONFIG, masterKey: MASTER, timers: manual.timers })
  })

  afterEach(async () => {
    await settle()
    await app.close()
    await sql.close()
  })

  it('a deleted key leaves no running total behind for a key re-created with the same value', async () => {
    const key = 'sk-chosen-by-the-caller-0001'
    expect((await send('/key/generate', { key })).status).toBe(200)
    expect(await chat(key)).toBe(200)
    await flush()
    expect(await keySpend(key)).toBe(COST)
    expect((await send('/key/delete', { keys: [key] })).status).toBe(200)
    expect((await send('/key/generate', { key })).status).toBe(200)
    expect(await keySpend(key)).toBe(0)
  })

  it('/key/update spend 0: the total keeps only the spend not yet flushed', async () => {
    const key = (await send('/key/generate', {})).json.key as string
    const hash = await sha256Hex(key)
    for (let i = 0; i < 3; i++) expect(await chat(key)).toBe(200)
    await flush()
    expect(await rowSpend('LiteLLM_VerificationToken', 'token', hash)).toBe(3 * COST)
    expect(await chat(key)).toBe(200) // recorded in the total, still queued
    expect(await keySpend(key)).toBe(4 * COST)

    const updated = await send('/key/update', { key, spend: 0 })
    expect(updated.status).toBe(200)
    expect(updated.json.spend).toBe(0)
    expect(Object.keys(updated.json).filter((name) => name.startsWith('previous'))).toEqual([])
    expect(await rowSpend('LiteLLM_VerificationToken', 'token', hash)).toBe(0)
    // Postgres 0 + the queued call: what the row will hold once it is written.
    expect(await keySpend(key)).toBe(COST)

    await flush()
    expect(await rowSpend('LiteLLM_VerificationToken', 'token', hash)).toBe(COST)
    expect(await keySpend(key)).toBe(COST)
    expect(await chat(key)).toBe(200)
    expect(await keySpend(key)).toBe(2 * COST)
  })

  it('/key/update spend X (not 0) moves the total by X minus the old spend', async () => {
    const key = (await send('/key/generate', {})).json.key as string
    for (let i = 0; i < 2; i++) expect(await chat(key)).toBe(200)
    await flush()
    expect(await chat(key)).toBe(200)
    expect((await send('/key/update', { key, spend: 10 })).status).toBe(200)
    expect(await keySpend(key)).toBe(10 + COST)
    await flush()
    expect(await rowSpend('LiteLLM_VerificationToken', 'token', await sha256Hex(key))).toBe(10 + COST)
  })

  it('a key refused for its budget works again after spend 0', async () => {
    const key = (await send('/key/generate', { max_budget: 2 })).json.key as string
    expect(await chat(key)).toBe(200)
    expect(await chat(key)).toBe(200)
    expect(await chat(key)).toBe(400) // 2.5 >= 2
    await flush()
    expect((await send('/key/update', { key, spend: 0 })).status).toBe(200)
    expect(await keySpend(key)).toBe(0)
    expect(await chat(key)).toBe(200)
    expect(await keySpend(key)).toBe(COST)
  })

  it('a key whose spend was only in the total (nothing flushed) starts from the queued spend', async () => {
    const key = (await send('/key/generate', { max_budget: 2 })).json.key as string
    expect(await chat(key)).toBe(200)
    expect(await chat(key)).toBe(200)
    expect(await chat(key)).toBe(400)
    // The row still says 0: setting 0 changes nothing in Postgres, and the queued spend stays.
    expect((await send('/key/update', { key, spend: 0 })).status).toBe(200)
    expect(await keySpend(key)).toBe(2 * COST)
    expect(await chat(key)).toBe(400)
  })

  it('an update without spend leaves the total alone', async () => {
    const key = (await send('/key/generate', {})).json.key as string
    expect(await chat(key)).toBe(200)
    await flush()
    expect(await chat(key)).toBe(200)
    const updated = await send('/key/update', { key, max_budget: 100 })
    expect(updated.json).toMatchObject({ spend: COST, max_budget: 100 })
    expect(await keySpend(key)).toBe(2 * COST)
    const blocked = await send('/key/block', { key })
    expect(blocked.json).toMatchObject({ blocked: true, spend: COST })
  })

  it('/user/update spend 0: the user total keeps only the spend not yet flushed', async () => {
    const created = await send('/user/new', { user_id: 'u-reset', max_budget: 2 })
    const key = created.json.key as string
    expect(await chat(key)).toBe(200)
    await flush()
    expect(await chat(key)).toBe(200)
    expect(await chat(key)).toBe(400) // user budget: 2.5 >= 2
    const userSpend = async () => (await send('/user/info?user_id=u-reset')).json.user_info.spend

    const updated = await send('/user/update', { user_id: 'u-reset', spend: 0 })
    expect(updated.status).toBe(200)
    expect(updated.json.data.spend).toBe(0)
    expect(Object.keys(updated.json.data).filter((name) => name.startsWith('previous'))).toEqual([])
    expect(await userSpend()).toBe(COST)
    expect(await keySpend(key)).toBe(2 * COST) // the key's own total is not the user's
    expect(await chat(key)).toBe(200)
    expect(await userSpend()).toBe(2 * COST)
    await flush()
    expect(await rowSpend('LiteLLM_UserTable', 'user_id', 'u-reset')).toBe(2 * COST)
  })
})

const config = emptyGatewayConfig()

describe('adjusting a spend total', () => {
  it('moves only totals that exist, floored at the value set', async () => {
    const counters = memoryCounters()
    const a = 'spend:key:a'
    const b = 'spend:key:b'
    await counters.run(seedScript, [a], [60, '5', '0'])
    expect(await counters.run(adjustIfPresentScript, [a, b], ['0', '-3', '0', '-1'])).toEqual([2, null])
    expect(await counters.mget([a, b])).toEqual(['2', null])
    // A total seeded from the new value before the adjustment ran: never below the value set.
    expect(await counters.run(adjustIfPresentScript, [a], ['1', '-7'])).toEqual([1])
    expect(await counters.ttl(a)).toBeGreaterThan(0)
  })

  it('is a no-op without stores', async () => {
    const spend = createSpendService({ stores: undefined, config, logger: silentLogger, clock: Date.now })
    await expect(spend.adjust({ entity: { kind: 'key', id: 'x' }, from: 1, to: 0 })).resolves.toBeUndefined()
  })
})
