import { describe, expect, it, vi } from 'vitest'
import type { Usage } from '../../src/openai/chat-response'
import { mapUsage } from '../../src/providers/bedrock/converse-response'
import type { Deployment, LitellmParams, ModelInfo } from '../../src/providers/types'
import { callCost, costOf, type Price, priceFor, promptSplit } from '../../src/spend/cost'

const deployment = (
  model: string,
  params: Partial<LitellmParams> = {},
  modelInfo: ModelInfo = {},
): Deployment => {
  const slash = model.indexOf('/')
  return {
    id: 'dep-1',
    modelName: 'group',
    provider: model.slice(0, slash),
    providerModel: model.slice(slash + 1),
    params: { model, ...params },
    modelInfo,
  }
}

const SONNET_37 = 'anthropic.claude-3-7-sonnet-20250219-v1:0'
const usage = (prompt: number, completion: number, extra: Partial<Usage> = {}): Usage => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
  ...extra,
})

describe('priceFor', () => {
  it('prices a Bedrock deployment from the table by its model', () => {
    expect(priceFor(deployment(`bedrock/converse/${SONNET_37}`))).toEqual({
      input_cost_per_token: 3e-6,
      output_cost_per_token: 1.5e-5,
      cache_read_input_token_cost: 3e-7,
      cache_creation_input_token_cost: 3.75e-6,
      source: 'model',
      key: SONNET_37,
    })
  })

  it('uses model_info.base_model over the model, then litellm_params.base_model', () => {
    const alias = deployment('bedrock/arn:aws:bedrock:us-east-1:123:application-inference-profile/abc')
    expect(priceFor(alias)).toBeUndefined()
    const viaInfo = { ...alias, modelInfo: { base_model: 'anthropic.claude-3-haiku-20240307-v1:0' } }
    expect(priceFor(viaInfo)).toMatchObject({ input_cost_per_token: 2.5e-7, source: 'base_model' })
    const viaParams = {
      ...alias,
      params: { ...alias.params, base_model: 'bedrock/meta.llama3-8b-instruct-v1:0' },
    }
    expect(priceFor(viaParams)).toMatchObject({ input_cost_per_token: 3e-7, source: 'base_model' })
    const both = { ...viaParams, modelInfo: viaInfo.modelInfo }
    expect(priceFor(both)?.key).toBe('anthropic.claude-3-haiku-20240307-v1:0')
    // base_model wins over a model the table also knows.
    const known = deployment(`bedrock/${SONNET_37}`, {}, { base_model: 'amazon.nova-micro-v1:0' })
    expect(priceFor(known)?.key).toBe('amazon.nova-micro-v1:0')
  })

  it('falls back to the model when base_model is not in the table', () => {
    const d = deployment(`bedrock/${SONNET_37}`, {}, { base_model: 'my-fine-tune' })
    expect(priceFor(d)).toMatchObject({ key: SONNET_37, source: 'model' })
  })

  it('lets model_info custom costs override the table, and litellm_params override both', () => {
    const info = deployment(
      `bedrock/${SONNET_37}`,
      {},
      { input_cost_per_token: 1e-6, output_cost_per_token: 2e-6 },
    )
    expect(priceFor(info)).toEqual({
      input_cost_per_token: 1e-6,
      output_cost_per_token: 2e-6,
      // field by field, as LiteLLM merges custom pricing into the map entry
      cache_read_input_token_cost: 3e-7,
      cache_creation_input_token_cost: 3.75e-6,
      source: 'model_info',
      key: SONNET_37,
    })
    const params = { ...info, params: { ...info.params, input_cost_per_token: 5e-7 } }
    expect(priceFor(params)).toMatchObject({
      input_cost_per_token: 5e-7,
      output_cost_per_token: 2e-6,
      source: 'litellm_params',
    })
  })

  it('prices a model the table does not know from custom costs alone', () => {
    const d = deployment('openai/gpt-x', { input_cost_per_token: '0.000001', output_cost_per_token: 0 })
    expect(priceFor(d)).toEqual({
      input_cost_per_token: 1e-6,
      output_cost_per_token: 0,
      source: 'litellm_params',
    })
  })

  it('prices a deployment with only input_cost_per_second per second', () => {
    const sagemaker = deployment('sagemaker/my-endpoint', { input_cost_per_second: 0.00042 })
    expect(priceFor(sagemaker)).toEqual({ input_cost_per_second: 0.00042, source: 'litellm_params' })
    // Even when its model also names a table entry: the operator asked for time-based billing.
    const named = deployment(`bedrock/${SONNET_37}`, {}, { input_cost_per_second: 0.001 })
    expect(priceFor(named)).toEqual({ input_cost_per_second: 0.001, source: 'model_info' })
  })

  it('ignores negative, non-numeric and empty custom costs', () => {
    const d = deployment(`bedrock/${SONNET_37}`, {
      input_cost_per_token: -1,
      output_cost_per_token: 'abc',
      cache_read_input_token_cost: '',
    })
    expect(priceFor(d)).toMatchObject({
      input_cost_per_token: 3e-6,
      output_cost_per_token: 1.5e-5,
      source: 'model',
    })
  })

  it('answers undefined for an unknown model without custom costs', () => {
    expect(priceFor(deployment('bedrock/anthropic.claude-9-v1:0'))).toBeUndefined()
    expect(priceFor(deployment('sagemaker/endpoint'))).toBeUndefined()
    expect(priceFor(deployment('mock/x'))).toBeUndefined()
  })
})

describe('costOf', () => {
  const sonnet = priceFor(deployment(`bedrock/${SONNET_37}`)) as Price

  it('bills uncached input, cache reads, cache writes and output at their own prices', () => {
    // A Converse answer: 1,200 fresh prompt tokens, 8,000 read from the cache, 2,000 written to it.
    const u = mapUsage({
      inputTokens: 1200,
      cacheReadInputTokens: 8000,
      cacheWriteInputTokens: 2000,
      outputTokens: 450,
    })
    expect(u.prompt_tokens).toBe(11_200)
    expect(promptSplit(u)).toEqual({ uncached: 1200, cacheRead: 8000, cacheWrite: 2000 })
    // 1,200 × $3/M = 0.0036; 8,000 × $0.30/M = 0.0024; 2,000 × $3.75/M = 0.0075; 450 × $15/M = 0.00675
    expect(costOf(u, sonnet)).toBe(0.02025)
  })

  it('bills a plain call without cache tokens', () => {
    // 1,000 × $3/M + 500 × $15/M = 0.003 + 0.0075
    expect(costOf(usage(1000, 500), sonnet)).toBe(0.0105)
  })

  it('falls back to the input price for cache tokens when the entry has no cache prices', () => {
    const novaPro = priceFor(deployment('bedrock/amazon.nova-pro-v1:0')) as Price
    // Whole prompt at $0.80/M: 1,000 × 8e-7 = 0.0008; 100 × $3.20/M = 0.00032
    const u = usage(1000, 100, { cache_read_input_tokens: 400, cache_creation_input_tokens: 100 })
    expect(costOf(u, novaPro)).toBe(0.00112)
  })

  it("reads OpenAI's cached_tokens when cache_read_input_tokens is absent", () => {
    const u = usage(1000, 0, { prompt_tokens_details: { cached_tokens: 600 } })
    // 400 × $3/M + 600 × $0.30/M = 0.0012 + 0.00018
    expect(costOf(u, sonnet)).toBe(0.00138)
  })

  it('clamps cache counts that exceed the prompt', () => {
    const u = usage(100, 0, { cache_read_input_tokens: 150, cache_creation_input_tokens: 50 })
    expect(promptSplit(u)).toEqual({ uncached: 0, cacheRead: 100, cacheWrite: 0 })
    expect(costOf(u, sonnet)).toBe(0.00003)
  })

  it('does not drift: whole-cent results come out exact and sums are order-independent', () => {
    const price: Price = { input_cost_per_token: 1e-7, output_cost_per_token: 2e-7, source: 'litellm_params' }
    // 1e-7 × 1,000,000 in floating point is 0.09999999999999999 before rounding.
    expect(costOf(usage(1_000_000, 1_000_000), price)).toBe(0.3)
    expect(costOf(usage(3, 0), { input_cost_per_token: 0.1, source: 'litellm_params' })).toBe(0.3)
  })

  it('treats missing and negative token counts as 0', () => {
    const u = { prompt_tokens: -5, completion_tokens: Number.NaN, total_tokens: 0 } as Usage
    expect(costOf(u, sonnet)).toBe(0)
  })

  it('multiplies a per-second price by the call duration', () => {
    const price: Price = { input_cost_per_second: 0.00042, source: 'litellm_params' }
    // 2.5 s × $0.00042/s, whatever the token counts
    expect(costOf(usage(1000, 1000), price, 2500)).toBe(0.00105)
    expect(costOf(usage(1000, 1000), { ...price, output_cost_per_second: 0.0001 }, 1000)).toBe(0.00052)
    expect(costOf(usage(1, 1), price)).toBe(0)
    expect(costOf(usage(1, 1), price, -10)).toBe(0)
  })

  it('prefers per-token prices when an entry has both', () => {
    const price: Price = {
      input_cost_per_token: 1e-6,
      output_cost_per_token: 1e-6,
      input_cost_per_second: 1,
      source: 'model',
    }
    expect(costOf(usage(10, 10), price, 60_000)).toBe(0.00002)
  })
})

describe('callCost', () => {
  it('costs a priced deployment without warning', () => {
    const warn = vi.fn()
    expect(callCost(deployment(`bedrock/${SONNET_37}`), usage(1000, 500), 1200, { warn })).toBe(0.0105)
    expect(warn).not.toHaveBeenCalled()
  })

  it('records 0 with a warning for an unpriced deployment, never throwing', () => {
    const warn = vi.fn()
    expect(callCost(deployment('sagemaker/endpoint'), usage(1000, 500), 1200, { warn })).toBe(0)
    expect(warn).toHaveBeenCalledOnce()
    expect(warn.mock.calls[0]?.[1]).toMatchObject({ model: 'sagemaker/endpoint', model_id: 'dep-1' })
  })
})
