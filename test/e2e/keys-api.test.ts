import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, createApp } from '../../src/app'
import { sha256Hex } from '../../src/auth/sha256'
import { parseConfig } from '../../src/config/parse'
import { silentLogger } from '../../src/observability/logger'
import { memoryCounters } from '../../src/store/memory-counters'
import type { Sql } from '../../src/store/sql'
import { createInProcessApp, migratedPglite } from '../helpers/in-process-gateway'

/**
 * The virtual-key API end to end, in process: createApp with real stores (PGlite in memory,
 * migrated, and in-memory counters), driven through app.fetch with LiteLLM's request shapes.
 */
const MASTER = 'sk-master-key-1234'
const CONFIG = `
model_list:
  - model_name: model-a
    litellm_params: { model: mock/x, mock_response: hi }
  - model_name: model-b
    litellm_params: { model: mock/x, mock_response: hi }
  - model_name: model-c
    litellm_params: { model: mock/x, mock_response: hi }
`

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely in these tests
type Json = any

let sql: Sql
let app: App

async function call(method: string, path: string, body?: unknown, key = MASTER) {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const init: RequestInit = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }
  const response = await app.fetch(new Request(`http://gw${path}`, init))
  const text = await response.text()
  return { status: response.status, json: (text ? JSON.parse(text) : null) as Json }
}

const chat = (key: string, model: string) =>
  call('POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hello' }] }, key)

const generate = async (body: Record<string, unknown> = {}) => {
  const res = await call('POST', '/key/generate', body)
  expect(res.status).toBe(200)
  return res.json as { key: string; token_id: string } & Json
}

beforeAll(async () => {
  sql = await migratedPglite()
  app = await createInProcessApp(sql, { config: CONFIG, masterKey: MASTER })
})

afterAll(async () => {
  await app.close()
  await sql.close()
})

describe('virtual keys (seed README walkthrough)', () => {
  let key: string

  it('generates a key restricted to two models', async () => {
    const res = await generate({ models: ['model-a', 'model-b'], metadata: { user: 'me@example.com' } })
    key = res.key
    expect(key).toMatch(/^sk-[A-Za-z0-9_-]{22}$/)
    expect(res.token_id).toBe(await sha256Hex(key))
    expect(res.token).toBe(res.token_id)
    expect(res).toMatchObject({
      key_name: `sk-...${key.slice(-4)}`,
      expires: null,
      models: ['model-a', 'model-b'],
    })
    expect(res.metadata).toEqual({ user: 'me@example.com' })
  })

  it('calls an allowed model, and is refused another one with LiteLLM’s error', async () => {
    const ok = await chat(key, 'model-a')
    expect(ok.status).toBe(200)
    expect(ok.json.choices[0].message.content).toBe('hi')
    const denied = await chat(key, 'model-c')
    expect(denied.status).toBe(401)
    expect(denied.json.error).toEqual({
      message:
        "key not allowed to access model. This key can only access models=['model-a', 'model-b']. Tried to access model-c",
      type: 'key_model_access_denied',
      param: 'model',
      code: '401',
    })
  })

  it('/key/info: by the key itself, by the master key, and not by another key', async () => {
    const own = await call('GET', '/key/info', undefined, key)
    expect(own.status).toBe(200)
    expect(own.json.info).toMatchObject({
      models: ['model-a', 'model-b'],
      spend: 0,
      key_name: `sk-...${key.slice(-4)}`,
    })
    expect(own.json.info).not.toHaveProperty('token')

    const byMaster = await call('GET', `/key/info?key=${key}`)
    expect(byMaster.status).toBe(200)
    expect(byMaster.json.key).toBe(key)
    const byHash = await call('GET', `/key/info?key=${await sha256Hex(key)}`)
    expect(byHash.json.info.key_name).toBe(byMaster.json.info.key_name)

    const other = await generate()
    const denied = await call('GET', `/key/info?key=${key}`, undefined, other.key)
    expect(denied.status).toBe(403)
  })

  it('/key/update takes effect immediately', async () => {
    const res = await call('POST', '/key/update', { key, models: ['model-c'], max_budget: 10 })
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({ key, models: ['model-c'], max_budget: 10 })
    expect((await chat(key, 'model-c')).status).toBe(200)
    expect((await chat(key, 'model-a')).status).toBe(401)
  })

  it('/key/block and /key/unblock take effect immediately', async () => {
    const blocked = await call('POST', '/key/block', { key })
    expect(blocked.json.blocked).toBe(true)
    const refused = await chat(key, 'model-c')
    expect(refused.status).toBe(401)
    expect(refused.json.error.message).toContain('blocked')
    await call('POST', '/key/unblock', { key })
    expect((await chat(key, 'model-c')).status).toBe(200)
  })

  it('/key/regenerate: the old key stops working, the new one works with the same settings', async () => {
    const res = await call('POST', `/key/${encodeURIComponent(key)}/regenerate`, {})
    expect(res.status).toBe(200)
    const fresh: string = res.json.key
    expect(fresh).not.toBe(key)
    expect(res.json).toMatchObject({ token_id: await sha256Hex(fresh), models: ['model-c'], max_budget: 10 })
    expect((await chat(key, 'model-c')).json.error.type).toBe('token_not_found_in_db')
    expect((await chat(fresh, 'model-c')).status).toBe(200)

    const again = await call('POST', '/key/regenerate', { key: fresh, new_key: 'sk-chosen-by-me' })
    expect(again.json.key).toBe('sk-chosen-by-me')
    expect((await chat('sk-chosen-by-me', 'model-c')).status).toBe(200)
    expect((await chat(fresh, 'model-c')).status).toBe(401)
    key = 'sk-chosen-by-me'
  })

  it('/key/delete removes the key everywhere and keeps a copy in the deleted-keys table', async () => {
    const res = await call('POST', '/key/delete', { keys: [key] })
    expect(res.json).toEqual({ deleted_keys: [key] })
    expect((await chat(key, 'model-c')).status).toBe(401)
    const info = await call('GET', `/key/info?key=${key}`)
    expect(info.status).toBe(404)
    expect(info.json.error).toMatchObject({ type: 'not_found_error', param: 'key', code: '404' })
    const copies = await sql.query('SELECT * FROM "LiteLLM_DeletedVerificationToken" WHERE token = $1', [
      await sha256Hex(key),
    ])
    expect(copies).toHaveLength(1)
    expect((await call('POST', '/key/delete', { keys: [key] })).status).toBe(404)
  })

  it('/key/delete by alias', async () => {
    const made = await generate({ key_alias: 'to-delete' })
    const res = await call('POST', '/key/delete', { key_aliases: ['to-delete'] })
    expect(res.json).toEqual({ deleted_keys: ['to-delete'] })
    expect((await chat(made.key, 'model-a')).status).toBe(401)
  })
})

describe('key fields', () => {
  it('duration → expires, budget_duration → budget_reset_at, soft_budget → linked budget row', async () => {
    const before = Date.now()
    const res = await generate({ duration: '30d', budget_duration: '1d', max_budget: 5, soft_budget: 2 })
    const expires = Date.parse(res.expires)
    expect(expires - before).toBeGreaterThanOrEqual(30 * 86_400_000 - 1000)
    expect(expires - before).toBeLessThan(30 * 86_400_000 + 60_000)
    const info = (await call('GET', `/key/info?key=${res.key}`)).json.info
    expect(info).toMatchObject({ max_budget: 5, budget_duration: '1d', soft_budget: 2 })
    expect(info.litellm_budget_table).toMatchObject({ soft_budget: 2, budget_id: info.budget_id })
    expect(Date.parse(info.budget_reset_at)).toBeGreaterThan(before)
  })

  it('/key/update soft_budget updates the linked budget row, or creates one', async () => {
    const withBudget = await generate({ soft_budget: 1 })
    const plain = await generate()
    for (const made of [withBudget, plain]) {
      expect((await call('POST', '/key/update', { key: made.key, soft_budget: 4 })).status).toBe(200)
      const info = (await call('GET', `/key/info?key=${made.key}`)).json.info
      expect(info.soft_budget).toBe(4)
      expect(info.litellm_budget_table.budget_id).toBe(info.budget_id)
    }
  })

  it('model_rpm_limit / model_tpm_limit are stored in metadata', async () => {
    const res = await generate({ model_rpm_limit: { 'model-a': 2 }, model_tpm_limit: { 'model-a': 100 } })
    const info = (await call('GET', `/key/info?key=${res.key}`)).json.info
    expect(info.metadata).toEqual({ model_rpm_limit: { 'model-a': 2 }, model_tpm_limit: { 'model-a': 100 } })
  })

  it('rejects bad bodies with 400 naming the param', async () => {
    const negative = await call('POST', '/key/generate', { max_budget: -1 })
    expect(negative.status).toBe(400)
    expect(negative.json.error).toMatchObject({
      param: 'max_budget',
      message: 'max_budget cannot be negative. Received: -1',
    })
    expect((await call('POST', '/key/generate', { duration: 'soon' })).json.error.param).toBe('duration')
    expect((await call('POST', '/key/generate', { models: 'model-a' })).json.error.param).toBe('models')
    expect((await call('POST', '/key/generate', { key: 'not-sk' })).json.error.param).toBe('key')
    await generate({ key_alias: 'unique-alias' })
    expect((await call('POST', '/key/generate', { key_alias: 'unique-alias' })).json.error.param).toBe(
      'key_alias',
    )
  })

  it('/key/list pages through hashes, or full objects', async () => {
    const mine = await Promise.all([1, 2, 3].map(() => generate({ user_id: 'lister' })))
    const page1 = await call('GET', '/key/list?user_id=lister&size=2')
    expect(page1.json).toMatchObject({ total_count: 3, current_page: 1, total_pages: 2 })
    expect(page1.json.keys).toHaveLength(2)
    const page2 = await call('GET', '/key/list?user_id=lister&size=2&page=2&return_full_object=true')
    expect(page2.json.keys).toHaveLength(1)
    const all = [...page1.json.keys, page2.json.keys[0].token].sort()
    expect(all).toEqual(mine.map((k) => k.token_id).sort())
    expect((await call('GET', '/key/list?size=101')).status).toBe(400)
  })
})

describe('users and teams', () => {
  it('/user/new creates the user and a key; /user/info shows both', async () => {
    const res = await call('POST', '/user/new', {
      user_id: 'u1',
      user_email: 'u1@example.com',
      models: ['model-a'],
    })
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({ user_id: 'u1', user_email: 'u1@example.com', models: ['model-a'] })
    expect(res.json.key).toMatch(/^sk-/)
    expect((await chat(res.json.key, 'model-a')).status).toBe(200)
    expect((await chat(res.json.key, 'model-b')).status).toBe(401)

    const info = await call('GET', '/user/info?user_id=u1')
    expect(info.json).toMatchObject({ user_id: 'u1', user_info: { user_id: 'u1', spend: 0 }, teams: [] })
    expect(info.json.keys).toHaveLength(1)
    expect((await call('POST', '/user/new', { user_id: 'u1' })).status).toBe(409)
    expect((await call('GET', '/user/info?user_id=nobody')).status).toBe(404)

    const updated = await call('POST', '/user/update', { user_id: 'u1', max_budget: 3 })
    expect(updated.json).toMatchObject({ user_id: 'u1', data: { max_budget: 3 } })

    expect((await call('POST', '/user/delete', { user_ids: ['u1'] })).json).toBe(1)
    expect((await chat(res.json.key, 'model-a')).status).toBe(401)
  })

  it('a team restricts its keys to its models, and blocking it refuses them at once', async () => {
    const team = await call('POST', '/team/new', { team_alias: 'core', models: ['model-a'], max_budget: 100 })
    expect(team.status).toBe(200)
    const teamId: string = team.json.team_id
    expect(teamId).toMatch(/^[0-9a-f-]{36}$/)
    const key = (await generate({ team_id: teamId })).key
    expect((await chat(key, 'model-a')).status).toBe(200)
    const denied = await chat(key, 'model-b')
    expect(denied.status).toBe(401)
    expect(denied.json.error.type).toBe('team_model_access_denied')

    await call('POST', '/team/update', { team_id: teamId, models: ['model-a', 'model-b'] })
    expect((await chat(key, 'model-b')).status).toBe(200)

    await call('POST', '/team/block', { team_id: teamId })
    expect((await chat(key, 'model-a')).status).toBe(401)
    await call('POST', '/team/unblock', { team_id: teamId })
    expect((await chat(key, 'model-a')).status).toBe(200)

    const info = await call('GET', `/team/info?team_id=${teamId}`)
    expect(info.json).toMatchObject({ team_id: teamId, team_info: { team_alias: 'core', spend: 0 } })
    expect(info.json.keys).toHaveLength(1)
    expect((await call('GET', '/team/list')).json.map((t: Json) => t.team_id)).toContain(teamId)

    expect((await call('POST', '/team/delete', { team_ids: [teamId] })).json).toEqual({
      deleted_teams: [teamId],
    })
    expect((await chat(key, 'model-a')).status).toBe(401)
    expect((await call('GET', `/team/info?team_id=${teamId}`)).status).toBe(404)
  })
})

describe('several instances', () => {
  it('a change made through one instance reaches another within a poll (no pub/sub)', async () => {
    const counters = memoryCounters()
    const config = await parseConfig(CONFIG, {})
    const deps = { config, env: {}, masterKey: MASTER, logger: silentLogger, stores: { sql, counters } }
    const [one, two] = [createApp(deps), createApp(deps)]
    const send = (target: App, path: string, body: unknown, key = MASTER) =>
      target.fetch(
        new Request(`http://gw${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
      )
    const made = (await (await send(one, '/key/generate', {})).json()) as Json
    const hello = { model: 'model-a', messages: [{ role: 'user', content: 'hi' }] }
    expect((await send(two, '/v1/chat/completions', hello, made.key)).status).toBe(200)
    await send(one, '/key/block', { key: made.key })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect((await send(two, '/v1/chat/completions', hello, made.key)).status).toBe(401)
    await Promise.all([one.close(), two.close()])
  })
})

describe('access', () => {
  it('only the master key manages: a virtual key gets 403', async () => {
    const { key } = await generate()
    for (const [method, path] of [
      ['POST', '/key/generate'],
      ['GET', '/key/list'],
      ['POST', '/user/new'],
      ['GET', '/team/list'],
    ] as const) {
      expect((await call(method, path, method === 'POST' ? {} : undefined, key)).status).toBe(403)
    }
  })

  it('without stores every management route is a 500 db_not_connected_error', async () => {
    const config = await parseConfig(CONFIG, {})
    const bare = createApp({ config, env: {}, masterKey: MASTER, logger: silentLogger })
    const res = await bare.fetch(
      new Request('http://gw/key/generate', {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER}` },
      }),
    )
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({
      error: { message: 'No connected db.', type: 'db_not_connected_error', param: null, code: '500' },
    })
    await bare.close()
  })
})
