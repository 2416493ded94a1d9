import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { App } from '../../src/app'
import { sha256Hex } from '../../src/auth/sha256'
import type { Sql } from '../../src/store/sql'
import {
  createInProcessApp,
  idleTimers,
  jsonSender,
  migratedPglite,
  waitUntilQueue,
} from '../helpers/in-process-gateway'

/**
 * /key/regenerate changes the row's token in place. Spend recorded under the old hash but not yet
 * flushed (a batch write every `proxy_batch_write_at` seconds) must not be lost with it. Timers that
 * never fire keep the spend queued until app.close() flushes it, as between two Node batch writes.
 * Mock usage is 10 prompt + 20 completion tokens: 10 × 0.001 + 20 × 0.002 = 0.05 per call.
 */
const MASTER = 'sk-master-regenerate'
const COST = 0.05
const CONFIG = `
model_list:
  - model_name: priced
    litellm_params: { model: mock/x, mock_response: hi }
    model_info: { input_cost_per_token: 0.001, output_cost_per_token: 0.002 }
  - model_name: other
    litellm_params: { model: mock/x, mock_response: hi }
    model_info: { input_cost_per_token: 0.001, output_cost_per_token: 0.002 }
`
type AnswerJson = Record<string, unknown> & { key?: string; info?: { spend: number } }

let sql: Sql
let app: App
let closed: boolean
const { waitUntil, settle } = waitUntilQueue()
const send = jsonSender<AnswerJson>(() => app, MASTER, waitUntil)

const chat = (key: string, model = 'priced') =>
  send('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] }, key)

beforeEach(async () => {
  sql = await migratedPglite()
  app = await createInProcessApp(sql, { config: CONFIG, masterKey: MASTER, timers: idleTimers })
  closed = false
})

afterEach(async () => {
  if (!closed) await app.close()
  await sql.close()
})

async function keyRow(hash: string) {
  const [row] = await sql.query<{ spend: number; model_spend: Record<string, number> }>(
    'SELECT spend, model_spend FROM "LiteLLM_VerificationToken" WHERE token = $1',
    [hash],
  )
  return row
}

describe('/key/regenerate and spend not yet flushed', () => {
  it('the row takes over the running totals: nothing spent under the old hash is lost', async () => {
    const old = (await send('/key/generate', { max_budget: 1 })).json.key as string
    expect((await chat(old)).status).toBe(200)
    expect((await chat(old, 'other')).status).toBe(200)
    await settle()
    // Nothing written yet: the batch write has not run.
    expect((await keyRow(await sha256Hex(old)))?.spend).toBe(0)

    const regenerated = await send('/key/regenerate', { key: old })
    expect(regenerated.status).toBe(200)
    const fresh = regenerated.json.key as string
    expect(regenerated.json).toMatchObject({ spend: 2 * COST, model_spend: { priced: COST, other: COST } })
    expect((await send(`/key/info?key=${fresh}`)).json.info?.spend).toBeCloseTo(2 * COST, 12)

    expect((await chat(fresh)).status).toBe(200)
    await settle()
    expect((await send(`/key/info?key=${fresh}`)).json.info?.spend).toBeCloseTo(3 * COST, 12)
    await app.close()
    closed = true
    // The old hash's rows are written now, to a row that no longer has that hash: the row already
    // holds their spend, and the new key's call is added to it.
    const row = await keyRow(await sha256Hex(fresh))
    expect(row?.spend).toBeCloseTo(3 * COST, 12)
    expect(row?.model_spend.priced).toBeCloseTo(2 * COST, 12)
    expect(row?.model_spend.other).toBeCloseTo(COST, 12)
    const [logs] = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM "LiteLLM_SpendLogs"')
    expect(logs?.n).toBe(3)
  })

  it('a spend given in the request still wins', async () => {
    const old = (await send('/key/generate', {})).json.key as string
    expect((await chat(old)).status).toBe(200)
    await settle()
    const regenerated = await send('/key/regenerate', { key: old, spend: 0 })
    expect(regenerated.json.spend).toBe(0)
    expect((await send(`/key/info?key=${regenerated.json.key}`)).json.info?.spend).toBe(0)
  })
})
