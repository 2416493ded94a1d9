import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { staticAwsAccess } from '../../src/aws/aws-access'
import type { Env } from '../../src/env'
import { GatewayError } from '../../src/errors'
import { chatRequestSchema } from '../../src/openai/chat-request'
import { openaiCompatibleProvider as provider } from '../../src/providers/openai-compatible/provider'
import { providerFor } from '../../src/providers/registry'
import type { ChatDelta, Deployment, ProviderCall } from '../../src/providers/types'
import { type FakeOpenAI, startFakeOpenAI } from '../fakes/openai-upstream'

/** The provider over real HTTP against the fake OpenAI-compatible server. */
const KEY = 'sk-test-UPSTREAMKEY-0123456789'
let fake: FakeOpenAI

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: KEY })
})
afterAll(async () => {
  await fake?.close()
})
beforeEach(() => fake.reset())

const deployment = (params: Record<string, unknown> = {}, provider = 'openai'): Deployment => ({
  id: 'd1',
  modelName: 'gpt',
  provider,
  providerModel: 'gpt-4o-mini',
  params: { model: `${provider}/gpt-4o-mini`, api_base: fake.url, api_key: KEY, ...params },
  modelInfo: {},
})

const call = (
  d: Deployment = deployment(),
  env: Env = {},
  signal = new AbortController().signal,
): ProviderCall => ({
  deployment: d,
  env,
  fetch,
  signal,
  dropParams: false,
  aws: staticAwsAccess(env),
})

const request = (extra: Record<string, unknown> = {}) =>
  chatRequestSchema.parse({ model: 'gpt', messages: [{ role: 'user', content: 'Hello there' }], ...extra })

const weatherTool = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
}

async function collect(iterable: AsyncIterable<ChatDelta>): Promise<ChatDelta[]> {
  const out: ChatDelta[] = []
  for await (const d of iterable) out.push(d)
  return out
}

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof GatewayError) return error
    throw error
  }
  throw new Error('expected a GatewayError')
}

/** Deltas folded into the pieces a client assembles. */
function assemble(deltas: ChatDelta[]) {
  const tools = new Map<number, { id?: string; name: string; arguments: string }>()
  let content = ''
  let finish: string | undefined
  let usage: ChatDelta['usage']
  for (const d of deltas) {
    content += d.content ?? ''
    for (const t of d.toolCalls ?? []) {
      const entry = tools.get(t.index) ?? { name: '', arguments: '' }
      if (t.id) entry.id = t.id
      entry.name += t.function.name ?? ''
      entry.arguments += t.function.arguments
      tools.set(t.index, entry)
    }
    finish = d.finishReason ?? finish
    usage = d.usage ?? usage
  }
  return { content, tools: [...tools.values()], finish, usage }
}

describe('complete', () => {
  it('POSTs the OpenAI body to <api_base>/chat/completions with the bearer key and maps the answer', async () => {
    const output = await provider.complete(request({ max_tokens: 50, metadata: { x: 1 } }), call())
    expect(output.message).toEqual({ role: 'assistant', content: 'You said: Hello there' })
    expect(output.finishReason).toBe('stop')
    expect(output.usage).toEqual({ prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 })
    expect(output.model).toBe('gpt-4o-mini-fake-0001')
    const [seen] = fake.requests
    expect(seen?.path).toBe('/v1/chat/completions')
    expect(seen?.authorization).toBe(`Bearer ${KEY}`)
    expect(seen?.headers['content-type']).toBe('application/json')
    expect(seen?.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Hello there' }],
      max_tokens: 50,
    })
  })

  it('returns tool calls', async () => {
    const output = await provider.complete(
      request({ messages: [{ role: 'user', content: 'weather in Paris?' }], tools: [weatherTool] }),
      call(),
    )
    expect(output.finishReason).toBe('tool_calls')
    expect(output.message.tool_calls).toEqual([
      {
        id: expect.stringMatching(/^call_/),
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
      },
    ])
    expect(fake.requests[0]?.body?.tools).toEqual([weatherTool])
  })

  it('keeps a query string of api_base and sends extra_headers and organization', async () => {
    await provider.complete(
      request(),
      call(
        deployment({
          api_base: `${fake.url}/?tenant=a`,
          extra_headers: { 'x-team': 'blue' },
          organization: 'org-1',
        }),
      ),
    )
    const [seen] = fake.requests
    expect(seen?.path).toBe('/v1/chat/completions?tenant=a')
    expect(seen?.headers['x-team']).toBe('blue')
    expect(seen?.headers['openai-organization']).toBe('org-1')
  })

  it('maps an upstream 429 with retry-after to a retryable RateLimitError', async () => {
    fake.script({
      type: 'error',
      status: 429,
      message: 'Rate limit reached for gpt-4o-mini',
      headers: { 'retry-after': '12' },
    })
    const error = await rejection(provider.complete(request(), call()))
    expect(error.status).toBe(429)
    expect(error.retryAfter).toBe(12)
    expect(error.retryable).toBe(true)
    expect(error.message).toBe(
      'litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached for gpt-4o-mini',
    )
  })

  it('reports a wrong key as 401 without repeating it', async () => {
    const wrong = 'sk-wrong-key-abcdefgh'
    const error = await rejection(provider.complete(request(), call(deployment({ api_key: wrong }))))
    expect(error.status).toBe(401)
    expect(error.message).toMatch(
      /^litellm\.AuthenticationError: AuthenticationError: OpenAIException - Incorrect API key/,
    )
    expect(error.message).not.toContain(wrong)
  })

  it('answers 502 naming only the host when the upstream is unreachable', async () => {
    const closed = await startFakeOpenAI()
    const base = `${closed.url}/secret-path?token=abc`
    await closed.close()
    const error = await rejection(provider.complete(request(), call(deployment({ api_base: base }))))
    expect(error.status).toBe(502)
    expect(error.retryable).toBe(true)
    expect(error.message).toMatch(
      /^litellm\.APIConnectionError: APIConnectionError: OpenAIException - could not reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)\.$/,
    )
    expect(error.message).not.toMatch(/secret-path|token|sk-/)
  })

  it('does not follow redirects (the key would travel along)', async () => {
    const elsewhere = await startFakeOpenAI()
    try {
      fake.script({ type: 'redirect', location: `${elsewhere.url}/chat/completions`, status: 307 })
      const error = await rejection(provider.complete(request(), call()))
      expect(error.status).toBe(502)
      expect(error.message).toContain('answered with a redirect (HTTP 307)')
      expect(elsewhere.requests).toHaveLength(0)
    } finally {
      await elsewhere.close()
    }
  })

  it('answers 502 for a 200 that is not JSON', async () => {
    fake.script({ type: 'json', body: 'not an object' })
    const error = await rejection(provider.complete(request(), call()))
    expect(error.status).toBe(502)
  })

  it('lets an abort through untouched', async () => {
    fake.script({ type: 'hang' })
    const controller = new AbortController()
    const pending = provider.complete(request(), call(deployment(), {}, controller.signal))
    setTimeout(() => controller.abort(new DOMException('gone', 'AbortError')), 50)
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('refuses a bad request before anything is sent', async () => {
    const error = await rejection(provider.complete(request({ api_base: 'http://attacker' }), call()))
    expect(error.status).toBe(400)
    expect(fake.requests).toHaveLength(0)
  })
})

describe('configuration', () => {
  it('refuses metadata endpoints as api_base, naming the key not the value', async () => {
    for (const base of [
      'http://169.254.169.254/latest',
      'http://[fd00:ec2::254]/v1',
      'http://169.254.170.2/v1',
    ]) {
      const d = deployment({ api_base: base }, 'hosted_vllm')
      const error = await rejection(provider.complete(request(), call(d)))
      expect(error.status).toBe(500)
      expect(error.message).toContain('api_base points at a cloud metadata endpoint')
      expect(error.message).not.toContain(base)
      expect(() => provider.apiBase?.(d, {})).toThrow(GatewayError)
    }
    const fromEnv = deployment({ api_base: undefined }, 'hosted_vllm')
    const error = await rejection(
      provider.complete(request(), call(fromEnv, { HOSTED_VLLM_API_BASE: 'http://169.254.169.254' })),
    )
    expect(error.message).toContain('HOSTED_VLLM_API_BASE points at a cloud metadata endpoint')
  })

  it('requires an api_base for hosted_vllm, litellm_proxy, custom_openai and openai_like', async () => {
    for (const prefix of ['hosted_vllm', 'litellm_proxy', 'custom_openai', 'openai_like']) {
      const error = await rejection(
        provider.complete(request(), call(deployment({ api_base: undefined }, prefix))),
      )
      expect(error.status).toBe(500)
      expect(error.message).toContain(`${prefix}/ deployments need api_base`)
    }
  })

  it('refuses api_base with user info or a non-http scheme', async () => {
    const withUser = await rejection(
      provider.complete(request(), call(deployment({ api_base: 'http://user:pw@vllm:8000/v1' }))),
    )
    expect(withUser.message).toContain('must not contain user info')
    expect(withUser.message).not.toContain('pw')
    const ftp = await rejection(provider.complete(request(), call(deployment({ api_base: 'ftp://vllm/v1' }))))
    expect(ftp.message).toContain('not an absolute http(s) URL')
  })

  it('takes the base and key of openai/ from OPENAI_BASE_URL and OPENAI_API_KEY', async () => {
    const d = deployment({ api_base: undefined, api_key: undefined })
    await provider.complete(request(), call(d, { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: KEY }))
    expect(fake.requests[0]?.authorization).toBe(`Bearer ${KEY}`)
    expect(provider.apiBase?.(deployment({ api_base: undefined }), {})).toBe('https://api.openai.com/v1')
  })

  it('fails openai/ without any key as LiteLLM does, before calling', async () => {
    const error = await rejection(provider.complete(request(), call(deployment({ api_key: undefined }))))
    expect(error.status).toBe(401)
    expect(error.message).toContain('OPENAI_API_KEY environment variable')
    expect(fake.requests).toHaveLength(0)
  })

  it('sends no Authorization to a keyless hosted_vllm, and never OPENAI_API_KEY', async () => {
    const open = await startFakeOpenAI()
    try {
      const d = deployment({ api_base: open.url, api_key: undefined }, 'hosted_vllm')
      await provider.complete(request(), call(d, { OPENAI_API_KEY: 'sk-openai-should-not-leak' }))
      expect(open.requests[0]?.authorization).toBeUndefined()
      await provider.complete(request(), call(d, { HOSTED_VLLM_API_KEY: 'vllm-key' }))
      expect(open.requests[1]?.authorization).toBe('Bearer vllm-key')
    } finally {
      await open.close()
    }
  })

  it('reports api_base without query string and the deployment model', () => {
    expect(provider.apiBase?.(deployment({ api_base: 'http://vllm:8000/v1/?k=secret#x' }), {})).toBe(
      'http://vllm:8000/v1',
    )
    expect(provider.responseModel?.(deployment())).toBe('gpt-4o-mini')
  })

  it('is registered for every OpenAI-compatible prefix', () => {
    for (const prefix of ['openai', 'hosted_vllm', 'litellm_proxy', 'custom_openai', 'openai_like']) {
      expect(providerFor(deployment({}, prefix), request())).toBe(provider)
    }
  })
})

describe('stream', () => {
  it('streams SSE split at awkward boundaries, with keep-alives and CRLF, asking for usage', async () => {
    fake.script({
      type: 'stream',
      keepAlive: true,
      crlf: true,
      reply: { text: 'Grüße aus Köln 😀 und mehr' },
    })
    const deltas = await collect(await provider.stream(request({ stream: true }), call()))
    const result = assemble(deltas)
    expect(result.content).toBe('Grüße aus Köln 😀 und mehr')
    expect(result.finish).toBe('stop')
    expect(result.usage).toEqual({ prompt_tokens: 2, completion_tokens: 6, total_tokens: 8 })
    expect(fake.requests[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } })
    expect(fake.requests[0]?.headers.accept).toBe('text/event-stream')
    // Never an empty delta.
    for (const d of deltas) expect(Object.keys(d).length).toBeGreaterThan(0)
  })

  it('streams tool calls with index, id, name and argument fragments', async () => {
    const deltas = await collect(
      await provider.stream(
        request({ stream: true, messages: [{ role: 'user', content: 'weather?' }], tools: [weatherTool] }),
        call(),
      ),
    )
    const result = assemble(deltas)
    expect(result.finish).toBe('tool_calls')
    expect(result.tools).toEqual([
      { id: expect.stringMatching(/^call_/), name: 'get_weather', arguments: '{"city":"Paris"}' },
    ])
    expect(deltas.filter((d) => d.toolCalls).length).toBeGreaterThan(2)
  })

  it('streams reasoning content', async () => {
    fake.script({ type: 'stream', reply: { text: 'answer', reasoning: 'let me think' } })
    const deltas = await collect(await provider.stream(request({ stream: true }), call()))
    expect(deltas.map((d) => d.reasoningContent ?? '').join('')).toBe('let me think')
  })

  it('fails before the first byte with the upstream status (router-retryable)', async () => {
    fake.script({ type: 'error', status: 503, message: 'overloaded' })
    const error = await rejection(provider.stream(request({ stream: true }), call()))
    expect(error.status).toBe(503)
    expect(error.retryable).toBe(true)
  })

  it('fails mid-stream on an error event and on a cut stream', async () => {
    fake.script({ type: 'stream', errorAfter: 3, error: { message: 'engine died', code: null } })
    const stream = await provider.stream(request({ stream: true }), call())
    const seen: ChatDelta[] = []
    const error = await rejection(
      (async () => {
        for await (const d of stream) seen.push(d)
      })(),
    )
    expect(error.message).toBe(
      'litellm.InternalServerError: InternalServerError: OpenAIException - engine died',
    )
    expect(seen.length).toBeGreaterThan(0)

    fake.script({ type: 'stream', truncateAfter: 2, truncateMode: 'destroy' })
    const reset = await rejection(collect(await provider.stream(request({ stream: true }), call())))
    expect(reset.status).toBe(502)
    expect(reset.message).toMatch(/failed mid-stream \(\w+\)\.$/)

    fake.script({ type: 'stream', truncateAfter: 2, truncateMode: 'end' })
    const ended = await rejection(collect(await provider.stream(request({ stream: true }), call())))
    expect(ended.status).toBe(502)
  })

  it('stops reading the upstream when the consumer stops', async () => {
    fake.script({
      type: 'stream',
      reply: { text: 'one two three four five six seven eight' },
      eventGapMs: 20,
    })
    const stream = await provider.stream(request({ stream: true }), call())
    for await (const d of stream) {
      expect(d.content).toBe('one')
      break
    }
    // The fake sees the connection go away and stops writing.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(fake.requests[0]?.streamOutcome).toBe('client-gone')
  })
})

describe('stream limits', () => {
  it('fails a stream whose line never ends with a 502 in the provider’s wording, and cancels the upstream', async () => {
    let cancelled = false
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(
          new TextEncoder().encode(`data: {"choices":[{"delta":{"content":"${'x'.repeat(64 * 1024)}`),
        )
      },
      cancel() {
        cancelled = true
      },
    })
    const endlessCall: ProviderCall = {
      ...call(),
      fetch: async () =>
        new Response(endless, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
    }
    const error = await rejection(collect(await provider.stream(request({ stream: true }), endlessCall)))
    expect(error.status).toBe(502)
    expect(error.message).toMatch(
      /^litellm\.BadGatewayError: BadGatewayError: OpenAIException - the stream sent a line longer/,
    )
    expect(cancelled).toBe(true)
  })
})

describe('embed', () => {
  it('POSTs <api_base>/embeddings asking for floats and returns vectors in input order', async () => {
    const output = await provider.embed?.(
      { model: 'emb', input: ['alpha', 'beta gamma'], encoding_format: 'base64' },
      call(deployment({}, 'hosted_vllm')),
    )
    expect(output?.vectors).toHaveLength(2)
    expect(output?.vectors[0]).toHaveLength(8)
    expect(output?.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 })
    expect(output?.model).toBe('gpt-4o-mini-fake-0001')
    const [seen] = fake.requests
    expect(seen?.path).toBe('/v1/embeddings')
    expect(seen?.authorization).toBe(`Bearer ${KEY}`)
    expect(seen?.body).toEqual({
      model: 'gpt-4o-mini',
      input: ['alpha', 'beta gamma'],
      encoding_format: 'float',
    })
  })

  it('maps embedding errors like chat errors', async () => {
    fake.script({ type: 'error', status: 400, message: "This model's maximum context length is 8192 tokens" })
    const error = await rejection(
      provider.embed?.({ model: 'emb', input: ['x'] }, call()) ?? Promise.resolve(),
    )
    expect(error.status).toBe(400)
    expect(error.message).toMatch(/^litellm\.ContextWindowExceededError: /)
  })
})
