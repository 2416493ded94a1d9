import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, createApp } from '../../src/app'
import { sha256Hex } from '../../src/auth/sha256'
import { parseConfig } from '../../src/config/parse'
import { silentLogger } from '../../src/observability/logger'
import type { Sql } from '../../src/store/sql'
import { createInProcessApp, migratedPglite, waitUntilQueue } from '../helpers/in-process-gateway'

/**
 * Spend end to end in process: createApp with PGlite and memory counters and no timers, so spend
 * is written the way Workers and Lambda write it (through waitUntil on every call).
 * Mock usage is 10 prompt + 20 completion tokens: 10 × 0.001 + 20 × 0.002 = 0.05 per call.
 */
const MASTER = 'sk-master-spend-1234'
const COST = 0.05
const CLOCK = Date.parse('2025-05-02T12:00:00.000Z')
const CONFIG = `
model_list:
  - model_name: priced
    litellm_params: { model: mock/x, mock_response: hi }
    model_info: { input_cost_per_token: 0.001, output_cost_per_token: 0.002 }
litellm_settings:
  max_budget: 50
`

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely in these tests
type Json = any

let sql: Sql
let app: App
const { waitUntil, settle } = waitUntilQueue()

async function send(method: string, path: string, body?: unknown, key = MASTER) {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const init: RequestInit = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }
  const response = await app.fetch(new Request(`http://gw${path}`, init), { waitUntil })
  const text = await response.text()
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: (() => {
      try {
        return JSON.parse(text) as Json
      } catch {
        return undefined
      }
    })(),
  }
}

const get = (path: string, key = MASTER) => send('GET', path, undefined, key)
const chat = (key: string, extra: Record<string, unknown> = {}) =>
  send(
    'POST',
    '/v1/chat/completions',
    { model: 'priced', messages: [{ role: 'user', content: 'hi' }], ...extra },
    key,
  )

let userKey: string
let otherKey: string
let teamId: string

beforeAll(async () => {
  sql = await migratedPglite()
  app = await createInProcessApp(sql, { config: CONFIG, masterKey: MASTER, clock: () => CLOCK })
  const team = await send('POST', '/team/new', { team_alias: 'Team A' })
  expect(team.status).toBe(200)
  teamId = team.json.team_id
  const user = await send('POST', '/key/generate', { user_id: 'u1', team_id: teamId, max_budget: 10 })
  expect(user.status).toBe(200)
  userKey = user.json.key
  otherKey = (await send('POST', '/key/generate', {})).json.key

  const first = await chat(userKey, { user: 'customer-1' })
  const second = await chat(userKey)
  headers.push(first.headers, second.headers)
  const stream = await chat(userKey, { stream: true })
  expect(stream.text).toContain('data: [DONE]')
  expect((await chat(otherKey, { mock_response: 'litellm.RateLimitError' })).status).toBe(429)
  headers.push((await chat(MASTER)).headers)
  await settle()
})
const headers: Headers[] = []

afterAll(async () => {
  await app.close()
  await sql.close()
})

describe('chat completions record spend', () => {
  it('non-streaming answers carry the cost, the key spend after the call and its max budget', () => {
    const [first, second, master] = headers
    expect(first?.get('x-litellm-response-cost')).toBe(String(COST))
    expect(Number(first?.get('x-litellm-key-spend'))).toBeCloseTo(COST, 12)
    expect(Number(second?.get('x-litellm-key-spend'))).toBeCloseTo(2 * COST, 12)
    expect(first?.get('x-litellm-key-max-budget')).toBe('10')
    expect(master?.get('x-litellm-response-cost')).toBe(String(COST))
    expect(master?.has('x-litellm-key-spend')).toBe(false)
  })

  it('writes one row per call (streamed and failed ones too) with LiteLLM column names', async () => {
    const { status, json } = await get('/spend/logs?summarize=false')
    expect(status).toBe(200)
    expect(json).toHaveLength(5)
    const userHash = await sha256Hex(userKey)
    const byStatus = (s: string) => json.filter((r: Json) => r.status === s)
    expect(byStatus('failure')).toEqual([
      expect.objectContaining({ api_key: await sha256Hex(otherKey), spend: 0, prompt_tokens: 0 }),
    ])
    expect(byStatus('failure')[0].metadata.error_information).toMatchObject({ error_code: '429' })
    expect(json.filter((r: Json) => r.api_key === userHash)).toHaveLength(3)
    expect(json.find((r: Json) => r.end_user === 'customer-1')).toMatchObject({
      request_id: expect.stringMatching(/^chatcmpl-/),
      call_type: 'acompletion',
      api_key: userHash,
      spend: COST,
      prompt_tokens: 10,
      completion_tokens: 20,
      total_tokens: 30,
      startTime: '2025-05-02T12:00:00.000Z',
      model: 'x',
      model_group: 'priced',
      custom_llm_provider: 'mock',
      user: 'u1',
      team_id: teamId,
      status: 'success',
    })
    const masterHash = await sha256Hex(MASTER)
    expect(json.filter((r: Json) => r.api_key === masterHash)).toHaveLength(1)
    // Streamed: the first token came before the end; every row of the key has a first-token time.
    expect(json.filter((r: Json) => r.api_key === userHash && r.completionStartTime !== null)).toHaveLength(3)
  })

  it('the key spend /key/info reports equals the sum of its spend logs and its Postgres row', async () => {
    const info = await get(`/key/info?key=${userKey}`)
    const logs = await get(`/spend/logs?api_key=${userKey}&summarize=false`)
    const sum = logs.json.reduce((total: number, row: Json) => total + row.spend, 0)
    const [row] = await sql.query<{ spend: number }>(
      `SELECT spend FROM "LiteLLM_VerificationToken" WHERE token = $1`,
      [await sha256Hex(userKey)],
    )
    expect(logs.json).toHaveLength(3)
    expect(sum).toBeCloseTo(3 * COST, 12)
    expect(info.json.info.spend).toBeCloseTo(sum, 12)
    expect(row?.spend).toBeCloseTo(sum, 12)
    const [team] = await sql.query<{ spend: number }>(`SELECT spend FROM "LiteLLM_TeamTable"`)
    expect(team?.spend).toBeCloseTo(3 * COST, 12)
  })
})

describe('GET /spend/logs', () => {
  it('summarizes per day between the dates, zero-filled, with users, models and keys', async () => {
    const { json } = await get(`/spend/logs?start_date=2025-05-01&end_date=2025-05-03&api_key=${userKey}`)
    const hash = await sha256Hex(userKey)
    expect(json).toHaveLength(3)
    expect(json[0]).toEqual({ startTime: '2025-05-01', spend: 0, users: {}, models: {}, api_keys: {} })
    expect(json[1]).toEqual({
      startTime: '2025-05-02',
      spend: expect.closeTo(3 * COST, 12),
      users: { u1: expect.closeTo(3 * COST, 12) },
      models: { x: expect.closeTo(3 * COST, 12) },
      api_keys: { [hash]: expect.closeTo(3 * COST, 12) },
    })
    expect(json[2]).toMatchObject({ startTime: '2025-05-03', spend: 0 })
  })

  it('filters by request_id, user_id and team_id, and pages with limit/offset', async () => {
    const all = (await get('/spend/logs?summarize=false')).json
    const one = await get(`/spend/logs?request_id=${all[2].request_id}`)
    expect(one.json).toEqual([all[2]])
    expect((await get('/spend/logs?user_id=u1')).json).toHaveLength(3)
    expect((await get(`/spend/logs?team_id=${teamId}`)).json).toHaveLength(3)
    expect((await get('/spend/logs?limit=2&offset=1')).json).toEqual(all.slice(1, 3))
    expect((await get('/spend/logs?limit=5000')).status).toBe(400)
  })

  it('refuses bad dates, non-admin keys, and answers 500 without a database', async () => {
    expect((await get('/spend/logs?start_date=2025-02-30&end_date=2025-03-01')).status).toBe(400)
    const forbidden = await get('/spend/logs', userKey)
    expect(forbidden.status).toBe(403)
    expect((await get('/global/spend', 'sk-nope')).status).toBe(401)
    const bare = createApp({
      config: await parseConfig(CONFIG, {}),
      env: {},
      masterKey: MASTER,
      logger: silentLogger,
    })
    const res = await bare.fetch(
      new Request('http://gw/global/spend', { headers: { authorization: `Bearer ${MASTER}` } }),
    )
    expect(res.status).toBe(500)
    expect(((await res.json()) as Json).error).toMatchObject({ type: 'db_not_connected_error', code: '500' })
  })
})

describe('GET /global/spend and /global/spend/report', () => {
  it('/global/spend: spend of the last 30 days and litellm_settings.max_budget', async () => {
    const { json } = await get('/global/spend')
    expect(json).toEqual({ spend: expect.closeTo(4 * COST, 12), max_budget: 50 })
  })

  it('group_by=team (default): per day, per team alias, per model × key', async () => {
    const { json } = await get('/global/spend/report?start_date=2025-05-01&end_date=2025-05-02')
    expect(json).toHaveLength(1)
    expect(json[0].group_by_day).toBe('2025-05-02T00:00:00.000Z')
    const teams = json[0].teams
    expect(teams.map((t: Json) => t.team_name).sort()).toEqual(['Team A', 'Unassigned Team'])
    const teamA = teams.find((t: Json) => t.team_name === 'Team A')
    expect(teamA.total_spend).toBeCloseTo(3 * COST, 12)
    expect(teamA.metadata).toEqual([
      {
        model: 'x',
        api_key: await sha256Hex(userKey),
        spend: expect.closeTo(3 * COST, 12),
        total_tokens: 90,
      },
    ])
  })

  it('group_by=customer and group_by=api_key', async () => {
    const customers = (
      await get('/global/spend/report?start_date=2025-05-02&end_date=2025-05-02&group_by=customer')
    ).json[0].customers
    expect(customers.find((c: Json) => c.customer === 'customer-1')).toMatchObject({ total_spend: COST })
    const keys = (
      await get('/global/spend/report?start_date=2025-05-02&end_date=2025-05-02&group_by=api_key')
    ).json
    expect(keys[0]).toEqual({
      api_key: await sha256Hex(userKey),
      total_cost: expect.closeTo(3 * COST, 12),
      total_input_tokens: 30,
      total_output_tokens: 60,
      model_details: [
        {
          model: 'x',
          total_cost: expect.closeTo(3 * COST, 12),
          total_input_tokens: 30,
          total_output_tokens: 60,
        },
      ],
    })
    expect(
      (await get('/global/spend/report?start_date=2025-05-02&end_date=2025-05-02&group_by=x')).status,
    ).toBe(400)
    expect((await get('/global/spend/report?start_date=2025-05-02')).status).toBe(400)
  })
})
