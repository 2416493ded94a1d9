import { describe, expect, it, vi } from 'vitest'
import type { ErrorBody, GatewayError } from '../../src/errors'
import type { Gateway } from '../../src/http/context'
import { authorizeCall } from '../../src/keys/authorize-call'
import type { Caller, OwnerLimits, VirtualKey } from '../../src/keys/virtual-key'
import type { SpendEntity } from '../../src/spend/spend-types'
import { virtualKey } from '../helpers/virtual-key'

const owner = (id: string, over: Partial<OwnerLimits> = {}): OwnerLimits => ({
  id,
  models: [],
  maxBudget: null,
  budgetDuration: null,
  rpmLimit: null,
  tpmLimit: null,
  maxParallelRequests: null,
  ...over,
})

const key = (over: Partial<VirtualKey> = {}): VirtualKey =>
  virtualKey({ token: 'hash-1', keyAlias: 'my-key', ...over })

/** A Gateway with only what authorizeCall reads: spend totals, from a fake table. */
function gateway(spend: Record<string, number> = {}) {
  const current = vi.fn(async (entities: readonly SpendEntity[]) =>
    entities.map((e) => spend[e.kind === 'key-model' ? `key-model:${e.model}` : `${e.kind}:${e.id}`] ?? 0),
  )
  return { gw: { spend: { totals: { current } } } as unknown as Gateway, current }
}

const caller = (k: VirtualKey): Caller => ({ keyHash: k.token, isMaster: false, key: k })

async function refusal(
  k: VirtualKey,
  model: string,
  gw: Gateway,
): Promise<{ status: number; body: ErrorBody }> {
  const error = (await authorizeCall(caller(k), model, gw).then(
    () => undefined,
    (e: unknown) => e,
  )) as GatewayError | undefined
  if (!error) throw new Error('expected a refusal')
  return { status: error.status, body: error.toJSON() }
}

describe('authorizeCall: model access', () => {
  const { gw } = gateway()

  it('lets the master key call anything', async () => {
    await expect(authorizeCall({ keyHash: 'm', isMaster: true }, 'any', gw)).resolves.toBeUndefined()
  })

  it('empty models and all-proxy-models allow every group', async () => {
    await expect(authorizeCall(caller(key()), 'x', gw)).resolves.toBeUndefined()
    await expect(
      authorizeCall(caller(key({ models: ['all-proxy-models'] })), 'x', gw),
    ).resolves.toBeUndefined()
  })

  it('refuses a group outside the key’s models with LiteLLM’s 401', async () => {
    const { status, body } = await refusal(key({ models: ['a', 'b'] }), 'c', gw)
    expect(status).toBe(401)
    expect(body.error).toEqual({
      message:
        "key not allowed to access model. This key can only access models=['a', 'b']. Tried to access c",
      type: 'key_model_access_denied',
      param: 'model',
      code: '401',
    })
  })

  it('a key without models (or all-team-models) gets its team’s models', async () => {
    const team = { ...owner('t1', { models: ['a'] }), blocked: false }
    await expect(authorizeCall(caller(key({ teamId: 't1', team })), 'a', gw)).resolves.toBeUndefined()
    const { status, body } = await refusal(key({ teamId: 't1', team, models: ['all-team-models'] }), 'b', gw)
    expect(status).toBe(401)
    expect(body.error.type).toBe('team_model_access_denied')
    expect(body.error.message).toContain("This team can only access models=['a']. Tried to access b")
  })

  it('refuses every call of a blocked team', async () => {
    const team = { ...owner('t1'), blocked: true }
    const { status, body } = await refusal(key({ teamId: 't1', team }), 'a', gw)
    expect(status).toBe(401)
    expect(body.error.message).toContain('Team=t1 is blocked')
  })
})

describe('authorizeCall: budgets', () => {
  it('does not read spend at all when nothing has a budget (the hot path)', async () => {
    const { gw, current } = gateway()
    await authorizeCall(caller(key({ user: owner('u'), userId: 'u' })), 'a', gw)
    expect(current).not.toHaveBeenCalled()
  })

  it('reads every applicable total in one call', async () => {
    const { gw, current } = gateway()
    const k = key({
      maxBudget: 10,
      teamId: 't',
      team: { ...owner('t', { maxBudget: 50 }), blocked: false },
      modelMaxBudget: { a: { budget_limit: 1, time_period: '1d' } },
    })
    await authorizeCall(caller(k), 'a', gw)
    expect(current).toHaveBeenCalledTimes(1)
    expect(current.mock.calls[0]?.[0]).toEqual([
      { kind: 'key', id: 'hash-1' },
      { kind: 'team', id: 't' },
      { kind: 'key-model', id: 'hash-1', model: 'a' },
    ])
  })

  it('refuses a key at spend >= max_budget with LiteLLM’s 400 budget_exceeded', async () => {
    const { gw } = gateway({ 'key:hash-1': 2 })
    await expect(authorizeCall(caller(key({ maxBudget: 2.5 })), 'a', gw)).resolves.toBeUndefined()
    const { status, body } = await refusal(key({ maxBudget: 2 }), 'a', gw)
    expect(status).toBe(400)
    expect(body.error).toEqual({
      message: 'Budget has been exceeded! Current cost: 2.0, Max budget: 2.0',
      type: 'budget_exceeded',
      param: null,
      code: '400',
    })
  })

  it('applies the user budget to personal keys only', async () => {
    const { gw } = gateway({ 'user:u1': 7.5 })
    const user = owner('u1', { maxBudget: 5 })
    const { body } = await refusal(key({ userId: 'u1', user }), 'a', gw)
    expect(body.error.message).toBe('ExceededBudget: User=u1 over budget. Spend=7.5, Budget=5.0')
    const team = { ...owner('t'), blocked: false }
    await expect(
      authorizeCall(caller(key({ userId: 'u1', user, teamId: 't', team })), 'a', gw),
    ).resolves.toBeUndefined()
  })

  it('applies the team budget', async () => {
    const { gw } = gateway({ 'team:t': 100 })
    const team = { ...owner('t', { maxBudget: 100 }), blocked: false }
    const { body } = await refusal(key({ teamId: 't', team }), 'a', gw)
    expect(body.error.message).toBe('Budget has been exceeded! Team=t Current cost: 100.0, Max budget: 100.0')
  })

  it('applies model_max_budget to its model group only', async () => {
    const { gw } = gateway({ 'key-model:a': 1 })
    const k = key({ modelMaxBudget: { a: { budget_limit: 1 } } })
    const { status, body } = await refusal(k, 'a', gw)
    expect(status).toBe(400)
    expect(body.error.message).toBe(
      'LiteLLM Virtual Key: hash-1, key_alias: my-key, exceeded budget for model=a',
    )
    await expect(authorizeCall(caller(k), 'b', gw)).resolves.toBeUndefined()
  })
})
