import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Counters } from '../../src/store/counters'
import { memoryCounters } from '../../src/store/memory-counters'
import type { Sql } from '../../src/store/sql'
import { generate, type Instance, instance, migratedSql } from './keys-review-harness'

/**
 * What a virtual key may call: models (key, team, user), routes (`allowed_routes` / `key_type`),
 * deployments addressed by id, keys naming teams that do not exist, and blocked teams.
 */
let sql: Sql
let counters: Counters
let gw: Instance

beforeAll(async () => {
  sql = await migratedSql()
  counters = memoryCounters()
  gw = await instance(sql, counters)
})

afterAll(async () => {
  await gw.app.close()
  await sql.close()
})

const models = async (key: string) =>
  ((await gw.call('GET', '/v1/models', undefined, key)).json.data as Array<{ id: string }>).map((m) => m.id)

describe('finding 2: a team’s models always restrict its keys', () => {
  it('refuses a team key a model its team no longer has, although the key lists it', async () => {
    await gw.call('POST', '/team/new', { team_id: 'narrowed', models: ['model-a', 'model-b'] })
    const { key } = await generate(gw, { team_id: 'narrowed', models: ['model-b'] })
    expect((await gw.chat(key, 'model-b')).status).toBe(200)
    await gw.call('POST', '/team/update', { team_id: 'narrowed', models: ['model-a'] })
    const denied = await gw.chat(key, 'model-b')
    expect(denied.status).toBe(401)
    expect(denied.json.error.type).toBe('team_model_access_denied')
    expect(denied.json.error.message).toContain(
      "Team=narrowed not allowed to access model. This team can only access models=['model-a']. Tried to access model-b",
    )
  })

  it('/key/generate and /key/update refuse key models outside the team’s (unless the team allows all)', async () => {
    await gw.call('POST', '/team/new', { team_id: 'only-a', models: ['model-a'] })
    const refused = await gw.call('POST', '/key/generate', {
      team_id: 'only-a',
      models: ['model-a', 'model-b'],
    })
    expect(refused.status).toBe(400)
    expect(refused.json.error.param).toBe('models')
    expect(refused.json.error.message).toContain("Not allowed: ['model-b']")
    expect(
      (await gw.call('POST', '/key/generate', { team_id: 'only-a', models: ['all-proxy-models'] })).status,
    ).toBe(400)

    const ok = await generate(gw, { team_id: 'only-a', models: ['model-a', 'all-team-models'] })
    expect((await gw.call('POST', '/key/update', { key: ok.key, models: ['model-c'] })).status).toBe(400)
    const personal = await generate(gw, { models: ['model-c'] })
    const moved = await gw.call('POST', '/key/update', { key: personal.key, team_id: 'only-a' })
    expect(moved.status).toBe(400)
    expect(moved.json.error.param).toBe('models')

    await gw.call('POST', '/team/new', { team_id: 'everything', models: ['all-proxy-models'] })
    await generate(gw, { team_id: 'everything', models: ['model-b', 'model-c'] })
  })
})

describe('finding 3: allowed_routes and key_type', () => {
  it('key_type read_only: info routes only, LiteLLM’s message elsewhere', async () => {
    const { key } = await generate(gw, { key_type: 'read_only' })
    const refused = await gw.chat(key, 'model-a')
    expect(refused.status).toBe(401)
    expect(refused.json.error.message).toContain(
      "Virtual key is not allowed to call this route. Only allowed to call routes: ['info_routes']. Tried to call route: /v1/chat/completions",
    )
    expect((await gw.call('GET', '/key/info', undefined, key)).status).toBe(200)
    expect((await gw.call('GET', '/v1/models', undefined, key)).status).toBe(200)
  })

  it('key_type llm_api: LLM routes only', async () => {
    const { key } = await generate(gw, { key_type: 'llm_api' })
    expect((await gw.chat(key, 'model-a')).status).toBe(200)
    expect((await gw.call('GET', '/models', undefined, key)).status).toBe(200)
    const info = await gw.call('GET', '/key/info', undefined, key)
    expect(info.status).toBe(401)
    expect(info.json.error.message).toContain('Tried to call route: /key/info')
  })

  it('allowed_routes: exact paths and prefixes; empty = every route', async () => {
    const { key } = await generate(gw, { allowed_routes: ['/v1/models'] })
    expect((await gw.call('GET', '/v1/models', undefined, key)).status).toBe(200)
    expect((await gw.chat(key, 'model-a')).status).toBe(401)
    expect((await gw.call('POST', '/chat/completions', {}, key)).status).toBe(401)
    const open = await generate(gw, { allowed_routes: [] })
    expect((await gw.chat(open.key, 'model-a')).status).toBe(200)
    expect((await gw.call('GET', '/key/info', undefined, open.key)).status).toBe(200)
  })
})

describe('finding 4: a user’s models restrict the user’s personal keys', () => {
  it('refuses a personal key the models its user lacks; team keys follow the team instead', async () => {
    await gw.call('POST', '/user/new', { user_id: 'only-b', models: ['model-b'], auto_create_key: false })
    const { key } = await generate(gw, { user_id: 'only-b' })
    expect((await gw.chat(key, 'model-b')).status).toBe(200)
    const denied = await gw.chat(key, 'model-a')
    expect(denied.status).toBe(401)
    expect(denied.json.error.type).toBe('user_model_access_denied')
    expect(await models(key)).toEqual(['model-b'])

    await gw.call('POST', '/team/new', { team_id: 'open-team' })
    const teamKey = await generate(gw, { user_id: 'only-b', team_id: 'open-team' })
    expect((await gw.chat(teamKey.key, 'model-a')).status).toBe(200)
  })
})

describe('finding 8: a deployment called by its id is authorized against its model group', () => {
  it('applies the group’s model_max_budget and the team’s models to a call by deployment id', async () => {
    const [a, b] = gw.config.deployments
    const budgeted = await generate(gw, { model_max_budget: { 'model-a': { budget_limit: 0 } } })
    const byGroup = await gw.chat(budgeted.key, 'model-a')
    expect(byGroup.status).toBe(400)
    const byId = await gw.chat(budgeted.key, String(a?.id))
    expect(byId.status).toBe(400)
    expect(byId.json.error.message).toContain('exceeded budget for model=model-a')

    await gw.call('POST', '/team/new', { team_id: 'team-a', models: ['model-a'] })
    const teamKey = await generate(gw, { team_id: 'team-a' })
    expect((await gw.chat(teamKey.key, String(b?.id))).status).toBe(401)
  })
})

describe('finding 9: keys naming a team or user that does not exist (yet)', () => {
  it('/key/generate and /key/update refuse a team_id that names no team', async () => {
    const made = await gw.call('POST', '/key/generate', { team_id: 'ghost' })
    expect(made.status).toBe(400)
    expect(made.json.error.message).toBe("Team doesn't exist in db. Team=ghost")
    const { key } = await generate(gw)
    const updated = await gw.call('POST', '/key/update', { key, team_id: 'ghost' })
    expect(updated.status).toBe(400)
    expect(updated.json.error.message).toBe("Team doesn't exist in db. Team=ghost")
  })

  it('a key whose team_id names no team is held to its user’s budget', async () => {
    await gw.call('POST', '/user/new', { user_id: 'broke', max_budget: 0, auto_create_key: false })
    const made = await generate(gw, { user_id: 'broke' })
    // Written before teams were checked (or by LiteLLM itself, which accepts any team_id).
    await sql.query(`UPDATE "LiteLLM_VerificationToken" SET team_id = 'ghost-team' WHERE token = $1`, [
      made.token_id,
    ])
    const refused = await gw.chat(made.key, 'model-a')
    expect(refused.status).toBe(400)
    expect(refused.json.error.message).toContain('ExceededBudget: User=broke over budget')
  })

  it('/team/new and /user/new re-read cached keys that already named the new team or user', async () => {
    const teamKey = await generate(gw)
    await sql.query(`UPDATE "LiteLLM_VerificationToken" SET team_id = 'later-team' WHERE token = $1`, [
      teamKey.token_id,
    ])
    const userKey = await generate(gw, { user_id: 'later-user' })
    expect((await gw.chat(teamKey.key, 'model-a')).status).toBe(200) // cached without a team
    expect((await gw.chat(userKey.key, 'model-a')).status).toBe(200) // cached without a user

    expect((await gw.call('POST', '/team/new', { team_id: 'later-team', blocked: true })).status).toBe(200)
    expect((await gw.chat(teamKey.key, 'model-a')).status).toBe(401)
    const user = { user_id: 'later-user', max_budget: 0, auto_create_key: false }
    expect((await gw.call('POST', '/user/new', user)).status).toBe(200)
    expect((await gw.chat(userKey.key, 'model-a')).status).toBe(400)
  })
})

describe('finding 10: /v1/models per key, and blocked teams on every route', () => {
  it('lists only the groups the key (and its team) may call', async () => {
    expect(await models((await generate(gw, { models: ['model-a', 'model-c'] })).key)).toEqual([
      'model-a',
      'model-c',
    ])
    await gw.call('POST', '/team/new', { team_id: 'team-bc', models: ['model-b', 'model-c'] })
    expect(await models((await generate(gw, { team_id: 'team-bc' })).key)).toEqual(['model-b', 'model-c'])
    expect(await models((await generate(gw)).key)).toEqual(['model-a', 'model-b', 'model-c'])
  })

  it('refuses a key of a blocked team on every route', async () => {
    await gw.call('POST', '/team/new', { team_id: 'to-block' })
    const { key } = await generate(gw, { team_id: 'to-block' })
    await gw.call('POST', '/team/block', { team_id: 'to-block' })
    for (const res of [
      await gw.chat(key, 'model-a'),
      await gw.call('GET', '/v1/models', undefined, key),
      await gw.call('GET', '/key/info', undefined, key),
    ]) {
      expect(res.status).toBe(401)
      expect(res.json.error.message).toContain('Team=to-block is blocked')
    }
  })
})
