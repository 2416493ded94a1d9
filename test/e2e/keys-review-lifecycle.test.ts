import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pgliteSql } from '../../adapters/node/stores/pglite-sql'
import { spendCounterKey } from '../../src/spend/spend-totals'
import type { Counters } from '../../src/store/counters'
import { memoryCounters } from '../../src/store/memory-counters'
import { migrate } from '../../src/store/migrate'
import { migration001 } from '../../src/store/migrations/001-litellm-core'
import { KEY_ALIAS_INDEX } from '../../src/store/migrations/002-key-alias-unique'
import type { Sql } from '../../src/store/sql'
import { generate, type Instance, instance, migratedSql, racingSql } from './keys-review-harness'

/**
 * Deletes and re-creations (running spend totals), unique aliases and ids under concurrency, and
 * request values that used to reach Postgres and come back as 500s.
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

describe('finding 5: running spend totals do not outlive what was deleted', () => {
  it('a user deleted and created again starts from its new spend (user and its keys’ totals dropped)', async () => {
    await gw.call('POST', '/user/new', { user_id: 'alice', max_budget: 100, auto_create_key: false })
    await sql.query(`UPDATE "LiteLLM_UserTable" SET spend = 50 WHERE user_id = 'alice'`)
    const first = await generate(gw, { user_id: 'alice', key: 'sk-alice-key-0001', spend: 99 })
    expect((await gw.chat(first.key, 'model-a')).status).toBe(200) // seeds spend:user:alice = 50
    expect(await counters.get(spendCounterKey({ kind: 'user', id: 'alice' }))).toBe('50')
    await gw.call('GET', `/key/info?key=${first.key}`) // seeds the key's total (99)

    expect((await gw.call('POST', '/user/delete', { user_ids: ['alice'] })).status).toBe(200)
    await gw.call('POST', '/user/new', { user_id: 'alice', max_budget: 10, auto_create_key: false })
    const second = await generate(gw, { user_id: 'alice' })
    expect((await gw.chat(second.key, 'model-a')).status).toBe(200)
    // The key value deleted with its user, created again with a budget.
    const again = await generate(gw, { key: 'sk-alice-key-0001', max_budget: 5 })
    expect((await gw.chat(again.key, 'model-a')).status).toBe(200)
  })

  it('a team deleted and created again starts from its new spend', async () => {
    await gw.call('POST', '/team/new', { team_id: 'T1', max_budget: 100 })
    await sql.query(`UPDATE "LiteLLM_TeamTable" SET spend = 50 WHERE team_id = 'T1'`)
    const first = await generate(gw, { team_id: 'T1' })
    expect((await gw.chat(first.key, 'model-a')).status).toBe(200) // seeds spend:team:T1 = 50
    expect((await gw.call('POST', '/team/delete', { team_ids: ['T1'] })).status).toBe(200)
    await gw.call('POST', '/team/new', { team_id: 'T1', max_budget: 10 })
    const second = await generate(gw, { team_id: 'T1' })
    expect((await gw.chat(second.key, 'model-a')).status).toBe(200)
  })

  it('a key deleted and created again with the same value loses its per-model totals', async () => {
    const budget = { model_max_budget: { 'model-a': { budget_limit: 1 } } }
    const first = await generate(gw, { key: 'sk-model-budget-0001', ...budget })
    await sql.query(
      `UPDATE "LiteLLM_VerificationToken" SET model_spend = '{"model-a": 5}'::jsonb WHERE token = $1`,
      [first.token_id],
    )
    expect((await gw.chat(first.key, 'model-a')).status).toBe(400) // seeds the per-model total (5)
    expect((await gw.call('POST', '/key/delete', { keys: [first.key] })).status).toBe(200)
    const again = await generate(gw, { key: 'sk-model-budget-0001', ...budget })
    expect((await gw.chat(again.key, 'model-a')).status).toBe(200)
  })

  it('/key/regenerate drops the old hash’s totals (the row took them over)', async () => {
    const made = await generate(gw, { spend: 3 })
    await gw.call('GET', `/key/info?key=${made.key}`)
    const old = spendCounterKey({ kind: 'key', id: made.token_id })
    expect(await counters.get(old)).toBe('3')
    const regenerated = await gw.call('POST', '/key/regenerate', { key: made.key })
    expect(regenerated.status).toBe(200)
    expect(regenerated.json.spend).toBe(3)
    expect(await counters.get(old)).toBeNull()
  })
})

describe('finding 6: key_alias is unique in the database', () => {
  it('migration 002 creates the partial unique index', async () => {
    const rows = await sql.query(`SELECT indexdef FROM pg_indexes WHERE indexname = $1`, [KEY_ALIAS_INDEX])
    expect(String(rows[0]?.indexdef)).toMatch(/UNIQUE INDEX .* \(key_alias\) WHERE \(key_alias IS NOT NULL\)/)
  })

  it('migration 002 skips the index (and does not fail) when aliases are already duplicated', async () => {
    const old = pgliteSql('memory://')
    try {
      await migrate(old, [migration001])
      await old.query(
        `INSERT INTO "LiteLLM_VerificationToken" (token, key_alias) VALUES ('h1', 'dup'), ('h2', 'dup')`,
      )
      expect(await migrate(old)).toEqual([2])
      expect(await old.query(`SELECT 1 FROM pg_indexes WHERE indexname = $1`, [KEY_ALIAS_INDEX])).toEqual([])
    } finally {
      await old.close()
    }
  })

  it('a /key/generate that raced another one for an alias gets the 400, not a second key', async () => {
    await generate(gw, { key_alias: 'raced-alias' })
    // This request's "alias taken?" check ran before the other request's insert.
    const late = await instance(racingSql(sql, /SELECT token, key_alias FROM/), counters)
    const res = await late.call('POST', '/key/generate', { key_alias: 'raced-alias' })
    await late.app.close()
    expect(res.status).toBe(400)
    expect(res.json.error).toMatchObject({ param: 'key_alias' })
    expect(res.json.error.message).toContain("Key with alias 'raced-alias' already exists")
    const counted = await sql.query(
      `SELECT count(*)::int AS n FROM "LiteLLM_VerificationToken" WHERE key_alias = $1`,
      ['raced-alias'],
    )
    expect(counted).toEqual([{ n: 1 }])
  })

  it('/user/new refuses a key_alias another key has', async () => {
    await generate(gw, { key_alias: 'prod' })
    const res = await gw.call('POST', '/user/new', { user_id: 'wants-prod', key_alias: 'prod' })
    expect(res.status).toBe(400)
    expect(res.json.error.param).toBe('key_alias')
    expect((await gw.call('GET', '/user/info?user_id=wants-prod')).status).toBe(404)
  })
})

describe('finding 7: bad input is a 400, never a 500', () => {
  it('refuses NUL characters in body fields, nested JSON, query and path parameters', async () => {
    const { key } = await generate(gw)
    const bodies: Array<[string, Record<string, unknown>, string]> = [
      ['/key/generate', { key_alias: 'a\u0000b' }, 'key_alias'],
      ['/key/generate', { models: ['model-a', 'b\u0000'] }, 'models.1'],
      ['/key/generate', { metadata: { nested: { x: 'a\u0000' } } }, 'metadata.nested.x'],
      ['/key/update', { key: '\u0000' }, 'key'],
      ['/key/delete', { keys: ['\u0000'] }, 'keys.0'],
      ['/user/new', { user_id: 'u\u0000' }, 'user_id'],
      [
        '/team/new',
        { members_with_roles: [{ role: 'admin', extra: '\u0000' }] },
        'members_with_roles.0.extra',
      ],
      ['/team/delete', { team_ids: ['\u0000'] }, 'team_ids.0'],
    ]
    for (const [path, body, param] of bodies) {
      const res = await gw.call('POST', path, body)
      expect({ path, status: res.status, param: res.json.error?.param }).toEqual({ path, status: 400, param })
    }
    for (const path of [
      '/key/info?key=%00',
      '/key/list?user_id=a%00',
      '/user/info?user_id=%00',
      '/team/info?team_id=%00',
    ]) {
      expect({ path, status: (await gw.call('GET', path)).status }).toEqual({ path, status: 400 })
    }
    expect((await gw.call('GET', '/key/info?key=%00', undefined, key)).status).toBe(400)
    expect((await gw.call('POST', '/key/%00/regenerate', {})).status).toBe(400)
    expect((await gw.call('POST', '/key/%ZZ/regenerate', {})).status).toBe(400)
  })

  it('bounds limits, spend and budgets, and durations to what the columns hold', async () => {
    const refused: Array<[Record<string, unknown>, string]> = [
      [{ max_parallel_requests: 2 ** 31 }, 'max_parallel_requests'],
      [{ max_parallel_requests: -1 }, 'max_parallel_requests'],
      [{ rpm_limit: 2 ** 53 }, 'rpm_limit'],
      [{ tpm_limit: -5 }, 'tpm_limit'],
      [{ model_rpm_limit: { 'model-a': 1e308 } }, 'model_rpm_limit.model-a'],
      [{ spend: -5 }, 'spend'],
      [{ model_max_budget: { 'model-a': { budget_limit: -1 } } }, 'model_max_budget.model-a.budget_limit'],
      [{ duration: '1000000mo' }, 'duration'],
      [{ duration: '1000000w' }, 'duration'],
      [{ budget_duration: '1000000mo' }, 'budget_duration'],
    ]
    for (const [body, param] of refused) {
      const res = await gw.call('POST', '/key/generate', body)
      expect({ body, status: res.status, param: res.json.error?.param }).toEqual({ body, status: 400, param })
    }
    const user = await gw.call('POST', '/user/new', { max_parallel_requests: 2 ** 31 })
    expect(user.status).toBe(400)
    const team = await gw.call('POST', '/team/new', { budget_duration: '1000000w' })
    expect(team.status).toBe(400)
    const { key } = await generate(gw, { max_parallel_requests: 2 ** 31 - 1, rpm_limit: 2 ** 53 - 1 })
    expect((await gw.call('POST', '/key/update', { key, duration: '1000000mo' })).status).toBe(400)
  })

  it('a /user/new or /team/new that raced another with the same id gets 409/400, not 500', async () => {
    await gw.call('POST', '/user/new', { user_id: 'racer', auto_create_key: false })
    await gw.call('POST', '/team/new', { team_id: 'racers' })
    // These requests' "exists?" checks ran before the other request's insert.
    const late = await instance(racingSql(sql, /FROM "LiteLLM_(UserTable|TeamTable)" WHERE/), counters)
    const user = await late.call('POST', '/user/new', { user_id: 'racer' })
    const team = await late.call('POST', '/team/new', { team_id: 'racers' })
    await late.app.close()
    expect(user.status).toBe(409)
    expect(user.json.error.message).toBe('User with id racer already exists')
    expect(team.status).toBe(400)
    expect(team.json.error.message).toBe('Team id = racers already exists. Please use a different team id.')
  })
})
