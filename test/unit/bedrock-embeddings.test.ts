import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { staticAwsAccess } from '../../src/aws/aws-access'
import { GatewayError } from '../../src/errors'
import { parseEmbeddingRequest } from '../../src/openai/embeddings-request'
import { MAX_PARALLEL_CALLS, mapLimited } from '../../src/providers/bedrock/embeddings-call'
import { COHERE_MAX_TEXTS } from '../../src/providers/bedrock/embeddings-cohere'
import { familyOf } from '../../src/providers/bedrock/embeddings-family'
import { bedrockProvider } from '../../src/providers/bedrock/provider'
import type { Deployment, EmbeddingOutput, ProviderCall } from '../../src/providers/types'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import { fakeEmbedding } from '../fakes/bedrock-embeddings'

/** Bedrock embeddings through the provider, against the fake runtime (real HTTP, SigV4 verified). */
let fake: FakeBedrock

beforeAll(async () => {
  fake = await startFakeBedrock()
})
afterAll(async () => {
  await fake?.close()
})
beforeEach(() => fake.reset())

interface Probe {
  call: ProviderCall
  /** Most requests in flight at once. */
  peak: () => number
}

function probe(model: string, params: Record<string, unknown> = {}, dropParams = false): Probe {
  let inFlight = 0
  let peak = 0
  const deployment: Deployment = {
    id: 'e1',
    modelName: 'embed',
    provider: 'bedrock',
    providerModel: model,
    params: {
      model: `bedrock/${model}`,
      aws_region_name: fake.region,
      aws_access_key_id: fake.credentials.accessKeyId,
      aws_secret_access_key: fake.credentials.secretAccessKey,
      aws_bedrock_runtime_endpoint: fake.url,
      ...params,
    },
    modelInfo: {},
  }
  const counting: typeof fetch = async (input, init) => {
    inFlight++
    peak = Math.max(peak, inFlight)
    try {
      const response = await fetch(input, init)
      await response.clone().arrayBuffer()
      return response
    } finally {
      inFlight--
    }
  }
  return {
    call: {
      deployment,
      env: {},
      fetch: counting,
      signal: new AbortController().signal,
      dropParams,
      aws: staticAwsAccess({}),
    },
    peak: () => peak,
  }
}

const embed = (
  model: string,
  body: Record<string, unknown>,
  params?: Record<string, unknown>,
  drop = false,
) => {
  const p = probe(model, params, drop)
  return bedrockProvider.embed!(parseEmbeddingRequest({ model: 'embed', ...body }), p.call)
}

const failure = (promise: Promise<EmbeddingOutput>) =>
  promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  )

describe('Titan Text Embeddings', () => {
  it('v1: one signed InvokeModel per input, in parallel, vectors in input order, tokens summed', async () => {
    const inputs = Array.from({ length: 20 }, (_, i) =>
      `sentence number ${i} ${'word '.repeat(i % 3)}`.trim(),
    )
    const p = probe('amazon.titan-embed-text-v1')
    const output = await bedrockProvider.embed!(
      parseEmbeddingRequest({ model: 'embed', input: inputs }),
      p.call,
    )
    expect(output.vectors).toEqual(inputs.map((text) => fakeEmbedding(text, 1536)))
    const words = inputs.reduce((n, t) => n + t.split(/\s+/).length, 0)
    expect(output.usage).toEqual({ prompt_tokens: words, total_tokens: words })
    expect(output.usageEstimated).toBeUndefined()
    expect(output.model).toBe('amazon.titan-embed-text-v1')
    expect(fake.requests).toHaveLength(20)
    for (const r of fake.requests) {
      expect(r.auth).toEqual({ ok: true })
      expect(r.operation).toBe('invoke')
      expect(r.rawPath).toBe('/model/amazon.titan-embed-text-v1/invoke')
      expect(Object.keys(r.body as object)).toEqual(['inputText'])
    }
    expect(fake.requests.map((r) => (r.body as { inputText: string }).inputText).sort()).toEqual(
      [...inputs].sort(),
    )
    expect(p.peak()).toBeGreaterThan(1)
    expect(p.peak()).toBeLessThanOrEqual(MAX_PARALLEL_CALLS)
  })

  it('v2: dimensions and normalize from the request, or the deployment defaults', async () => {
    const output = await embed('amazon.titan-embed-text-v2:0', {
      input: 'hello world',
      dimensions: 256,
      normalize: false,
    })
    expect(output.vectors).toEqual([fakeEmbedding('hello world', 256, false)])
    expect(fake.requests[0]?.body).toEqual({ inputText: 'hello world', dimensions: 256, normalize: false })
    const byDefault = await embed('amazon.titan-embed-text-v2:0', { input: 'hi' }, { dimensions: 512 })
    expect(byDefault.vectors[0]).toHaveLength(512)
    // normalize defaults to true at Bedrock: unit length.
    expect(Math.hypot(...(byDefault.vectors[0] ?? []))).toBeCloseTo(1, 5)
  })

  it('v2: Bedrock refuses an invalid size with a 400 the client sees', async () => {
    const error = await failure(embed('amazon.titan-embed-text-v2:0', { input: 'x', dimensions: 300 }))
    expect(error).toMatchObject({
      status: 400,
      message: expect.stringMatching(/^litellm.BadRequestError: BedrockException - Malformed/),
    })
  })

  it('v1: dimensions is an unsupported parameter (400) unless drop_params', async () => {
    const error = await failure(embed('amazon.titan-embed-text-v1', { input: 'x', dimensions: 256 }))
    expect(error).toMatchObject({ status: 400, param: 'dimensions' })
    expect(fake.requests).toHaveLength(0)
    const dropped = await embed('amazon.titan-embed-text-v1', { input: 'x', dimensions: 256 }, {}, true)
    expect(dropped.vectors[0]).toHaveLength(1536)
    expect(fake.requests[0]?.body).toEqual({ inputText: 'x' })
  })

  it('works through a cross-region profile and the invoke/ marker', async () => {
    const output = await embed('invoke/us.amazon.titan-embed-text-v2:0', { input: 'a b' })
    expect(output.vectors[0]).toHaveLength(1024)
    expect(fake.requests[0]?.rawPath).toBe('/model/us.amazon.titan-embed-text-v2%3A0/invoke')
  })

  it('the first failure is the answer and cancels the calls still waiting', async () => {
    fake.setHandler(() => ({ type: 'default', delayMs: 30 }))
    fake.script({ type: 'error', errorType: 'ThrottlingException' })
    const inputs = Array.from({ length: 40 }, (_, i) => `t${i}`)
    const error = await failure(embed('amazon.titan-embed-text-v1', { input: inputs }))
    expect(error).toBeInstanceOf(GatewayError)
    expect((error as GatewayError).status).toBe(429)
    // Not all 40 were sent: the rest were never started.
    expect(fake.requests.length).toBeLessThan(40)
  })
})

describe('Cohere Embed', () => {
  it(`batches ${COHERE_MAX_TEXTS} texts per call, input_type search_document by default, tokens from the header`, async () => {
    const inputs = Array.from({ length: 100 }, (_, i) => `doc ${i}`)
    const output = await embed('cohere.embed-english-v3', { input: inputs })
    expect(fake.requests.map((r) => (r.body as { texts: string[] }).texts.length).sort()).toEqual([4, 96])
    for (const r of fake.requests) expect(r.body).toMatchObject({ input_type: 'search_document' })
    expect(output.vectors).toEqual(inputs.map((t) => fakeEmbedding(`search_document:${t}`, 1024)))
    // Bedrock's X-Amzn-Bedrock-Input-Token-Count header (the fake counts words): 2 per text.
    expect(output.usage).toEqual({ prompt_tokens: 200, total_tokens: 200 })
    expect(output.usageEstimated).toBeUndefined()
  })

  it('passes input_type and truncate through; v3 has no dimensions, v4 maps them to output_dimension', async () => {
    const output = await embed('cohere.embed-multilingual-v3', {
      input: ['query'],
      input_type: 'search_query',
      truncate: 'END',
    })
    expect(fake.requests[0]?.body).toEqual({ texts: ['query'], input_type: 'search_query', truncate: 'END' })
    expect(output.vectors[0]).toEqual(fakeEmbedding('search_query:query', 1024))
    expect(await failure(embed('cohere.embed-english-v3', { input: 'x', dimensions: 256 }))).toMatchObject({
      status: 400,
    })
    fake.reset()
    const v4 = await embed('cohere.embed-v4:0', { input: ['a', 'b'], dimensions: 256 })
    expect(fake.requests[0]?.body).toMatchObject({ output_dimension: 256 })
    // v4 answers embeddings by type.
    expect(v4.vectors.map((v) => v.length)).toEqual([256, 256])
  })

  it('estimates usage (flagged) when Bedrock counts nothing', async () => {
    fake.script({
      type: 'json',
      body: { embeddings: [[0.5, 0.25]], id: 'x', response_type: 'embeddings_floats', texts: ['abcdefgh'] },
    })
    const output = await embed('cohere.embed-english-v3', { input: 'abcdefgh' })
    expect(output.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 })
    expect(output.usageEstimated).toBe(true)
  })

  it('is a 502 when the answer holds fewer vectors than texts', async () => {
    fake.script({ type: 'json', body: { embeddings: [[0.5]], texts: ['a', 'b'] } })
    expect(await failure(embed('cohere.embed-english-v3', { input: ['a', 'b'] }))).toMatchObject({
      status: 502,
    })
  })
})

describe('requests the Bedrock embedding models cannot take', () => {
  it('token arrays: 400 before any call', async () => {
    expect(await failure(embed('amazon.titan-embed-text-v1', { input: [1, 2, 3] }))).toMatchObject({
      status: 400,
      param: 'input',
    })
    expect(fake.requests).toHaveLength(0)
  })

  it('a chat model: 400 naming the supported models, before any call', async () => {
    const error = await failure(embed('anthropic.claude-3-haiku-20240307-v1:0', { input: 'x' }))
    expect(error).toMatchObject({ status: 400, param: 'model' })
    expect((error as GatewayError).message).toMatch(
      /not a Bedrock embedding model .*amazon\.titan-embed-text-v1/,
    )
    expect(fake.requests).toHaveLength(0)
  })
})

describe('familyOf', () => {
  it.each([
    ['amazon.titan-embed-text-v1', { kind: 'titan', version: 1 }],
    ['amazon.titan-embed-g1-text-02', { kind: 'titan', version: 1 }],
    ['amazon.titan-embed-text-v2:0', { kind: 'titan', version: 2 }],
    ['cohere.embed-english-v3', { kind: 'cohere', version: 3 }],
    ['cohere.embed-v4:0', { kind: 'cohere', version: 4 }],
    ['amazon.titan-text-express-v1', undefined],
  ])('%s', (model, family) => {
    expect(familyOf(model)).toEqual(family)
  })
})

describe('mapLimited', () => {
  it('keeps order, never runs more than the limit, and stops starting work after a failure', async () => {
    let running = 0
    let peak = 0
    const started: number[] = []
    const out = await mapLimited([5, 1, 4, 2, 3], 2, new AbortController().signal, async (n) => {
      started.push(n)
      running++
      peak = Math.max(peak, running)
      await new Promise((r) => setTimeout(r, n * 3))
      running--
      return n * 10
    })
    expect(out).toEqual([50, 10, 40, 20, 30])
    expect(peak).toBe(2)
    const seen: number[] = []
    const signals: AbortSignal[] = []
    const error = await mapLimited([1, 2, 3, 4, 5, 6], 2, new AbortController().signal, async (n, signal) => {
      seen.push(n)
      signals.push(signal)
      if (n === 2) throw new Error('boom')
      await new Promise((r) => setTimeout(r, 20))
      return n
    }).catch((e: unknown) => e)
    expect((error as Error).message).toBe('boom')
    expect(seen.length).toBeLessThan(6)
    expect(signals[0]?.aborted).toBe(true)
  })
})
