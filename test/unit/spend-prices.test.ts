import { describe, expect, it } from 'vitest'
import type { Deployment } from '../../src/providers/types'
import { costOf, priceFor } from '../../src/spend/cost'
import { bareModelId, CROSS_REGION_PREFIXES, lookupPrice, PRICE_MAP } from '../../src/spend/prices'
import { unpricedDeployments, warnUnpricedDeployments } from '../../src/spend/unpriced'

/** At least one model the brief names per family, by the key LiteLLM uses for it. */
const REQUIRED: Record<string, string[]> = {
  anthropic: [
    'anthropic.claude-instant-v1',
    'anthropic.claude-v2',
    'anthropic.claude-v2:1',
    'anthropic.claude-3-haiku-20240307-v1:0',
    'anthropic.claude-3-sonnet-20240229-v1:0',
    'anthropic.claude-3-opus-20240229-v1:0',
    'anthropic.claude-3-5-haiku-20241022-v1:0',
    'anthropic.claude-3-5-sonnet-20240620-v1:0',
    'anthropic.claude-3-5-sonnet-20241022-v2:0',
    'anthropic.claude-3-7-sonnet-20250219-v1:0',
    'anthropic.claude-sonnet-4-20250514-v1:0',
    'anthropic.claude-opus-4-20250514-v1:0',
    'anthropic.claude-opus-4-1-20250805-v1:0',
    'anthropic.claude-sonnet-4-5-20250929-v1:0',
    'anthropic.claude-haiku-4-5-20251001-v1:0',
    'anthropic.claude-opus-4-5-20251101-v1:0',
  ],
  meta: [
    'meta.llama2-13b-chat-v1',
    'meta.llama2-70b-chat-v1',
    'meta.llama3-8b-instruct-v1:0',
    'meta.llama3-70b-instruct-v1:0',
    'meta.llama3-1-8b-instruct-v1:0',
    'meta.llama3-1-70b-instruct-v1:0',
    'meta.llama3-1-405b-instruct-v1:0',
    'meta.llama3-2-1b-instruct-v1:0',
    'meta.llama3-2-3b-instruct-v1:0',
    'meta.llama3-2-11b-instruct-v1:0',
    'meta.llama3-2-90b-instruct-v1:0',
    'meta.llama3-3-70b-instruct-v1:0',
    'meta.llama4-scout-17b-instruct-v1:0',
    'meta.llama4-maverick-17b-instruct-v1:0',
  ],
  mistral: [
    'mistral.mistral-7b-instruct-v0:2',
    'mistral.mixtral-8x7b-instruct-v0:1',
    'mistral.mistral-large-2402-v1:0',
    'mistral.mistral-large-2407-v1:0',
    'mistral.mistral-small-2402-v1:0',
  ],
  amazon: [
    'amazon.nova-micro-v1:0',
    'amazon.nova-lite-v1:0',
    'amazon.nova-pro-v1:0',
    'us.amazon.nova-premier-v1:0',
    'amazon.titan-text-express-v1',
    'amazon.titan-text-lite-v1',
    'amazon.titan-text-premier-v1:0',
    'amazon.titan-embed-text-v1',
    'amazon.titan-embed-text-v2:0',
    'amazon.titan-embed-image-v1',
  ],
  cohere: [
    'cohere.command-text-v14',
    'cohere.command-light-text-v14',
    'cohere.command-r-v1:0',
    'cohere.command-r-plus-v1:0',
    'cohere.embed-english-v3',
    'cohere.embed-multilingual-v3',
  ],
}

describe('PRICE_MAP coverage', () => {
  for (const [family, keys] of Object.entries(REQUIRED)) {
    it(`has every required ${family} model`, () => {
      expect(keys.filter((key) => !PRICE_MAP.has(key))).toEqual([])
    })
  }

  it('has regional keys only where LiteLLM prices them differently', () => {
    for (const [key, entry] of PRICE_MAP) {
      const prefix = CROSS_REGION_PREFIXES.find((p) => key.startsWith(p))
      if (prefix === undefined) continue
      const base = PRICE_MAP.get(key.slice(prefix.length))
      if (base === undefined) continue // only offered through the profile (Nova Premier, Pixtral)
      expect(entry.input_cost_per_token, key).not.toBe(base.input_cost_per_token)
    }
  })
})

describe('PRICE_MAP entries', () => {
  const entries = [...PRICE_MAP]

  it('holds a few hundred entries at most (a Bedrock subset, not the whole LiteLLM map)', () => {
    expect(entries.length).toBeGreaterThan(80)
    expect(entries.length).toBeLessThan(300)
  })

  it('prices every chat model with positive input and output prices', () => {
    for (const [key, entry] of entries) {
      expect(entry.input_cost_per_token, key).toBeGreaterThan(0)
      if (entry.mode === 'chat') expect(entry.output_cost_per_token, key).toBeGreaterThan(0)
      else expect(entry.output_cost_per_token, key).toBe(0)
      // USD per token: anything at or above $1/token is a per-1K or per-1M price pasted by mistake.
      expect(entry.input_cost_per_token, key).toBeLessThan(1e-3)
      expect(entry.output_cost_per_token, key).toBeLessThan(1e-3)
    }
  })

  it('reads the cache cheaper than input and writes it at no more than 1.25 × input', () => {
    for (const [key, entry] of entries) {
      const input = entry.input_cost_per_token ?? 0
      if (entry.cache_read_input_token_cost !== undefined) {
        expect(entry.cache_read_input_token_cost, key).toBeGreaterThan(0)
        expect(entry.cache_read_input_token_cost, key).toBeLessThanOrEqual(input)
      }
      if (entry.cache_creation_input_token_cost !== undefined) {
        // Anthropic's 5-minute cache writes cost 1.25 × input; they are never cheaper than input.
        expect(entry.cache_creation_input_token_cost, key).toBeGreaterThanOrEqual(input)
        expect(entry.cache_creation_input_token_cost, key).toBeLessThanOrEqual(input * 1.25 * (1 + 1e-12))
      }
    }
  })

  it('carries LiteLLM field names, providers, modes and whole-number context sizes', () => {
    for (const [key, entry] of entries) {
      expect(['bedrock', 'bedrock_converse'], key).toContain(entry.litellm_provider)
      expect(['chat', 'embedding'], key).toContain(entry.mode)
      expect(Number.isInteger(entry.max_input_tokens) && (entry.max_input_tokens ?? 0) > 0, key).toBe(true)
      if (entry.mode === 'chat') expect(entry.max_tokens, key).toBe(entry.max_output_tokens)
      expect(Object.isFrozen(entry), key).toBe(true)
    }
  })

  it('matches the published prices of a few well-known models', () => {
    expect(PRICE_MAP.get('anthropic.claude-3-haiku-20240307-v1:0')).toMatchObject({
      input_cost_per_token: 2.5e-7,
      output_cost_per_token: 1.25e-6,
      cache_read_input_token_cost: 2.5e-8,
      cache_creation_input_token_cost: 3.125e-7,
      max_input_tokens: 200_000,
      max_output_tokens: 4096,
      litellm_provider: 'bedrock',
      mode: 'chat',
    })
    expect(PRICE_MAP.get('meta.llama3-1-405b-instruct-v1:0')).toMatchObject({
      input_cost_per_token: 5.32e-6,
      output_cost_per_token: 1.6e-5,
    })
    expect(PRICE_MAP.get('amazon.nova-micro-v1:0')).toMatchObject({
      input_cost_per_token: 3.5e-8,
      output_cost_per_token: 1.4e-7,
    })
    expect(PRICE_MAP.get('cohere.embed-english-v3')).toMatchObject({
      input_cost_per_token: 1e-7,
      output_cost_per_token: 0,
      mode: 'embedding',
    })
  })
})

describe('lookupPrice', () => {
  const haiku = 'anthropic.claude-3-haiku-20240307-v1:0'

  it('finds an exact key', () => {
    expect(lookupPrice(haiku)?.key).toBe(haiku)
  })

  it('strips a cross-region prefix when the regional key is absent', () => {
    for (const prefix of CROSS_REGION_PREFIXES) {
      expect(lookupPrice(`${prefix}${haiku}`)?.key, prefix).toBe(haiku)
    }
  })

  it('prefers a regional key that has its own price', () => {
    const match = lookupPrice('us.anthropic.claude-sonnet-4-5-20250929-v1:0')
    expect(match?.key).toBe('us.anthropic.claude-sonnet-4-5-20250929-v1:0')
    expect(match?.entry.input_cost_per_token).toBe(3.3e-6)
    expect(lookupPrice('global.anthropic.claude-sonnet-4-5-20250929-v1:0')?.entry.input_cost_per_token).toBe(
      3e-6,
    )
    expect(lookupPrice('us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0')?.entry.input_cost_per_token).toBe(
      3.6e-6,
    )
  })

  it('strips the bedrock/ provider and its converse/ and invoke/ routes', () => {
    expect(lookupPrice(`bedrock/${haiku}`)?.key).toBe(haiku)
    expect(lookupPrice(`bedrock/converse/${haiku}`)?.key).toBe(haiku)
    expect(lookupPrice(`bedrock/invoke/${haiku}`)?.key).toBe(haiku)
    expect(lookupPrice('bedrock/converse/us.anthropic.claude-haiku-4-5-20251001-v1:0')?.key).toBe(
      'us.anthropic.claude-haiku-4-5-20251001-v1:0',
    )
    expect(lookupPrice(`bedrock/converse/apac.${haiku}`)?.key).toBe(haiku)
  })

  it('reads the model id out of foundation-model and inference-profile ARNs', () => {
    expect(lookupPrice(`arn:aws:bedrock:us-east-1::foundation-model/${haiku}`)?.key).toBe(haiku)
    expect(
      lookupPrice(`bedrock/arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.${haiku}`)?.key,
    ).toBe(haiku)
    expect(
      lookupPrice(
        'arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:inference-profile/us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0',
      )?.key,
    ).toBe('us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0')
  })

  it('answers undefined for models the table does not price', () => {
    expect(lookupPrice('anthropic.claude-9-unknown-v1:0')).toBeUndefined()
    expect(lookupPrice('sagemaker/my-endpoint')).toBeUndefined()
    expect(lookupPrice(`openai/${haiku}`)).toBeUndefined()
    expect(lookupPrice('arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123')).toBe(
      undefined,
    )
    expect(lookupPrice('arn:aws:bedrock:us-east-1:123456789012:provisioned-model/xyz')).toBeUndefined()
    expect(lookupPrice('constructor')).toBeUndefined()
    expect(lookupPrice('__proto__')).toBeUndefined()
    expect(lookupPrice('')).toBeUndefined()
  })

  it('exposes the bare id it looked up', () => {
    expect(bareModelId(`  bedrock/converse/us.${haiku} `)).toBe(`us.${haiku}`)
    expect(bareModelId(`arn:aws:bedrock:us-east-1::foundation-model/${haiku}`)).toBe(haiku)
  })
})

describe('OpenAI prices (openai/ deployments)', () => {
  const deployment = (model: string, provider = model.split('/')[0] ?? ''): Deployment => ({
    id: `d-${model}`,
    modelName: 'g',
    provider,
    providerModel: model.slice(provider.length + 1),
    params: { model },
    modelInfo: {},
  })

  it('prices the common OpenAI models at LiteLLM’s published per-token prices', () => {
    expect(lookupPrice('openai/gpt-4o')?.entry).toMatchObject({
      input_cost_per_token: 2.5e-6,
      output_cost_per_token: 1e-5,
      cache_read_input_token_cost: 1.25e-6,
      litellm_provider: 'openai',
      mode: 'chat',
    })
    expect(lookupPrice('openai/gpt-4o-mini')?.entry).toMatchObject({
      input_cost_per_token: 1.5e-7,
      output_cost_per_token: 6e-7,
    })
    expect(lookupPrice('openai/gpt-4.1')?.entry).toMatchObject({
      input_cost_per_token: 2e-6,
      output_cost_per_token: 8e-6,
    })
    expect(lookupPrice('openai/gpt-4.1-mini')?.entry).toMatchObject({
      input_cost_per_token: 4e-7,
      output_cost_per_token: 1.6e-6,
    })
    expect(lookupPrice('openai/gpt-4.1-nano')?.entry).toMatchObject({
      input_cost_per_token: 1e-7,
      output_cost_per_token: 4e-7,
    })
    expect(lookupPrice('openai/o3')?.entry).toMatchObject({
      input_cost_per_token: 2e-6,
      output_cost_per_token: 8e-6,
    })
    expect(lookupPrice('openai/o3-mini')?.entry).toMatchObject({
      input_cost_per_token: 1.1e-6,
      output_cost_per_token: 4.4e-6,
    })
    expect(lookupPrice('openai/o4-mini')?.entry).toMatchObject({
      input_cost_per_token: 1.1e-6,
      output_cost_per_token: 4.4e-6,
    })
    expect(lookupPrice('openai/text-embedding-3-small')?.entry).toMatchObject({
      input_cost_per_token: 2e-8,
      mode: 'embedding',
    })
    expect(lookupPrice('openai/text-embedding-3-large')?.entry).toMatchObject({
      input_cost_per_token: 1.3e-7,
    })
    expect(lookupPrice('openai/text-embedding-ada-002')?.entry).toMatchObject({ input_cost_per_token: 1e-7 })
  })

  it('uses them for openai/ only: the same name on a self-hosted server is not OpenAI’s bill', () => {
    expect(lookupPrice('hosted_vllm/gpt-4o')).toBeUndefined()
    expect(lookupPrice('openai_like/gpt-4o')).toBeUndefined()
    expect(lookupPrice('gpt-4o')).toBeUndefined()
    expect(PRICE_MAP.has('gpt-4o')).toBe(false)
    // A snapshot priced differently from its alias is not guessed.
    expect(lookupPrice('openai/gpt-4o-2024-05-13')).toBeUndefined()
  })

  it('gives an openai/ deployment a non-zero cost, so its budgets can trigger', () => {
    const price = priceFor(deployment('openai/gpt-4o-mini'))
    expect(price).toMatchObject({ source: 'model', key: 'gpt-4o-mini' })
    const usage = { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 }
    expect(costOf(usage, price as NonNullable<typeof price>)).toBeCloseTo(1000 * 1.5e-7 + 500 * 6e-7, 12)
  })

  it('lists and warns, once at start-up, about every deployment without a price (mock excepted)', () => {
    const deployments = [
      deployment('openai/gpt-4o'),
      deployment('hosted_vllm/llama-3'),
      deployment('sagemaker/my-endpoint'),
      deployment('mock/demo'),
      deployment('bedrock/anthropic.claude-3-haiku-20240307-v1:0'),
    ]
    expect(unpricedDeployments(deployments).map((d) => d.params.model)).toEqual([
      'hosted_vllm/llama-3',
      'sagemaker/my-endpoint',
    ])
    const warned: Array<{ message: string; fields?: Record<string, unknown> }> = []
    warnUnpricedDeployments(deployments, { warn: (message, fields) => warned.push({ message, fields }) })
    expect(warned.map((w) => w.fields?.model)).toEqual(['hosted_vllm/llama-3', 'sagemaker/my-endpoint'])
    expect(warned[0]?.message).toMatch(/no price for model/)
  })
})
