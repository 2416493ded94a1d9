import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import {
  type ClientFallback,
  callWithFallbacks,
  clientFallbacksOf,
} from '../../src/router/call-with-fallbacks'
import { mockRateLimitFailure, mockTestingFlags } from '../../src/router/mock-testing'
import { pythonRepr } from '../../src/router/python-repr'
import { reliabilitySettings } from '../../src/router/reliability-settings'

const SEED_FALLBACKS = [{ 'bedrock-claude-v3-sonnet': ['bedrock-claude-v3-haiku'] }]

const upstream = (status: number, message: string) =>
  new GatewayError({ status, message, origin: 'upstream' })

/** Runs callWithFallbacks where `failing` groups throw what `failure(group)` returns, others answer their name. */
function run(options: {
  litellm?: Record<string, unknown>
  router?: Record<string, unknown>
  body?: Record<string, unknown>
  failing?: Record<string, (group: string) => GatewayError>
  clientFallbacks?: ClientFallback[]
}) {
  const settings = reliabilitySettings({
    litellmSettings: options.litellm ?? {},
    routerSettings: options.router ?? {},
  })
  const mocks = mockTestingFlags(options.body ?? {})
  const calls: string[] = []
  const promise = callWithFallbacks('bedrock-claude-v3-sonnet', {
    settings,
    mocks,
    disabled: options.body?.disable_fallbacks === true,
    clientFallbacks: options.clientFallbacks,
    clientGone: () => false,
    callGroup: async (group, _depth, messages) => {
      calls.push(group)
      const limited = mockRateLimitFailure(mocks, group)
      if (limited) throw limited
      const failure = options.failing?.[group]
      if (failure) throw failure(group)
      return messages ? `${group}:${JSON.stringify(messages)}` : group
    },
  })
  return { promise, calls }
}

describe('callWithFallbacks (LiteLLM async_function_with_fallbacks)', () => {
  it('mock_testing_rate_limit_error: the seed README message, byte for byte, with code 429', async () => {
    const { promise, calls } = run({
      litellm: { fallbacks: SEED_FALLBACKS },
      body: { mock_testing_rate_limit_error: true },
    })
    const error = await promise.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GatewayError)
    // Copied from the seed README ("mock rate limit" → "response error").
    expect((error as GatewayError).message).toBe(
      "litellm.RateLimitError: This is a mock exception for model=bedrock-claude-v3-sonnet, to trigger a rate limit error.\nReceived Model Group=bedrock-claude-v3-sonnet\nAvailable Model Group Fallbacks=['bedrock-claude-v3-haiku']\nError doing the fallback: litellm.RateLimitError: This is a mock exception for model=bedrock-claude-v3-haiku, to trigger a rate limit error.No fallback model group found for original model_group=bedrock-claude-v3-haiku. Fallbacks=[{'bedrock-claude-v3-sonnet': ['bedrock-claude-v3-haiku']}]\nReceived Model Group=bedrock-claude-v3-haiku\nAvailable Model Group Fallbacks=None\nError doing the fallback: litellm.RateLimitError: This is a mock exception for model=bedrock-claude-v3-haiku, to trigger a rate limit error.No fallback model group found for original model_group=bedrock-claude-v3-haiku. Fallbacks=[{'bedrock-claude-v3-sonnet': ['bedrock-claude-v3-haiku']}]",
    )
    expect((error as GatewayError).toJSON()).toMatchObject({
      error: { type: null, param: null, code: '429' },
    })
    expect(calls).toEqual(['bedrock-claude-v3-sonnet', 'bedrock-claude-v3-haiku'])
  })

  it('mock_testing_fallbacks fails only the requested group; the fallback answers at depth 1', async () => {
    const { promise, calls } = run({
      litellm: { fallbacks: SEED_FALLBACKS },
      body: { mock_testing_fallbacks: true },
    })
    expect(await promise).toEqual({ value: 'bedrock-claude-v3-haiku', fallbacks: 1 })
    // The failing group is not called at all: the mock fails before any deployment is picked.
    expect(calls).toEqual(['bedrock-claude-v3-haiku'])
  })

  it('without fallbacks the error still names the group, with Fallbacks=None', async () => {
    const { promise } = run({
      failing: { 'bedrock-claude-v3-sonnet': () => upstream(500, 'litellm.InternalServerError: boom') },
    })
    await expect(promise).rejects.toThrow(
      'litellm.InternalServerError: boom\nReceived Model Group=bedrock-claude-v3-sonnet\nAvailable Model Group Fallbacks=None',
    )
  })

  it('context-window errors use context_window_fallbacks first', async () => {
    const { promise, calls } = run({
      litellm: { fallbacks: [{ 'bedrock-claude-v3-sonnet': ['general'] }] },
      router: { context_window_fallbacks: [{ 'bedrock-claude-v3-sonnet': ['long-context'] }] },
      failing: {
        'bedrock-claude-v3-sonnet': () => upstream(400, 'litellm.ContextWindowExceededError: too long'),
      },
    })
    expect(await promise).toEqual({ value: 'long-context', fallbacks: 1 })
    expect(calls).toEqual(['bedrock-claude-v3-sonnet', 'long-context'])
  })

  it('context-window errors without context_window_fallbacks go to fallbacks, and the message says so', async () => {
    const { promise, calls } = run({
      litellm: { fallbacks: [{ 'bedrock-claude-v3-sonnet': ['general'] }] },
      failing: {
        'bedrock-claude-v3-sonnet': () => upstream(400, 'litellm.ContextWindowExceededError: too long'),
        general: () => upstream(503, 'litellm.ServiceUnavailableError: down'),
      },
    })
    const error = (await promise.catch((e: unknown) => e)) as GatewayError
    expect(calls).toEqual(['bedrock-claude-v3-sonnet', 'general'])
    expect(error.status).toBe(400)
    expect(error.message).toContain(
      "context_window_fallbacks=None. fallbacks=[{'bedrock-claude-v3-sonnet': ['general']}].\n\nSet 'context_window_fallback'",
    )
    expect(error.message).toContain(
      "Available Model Group Fallbacks=['general']\nError doing the fallback: litellm.ServiceUnavailableError: down",
    )
  })

  it('content-policy errors use content_policy_fallbacks', async () => {
    const { promise } = run({
      router: { content_policy_fallbacks: [{ 'bedrock-claude-v3-sonnet': ['lenient'] }] },
      failing: {
        'bedrock-claude-v3-sonnet': () => upstream(400, 'litellm.ContentPolicyViolationError: blocked'),
      },
    })
    expect(await promise).toEqual({ value: 'lenient', fallbacks: 1 })
  })

  it('default_fallbacks act as a "*" catch-all appended to fallbacks', async () => {
    const settings = reliabilitySettings({
      litellmSettings: { default_fallbacks: ['safety-net'] },
      routerSettings: {},
    })
    expect(settings.fallbacks).toEqual([{ '*': ['safety-net'] }])
    const { promise } = run({
      litellm: { default_fallbacks: ['safety-net'] },
      failing: { 'bedrock-claude-v3-sonnet': () => upstream(429, 'litellm.RateLimitError: slow down') },
    })
    expect(await promise).toEqual({ value: 'safety-net', fallbacks: 1 })
  })

  it('router_settings wins over litellm_settings', () => {
    const settings = reliabilitySettings({
      litellmSettings: { fallbacks: [{ a: ['b'] }], num_retries: 1 },
      routerSettings: { fallbacks: [{ a: ['c'] }], num_retries: 3 },
    })
    expect(settings.fallbacks).toEqual([{ a: ['c'] }])
    expect(settings.numRetries).toBe(3)
  })

  it('chains fallbacks, each hop counted, and stops at max_fallbacks', async () => {
    const chain = [{ 'bedrock-claude-v3-sonnet': ['b'] }, { b: ['c'] }, { c: ['d'] }]
    const fail = () => upstream(500, 'litellm.InternalServerError: x')
    const deep = run({
      litellm: { fallbacks: chain },
      failing: { 'bedrock-claude-v3-sonnet': fail, b: fail, c: fail },
    })
    expect(await deep.promise).toEqual({ value: 'd', fallbacks: 3 })
    const capped = run({
      litellm: { fallbacks: chain },
      router: { max_fallbacks: 2 },
      failing: { 'bedrock-claude-v3-sonnet': fail, b: fail, c: fail },
    })
    await expect(capped.promise).rejects.toThrow(GatewayError)
    expect(capped.calls).toEqual(['bedrock-claude-v3-sonnet', 'b', 'c'])
  })

  it('disable_fallbacks returns the original error untouched', async () => {
    const { promise, calls } = run({
      litellm: { fallbacks: SEED_FALLBACKS },
      body: { disable_fallbacks: true },
      failing: { 'bedrock-claude-v3-sonnet': () => upstream(500, 'litellm.InternalServerError: x') },
    })
    await expect(promise).rejects.toThrow(/^litellm.InternalServerError: x$/)
    expect(calls).toEqual(['bedrock-claude-v3-sonnet'])
  })

  it('client-side fallbacks (strings or {model, messages}) replace the configured ones', async () => {
    expect(clientFallbacksOf(['a', { model: 'b', messages: [{ role: 'user', content: 'hi' }] }])).toEqual([
      { model: 'a' },
      { model: 'b', messages: [{ role: 'user', content: 'hi' }] },
    ])
    expect(clientFallbacksOf([{ a: ['b'] }])).toBeUndefined()
    const { promise, calls } = run({
      litellm: { fallbacks: SEED_FALLBACKS },
      clientFallbacks: [{ model: 'a' }, { model: 'b', messages: [{ role: 'user', content: 'short' }] }],
      failing: {
        'bedrock-claude-v3-sonnet': () => upstream(500, 'litellm.InternalServerError: x'),
        a: () => upstream(500, 'litellm.InternalServerError: y'),
      },
    })
    expect(await promise).toEqual({ value: 'b:[{"role":"user","content":"short"}]', fallbacks: 2 })
    expect(calls).toEqual(['bedrock-claude-v3-sonnet', 'a', 'b'])
  })
})

describe('pythonRepr', () => {
  it("formats lists and dicts as Python's str.format does", () => {
    expect(pythonRepr(SEED_FALLBACKS)).toBe("[{'bedrock-claude-v3-sonnet': ['bedrock-claude-v3-haiku']}]")
    expect(pythonRepr(undefined)).toBe('None')
    expect(pythonRepr(["it's", 'a\nb', true, 1.5])).toBe(`["it's", 'a\\nb', True, 1.5]`)
  })
})
