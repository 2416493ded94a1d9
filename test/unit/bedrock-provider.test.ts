import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'
import { describe, expect, it } from 'vitest'
import { staticAwsAccess } from '../../src/aws/aws-access'
import { encodeEventStreamMessage } from '../../src/aws/event-stream-encode'
import { GatewayError } from '../../src/errors'
import { chatRequestSchema } from '../../src/openai/chat-request'
import { bedrockProvider } from '../../src/providers/bedrock/provider'
import type { ChatDelta, Deployment, ProviderCall } from '../../src/providers/types'

const PROFILE_ARN =
  'arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-3-5-sonnet-20240620-v1:0'
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
const TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN'

const request = chatRequestSchema.parse({
  model: 'claude',
  messages: [
    { role: 'system', content: 'Be terse.' },
    { role: 'user', content: 'Hi' },
  ],
  max_tokens: 64,
})

const deployment = (params: Record<string, unknown> = {}): Deployment => ({
  id: 'd1',
  modelName: 'claude',
  provider: 'bedrock',
  providerModel: 'converse/anthropic.claude-3-5-sonnet-20240620-v1:0',
  params: {
    model: 'bedrock/converse/anthropic.claude-3-5-sonnet-20240620-v1:0',
    aws_access_key_id: 'AKIDEXAMPLE',
    aws_secret_access_key: SECRET,
    aws_session_token: TOKEN,
    aws_bedrock_runtime_endpoint: 'http://127.0.0.1:4010',
    model_id: PROFILE_ARN,
    ...params,
  },
  modelInfo: {},
})

interface Seen {
  url: string
  method: string
  headers: Headers
  body: string
  signal: AbortSignal | null | undefined
  redirect: RequestRedirect | undefined
}

/** A fake `fetch` that records the request and answers with `respond()`. */
function fakeFetch(respond: (seen: Seen) => Response | Promise<Response>): {
  fetch: typeof fetch
  seen: Seen[]
} {
  const seen: Seen[] = []
  const impl = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const s: Seen = {
      url: String(input),
      method: init?.method ?? 'GET',
      headers: new Headers(init?.headers),
      body: typeof init?.body === 'string' ? init.body : '',
      signal: init?.signal,
      redirect: init?.redirect,
    }
    seen.push(s)
    return respond(s)
  }
  return { fetch: impl as typeof fetch, seen }
}

const call = (
  fetchImpl: typeof fetch,
  params?: Record<string, unknown>,
  env = {},
  dropParams = false,
): ProviderCall => ({
  deployment: deployment(params),
  env,
  fetch: fetchImpl,
  signal: new AbortController().signal,
  dropParams,
  aws: staticAwsAccess(env),
})

/** protocols.md §4.4: recompute the signature with @smithy/signature-v4, an independent implementation. */
async function verifySignature(
  seen: Seen,
  secretAccessKey: string,
): Promise<{ service: string; region: string }> {
  const auth = seen.headers.get('authorization') ?? ''
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth)
  if (!match) throw new Error(`bad authorization header: ${auth}`)
  const [accessKeyId, , region, service] = match[1]!.split('/')
  const signedHeaders = match[2]!.split(';')
  const url = new URL(seen.url)
  const headers: Record<string, string> = {}
  for (const name of signedHeaders)
    headers[name] = name === 'host' ? url.host : (seen.headers.get(name) ?? '')
  const amzDate = seen.headers.get('x-amz-date')!
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate)!
  const signingDate = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!))
  const signer = new SignatureV4({
    service: service!,
    region: region!,
    sha256: Sha256,
    credentials: {
      accessKeyId: accessKeyId!,
      secretAccessKey,
      sessionToken: seen.headers.get('x-amz-security-token') ?? undefined,
    },
    applyChecksum: false,
    uriEscapePath: true,
  })
  const signed = await signer.sign(
    {
      method: seen.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: {},
      headers,
      body: seen.body,
    },
    { signingDate, signableHeaders: new Set(signedHeaders) },
  )
  expect(String(signed.headers.authorization)).toContain(`Signature=${match[3]}`)
  return { service: service!, region: region! }
}

const converseAnswer = {
  output: { message: { role: 'assistant', content: [{ text: 'Hello!' }] } },
  stopReason: 'end_turn',
  usage: { inputTokens: 12, outputTokens: 3, totalTokens: 15 },
  metrics: { latencyMs: 100 },
}

describe('bedrockProvider.complete', () => {
  it('POSTs a signed Converse call to the encoded ARN path and maps the answer', async () => {
    const { fetch, seen } = fakeFetch(() => Response.json(converseAnswer))
    const output = await bedrockProvider.complete(request, call(fetch))
    expect(seen).toHaveLength(1)
    const s = seen[0]!
    expect(s.method).toBe('POST')
    expect(s.url).toBe(
      'http://127.0.0.1:4010/model/arn%3Aaws%3Abedrock%3Aeu-west-1%3A123456789012%3Ainference-profile%2Feu.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse',
    )
    expect(s.headers.get('content-type')).toBe('application/json')
    expect(s.headers.get('accept')).toBe('application/json')
    expect(s.headers.get('x-amz-security-token')).toBe(TOKEN)
    expect(JSON.parse(s.body)).toEqual({
      messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
      system: [{ text: 'Be terse.' }],
      inferenceConfig: { maxTokens: 64 },
    })
    // Signed as `bedrock` in the ARN's region, and the signature verifies independently.
    expect(await verifySignature(s, SECRET)).toEqual({ service: 'bedrock', region: 'eu-west-1' })
    expect(output).toEqual({
      message: { role: 'assistant', content: 'Hello!' },
      finishReason: 'stop',
      usage: {
        prompt_tokens: 12,
        completion_tokens: 3,
        total_tokens: 15,
        prompt_tokens_details: { cached_tokens: 0 },
      },
      // The id actually called: model_id's ARN here.
      model: PROFILE_ARN,
    })
  })

  it('reports the Bedrock model id without the converse/ marker, streamed or not', async () => {
    const { fetch, seen } = fakeFetch(() => Response.json(converseAnswer))
    const output = await bedrockProvider.complete(request, call(fetch, { model_id: undefined }))
    expect(seen[0]!.url).toContain('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse')
    expect(output.model).toBe('anthropic.claude-3-5-sonnet-20240620-v1:0')
    expect(bedrockProvider.responseModel?.(deployment({ model_id: undefined }))).toBe(output.model)
    expect(bedrockProvider.responseModel?.(deployment())).toBe(PROFILE_ARN)
  })

  it('passes the call signal to fetch', async () => {
    const { fetch, seen } = fakeFetch(() => Response.json(converseAnswer))
    const c = call(fetch)
    await bedrockProvider.complete(request, c)
    expect(seen[0]!.signal).toBe(c.signal)
  })

  it('maps a Bedrock error response', async () => {
    const { fetch } = fakeFetch(
      () =>
        new Response(JSON.stringify({ message: 'Too many requests, please wait before trying again.' }), {
          status: 429,
          headers: {
            'x-amzn-ErrorType':
              'ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/',
          },
        }),
    )
    await expect(bedrockProvider.complete(request, call(fetch))).rejects.toMatchObject({
      status: 429,
      origin: 'upstream',
      message:
        'litellm.RateLimitError: BedrockException - Too many requests, please wait before trying again.',
    })
  })

  it('turns a network failure into a retryable 502 without secrets', async () => {
    // Runtimes and proxies can quote request details in a network error's message.
    const { fetch } = fakeFetch(() => {
      throw new TypeError(`connect failed for AKIDEXAMPLE:${SECRET} x-amz-security-token=${TOKEN}`)
    })
    const error = await bedrockProvider.complete(request, call(fetch)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GatewayError)
    expect((error as GatewayError).status).toBe(502)
    expect((error as GatewayError).retryable).toBe(true)
    expect((error as GatewayError).message).toBe(
      'litellm.APIConnectionError: BedrockException - could not reach 127.0.0.1:4010 (TypeError).',
    )
    expect((error as GatewayError).message).not.toContain(SECRET)
    expect((error as GatewayError).message).not.toContain(TOKEN)
  })

  it("keeps only an errno-style code from a network error's cause", async () => {
    const cause = Object.assign(new Error(`connect ECONNREFUSED ${SECRET}`), { code: 'ECONNREFUSED' })
    const { fetch } = fakeFetch(() => {
      throw new TypeError('fetch failed', { cause })
    })
    const error = await bedrockProvider.complete(request, call(fetch)).catch((e: unknown) => e)
    expect((error as GatewayError).message).toMatch(/could not reach 127\.0\.0\.1:4010 \(ECONNREFUSED\)\.$/)
    expect((error as GatewayError).message).not.toContain(SECRET)
  })

  it.each([301, 302, 307, 308])(
    'never follows a %i redirect: the signed call is made once and fails as an upstream 502',
    async (status) => {
      const { fetch, seen } = fakeFetch(
        () => new Response('moved', { status, headers: { location: 'http://evil.example/steal' } }),
      )
      const error = await bedrockProvider.complete(request, call(fetch)).catch((e: unknown) => e)
      expect(seen).toHaveLength(1)
      expect(seen[0]!.redirect).toBe('manual')
      expect(error).toBeInstanceOf(GatewayError)
      expect((error as GatewayError).status).toBe(502)
      expect((error as GatewayError).origin).toBe('upstream')
      expect((error as GatewayError).message).toMatch(
        new RegExp(`127\\.0\\.0\\.1:4010 answered with a redirect \\(HTTP ${status}\\)`),
      )
      expect((error as GatewayError).message).not.toContain('evil.example')
    },
  )

  it('treats an opaque redirect (browser-style manual mode) as a 502 too', async () => {
    const opaque = new Response(null, { status: 200 })
    Object.defineProperty(opaque, 'type', { value: 'opaqueredirect' })
    Object.defineProperty(opaque, 'status', { value: 0 })
    const { fetch } = fakeFetch(() => opaque)
    await expect(bedrockProvider.complete(request, call(fetch))).rejects.toMatchObject({
      status: 502,
      origin: 'upstream',
    })
  })

  it('lets an abort through untouched', async () => {
    const controller = new AbortController()
    const abort = new DOMException('The operation was aborted.', 'AbortError')
    const { fetch } = fakeFetch(() => {
      controller.abort()
      throw abort
    })
    const error = await bedrockProvider
      .complete(request, { ...call(fetch), signal: controller.signal })
      .catch((e: unknown) => e)
    expect(error).toBe(abort)
  })

  it('fails with a gateway 500 (not a 401) before any I/O when no credentials are configured', async () => {
    const { fetch, seen } = fakeFetch(() => Response.json(converseAnswer))
    const error = await bedrockProvider
      .complete(request, call(fetch, { aws_access_key_id: undefined, aws_secret_access_key: undefined }))
      .catch((e: unknown) => e)
    expect((error as GatewayError).status).toBe(500)
    expect((error as GatewayError).origin).toBe('gateway')
    expect((error as GatewayError).retryable).toBe(false)
    expect((error as GatewayError).message).toMatch(/deployment claude: .*aws_access_key_id/)
    expect(seen).toHaveLength(0)
  })

  it('refuses aws_role_name instead of calling Bedrock with the environment credentials', async () => {
    const { fetch, seen } = fakeFetch(() => Response.json(converseAnswer))
    const env = { AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'envsecret' }
    const params = {
      aws_access_key_id: undefined,
      aws_secret_access_key: undefined,
      aws_role_name: 'arn:aws:iam::123456789012:role/bedrock-caller',
    }
    await expect(bedrockProvider.complete(request, call(fetch, params, env))).rejects.toMatchObject({
      status: 500,
      origin: 'gateway',
      retryable: false,
      message:
        'aws_role_name is set on deployment claude but assuming roles is not supported yet; ' +
        'refusing to fall back to other credentials.',
    })
    expect(seen).toHaveLength(0)
  })

  it('rejects an unsupported LiteLLM route (converse_like/) before any I/O', async () => {
    const { fetch, seen } = fakeFetch(() => Response.json(converseAnswer))
    const c = call(fetch, { model: 'bedrock/converse_like/anthropic.claude-3-5-sonnet-20240620-v1:0' })
    c.deployment.providerModel = 'converse_like/anthropic.claude-3-5-sonnet-20240620-v1:0'
    await expect(bedrockProvider.complete(request, c)).rejects.toMatchObject({
      status: 400,
      origin: 'gateway',
      retryable: false,
      message: expect.stringMatching(
        /^Bedrock route 'converse_like\/' \(model=bedrock\/converse_like\/anthropic/,
      ),
    })
    await expect(bedrockProvider.stream(request, c)).rejects.toMatchObject({ status: 400 })
    expect(seen).toHaveLength(0)
  })

  it('rejects an invalid endpoint URL as a named gateway 500 before any I/O', async () => {
    const { fetch, seen } = fakeFetch(() => Response.json(converseAnswer))
    const error = await bedrockProvider
      .complete(request, call(fetch, { aws_bedrock_runtime_endpoint: '127.0.0.1:4010' }))
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 500, origin: 'gateway', retryable: false })
    expect((error as GatewayError).message).toMatch(
      /aws_bedrock_runtime_endpoint is not a valid http\(s\) URL/,
    )
    expect(seen).toHaveLength(0)
  })

  it('answers 400 for an unsupported parameter, or drops it when dropParams is set', async () => {
    const { fetch, seen } = fakeFetch(() => Response.json(converseAnswer))
    const seeded = chatRequestSchema.parse({ ...request, seed: 42, presence_penalty: 0.1 })
    await expect(bedrockProvider.complete(seeded, call(fetch))).rejects.toMatchObject({
      status: 400,
      param: 'seed',
      message: expect.stringContaining("bedrock does not support parameters: ['seed', 'presence_penalty']"),
    })
    expect(seen).toHaveLength(0)
    await bedrockProvider.complete(seeded, call(fetch, {}, {}, true))
    expect(seen).toHaveLength(1)
    expect(JSON.parse(seen[0]!.body)).toEqual({
      messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
      system: [{ text: 'Be terse.' }],
      inferenceConfig: { maxTokens: 64 },
    })
  })

  it('rejects a bad request with 400 before any I/O', async () => {
    const { fetch, seen } = fakeFetch(() => Response.json(converseAnswer))
    const bad = chatRequestSchema.parse({ model: 'claude', messages: [{ role: 'system', content: 'x' }] })
    await expect(bedrockProvider.complete(bad, call(fetch))).rejects.toMatchObject({ status: 400 })
    expect(seen).toHaveLength(0)
  })
})

describe('bedrockProvider.stream', () => {
  const enc = new TextEncoder()
  const frame = (eventType: string, payload: unknown) =>
    encodeEventStreamMessage(
      { ':message-type': 'event', ':event-type': eventType },
      enc.encode(JSON.stringify(payload)),
    )

  it('calls converse-stream with env credentials and yields mapped deltas', async () => {
    const frames = [
      frame('messageStart', { role: 'assistant' }),
      frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hi' } }),
      frame('messageStop', { stopReason: 'end_turn' }),
    ]
    const { fetch, seen } = fakeFetch(
      () =>
        new Response(
          new ReadableStream({
            start(controller) {
              for (const f of frames) controller.enqueue(f)
              controller.close()
            },
          }),
          { headers: { 'content-type': 'application/vnd.amazon.eventstream' } },
        ),
    )
    const env = {
      AWS_ACCESS_KEY_ID: 'AKIDENV',
      AWS_SECRET_ACCESS_KEY: 'envsecret',
      AWS_REGION: 'ap-southeast-2',
    }
    const deltas = await bedrockProvider.stream(
      request,
      call(
        fetch,
        {
          aws_access_key_id: undefined,
          aws_secret_access_key: undefined,
          aws_session_token: undefined,
          model_id: undefined,
        },
        env,
      ),
    )
    const out: ChatDelta[] = []
    for await (const d of deltas) out.push(d)
    expect(out).toEqual([{ content: 'Hi' }, { finishReason: 'stop' }])
    const s = seen[0]!
    expect(s.url).toBe(
      'http://127.0.0.1:4010/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream',
    )
    expect(s.headers.get('accept')).toBe('application/vnd.amazon.eventstream')
    expect(s.headers.get('x-amz-security-token')).toBeNull()
    expect(await verifySignature(s, 'envsecret')).toEqual({ service: 'bedrock', region: 'ap-southeast-2' })
  })

  it('rejects before returning an iterable when Bedrock answers with an error status', async () => {
    const { fetch } = fakeFetch(
      () =>
        new Response(
          JSON.stringify({ message: "You don't have access to the model with the specified model ID." }),
          {
            status: 403,
            headers: {
              'x-amzn-ErrorType':
                'AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/',
            },
          },
        ),
    )
    await expect(bedrockProvider.stream(request, call(fetch))).rejects.toMatchObject({
      status: 403,
      origin: 'upstream',
    })
  })
})
