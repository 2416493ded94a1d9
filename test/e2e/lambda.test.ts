import { once } from 'node:events'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

/**
 * Drives the Lambda adapter the way the Lambda runtime does: payload format 2.0 events (Function
 * URL / HTTP API) and REST API events into `handler`, and a fake `awslambda` global plus a Node
 * Writable into `streamingHandler`. The adapter source is imported directly, never dist/.
 */

const MASTER_KEY = 'sk-lambda-test-key-1234'
const PROXY_CONFIG = `model_list:
  - model_name: lambda-demo
    litellm_params:
      model: mock/demo
      mock_response: "hi from lambda"
`

type LambdaModule = typeof import('../../adapters/lambda/index')
type BufferedResult = Awaited<ReturnType<LambdaModule['handler']>>

const ENV_KEYS = ['PROXY_CONFIG', 'LITELLM_MASTER_KEY', 'CONFIG_FILE_PATH', 'LITELLM_CONFIG_BUCKET_NAME']
const savedEnv = new Map(ENV_KEYS.map((k) => [k, process.env[k]]))

function setEnv(values: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
}

function restoreEnv(): void {
  for (const [k, v] of savedEnv) setEnv({ [k]: v })
}

/** A fresh copy of the adapter module, so its per-environment app cache starts empty. */
async function freshModule(): Promise<LambdaModule> {
  vi.resetModules()
  return import('../../adapters/lambda/index')
}

function v2Event(init: {
  method: string
  path: string
  query?: string
  headers?: Record<string, string>
  body?: string
  isBase64Encoded?: boolean
  cookies?: string[]
}) {
  const domain = 'abcdefghij.lambda-url.us-east-1.on.aws'
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: init.path,
    rawQueryString: init.query ?? '',
    ...(init.cookies ? { cookies: init.cookies } : {}),
    headers: {
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'https',
      host: domain,
      'user-agent': 'vitest',
      ...init.headers,
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abcdefghij',
      domainName: domain,
      domainPrefix: 'abcdefghij',
      http: {
        method: init.method,
        path: init.path,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'vitest',
      },
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      routeKey: '$default',
      stage: '$default',
      time: '12/Mar/2026:19:03:58 +0000',
      timeEpoch: 1773342238390,
    },
    ...(init.body !== undefined ? { body: init.body } : {}),
    pathParameters: null,
    isBase64Encoded: init.isBase64Encoded ?? false,
    stageVariables: null,
  }
}

const auth = (key = MASTER_KEY) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' })
const chatBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'lambda-demo', messages: [{ role: 'user', content: 'Hello' }], ...extra })

function json(result: BufferedResult): unknown {
  expect(result.isBase64Encoded).toBe(false)
  return JSON.parse(result.body)
}

describe('Lambda buffered handler', () => {
  let lambda: LambdaModule

  beforeAll(async () => {
    setEnv({
      PROXY_CONFIG,
      LITELLM_MASTER_KEY: MASTER_KEY,
      CONFIG_FILE_PATH: undefined,
      LITELLM_CONFIG_BUCKET_NAME: undefined,
    })
    lambda = await freshModule()
  })
  afterAll(restoreEnv)

  it('answers a chat completion (payload format 2.0)', async () => {
    const event = v2Event({ method: 'POST', path: '/v1/chat/completions', headers: auth(), body: chatBody() })
    const result = await lambda.handler(event)
    expect(result.statusCode).toBe(200)
    expect(result.headers['content-type']).toContain('application/json')
    expect(result.headers['x-litellm-model-id']).toMatch(/\S/)
    const body = json(result) as { choices: Array<{ message: { content: string } }> }
    expect(body.choices[0]?.message.content).toBe('hi from lambda')
  })

  it('returns the whole SSE stream for stream: true, ending with [DONE]', async () => {
    const event = v2Event({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: auth(),
      body: chatBody({ stream: true }),
    })
    const result = await lambda.handler(event)
    expect(result.statusCode).toBe(200)
    expect(result.headers['content-type']).toContain('text/event-stream')
    expect(result.isBase64Encoded).toBe(false)
    const content = result.body
      .split('\n')
      .filter((line) => line.startsWith('data: {'))
      .map((line) => JSON.parse(line.slice(6)) as { choices: Array<{ delta?: { content?: string } }> })
      .map((chunk) => chunk.choices[0]?.delta?.content ?? '')
      .join('')
    expect(content).toBe('hi from lambda')
    expect(result.body.trimEnd().endsWith('data: [DONE]')).toBe(true)
  })

  it('decodes a base64 request body', async () => {
    const event = v2Event({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: auth(),
      body: Buffer.from(chatBody()).toString('base64'),
      isBase64Encoded: true,
    })
    const result = await lambda.handler(event)
    expect(result.statusCode).toBe(200)
    const body = json(result) as { choices: Array<{ message: { content: string } }> }
    expect(body.choices[0]?.message.content).toBe('hi from lambda')
  })

  it('keeps the query string and rejoins cookies (GET /v1/models?x=1)', async () => {
    const event = v2Event({
      method: 'GET',
      path: '/v1/models',
      query: 'x=1&x=2',
      headers: { authorization: `Bearer ${MASTER_KEY}` },
      cookies: ['a=1', 'b=2'],
    })
    const result = await lambda.handler(event)
    expect(result.statusCode).toBe(200)
    const body = json(result) as { data: Array<{ id: string }> }
    expect(body.data.map((m) => m.id)).toContain('lambda-demo')

    const { requestFromEvent } = await import('../../adapters/lambda/event-to-request')
    const { request } = requestFromEvent(event)
    expect(request.url).toBe('https://abcdefghij.lambda-url.us-east-1.on.aws/v1/models?x=1&x=2')
    expect(request.headers.get('cookie')).toBe('a=1; b=2')
  })

  it('rejects a bad key with a 401 OpenAI error envelope', async () => {
    const event = v2Event({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: auth('sk-wrong-key-0000'),
      body: chatBody(),
    })
    const result = await lambda.handler(event)
    expect(result.statusCode).toBe(401)
    const body = json(result) as { error: { message: string; type: string; code: string } }
    expect(body.error.code).toBe('401')
    expect(body.error.message).toMatch(/Authentication Error/)
    expect(body.error.message).not.toContain('sk-wrong-key-0000')
  })

  it('answers an API Gateway REST (v1) proxy event', async () => {
    const event = {
      resource: '/{proxy+}',
      path: '/v1/chat/completions',
      httpMethod: 'POST',
      headers: {
        Authorization: `Bearer ${MASTER_KEY}`,
        'Content-Type': 'application/json',
        Host: 'api.example',
      },
      multiValueHeaders: {
        Authorization: [`Bearer ${MASTER_KEY}`],
        'Content-Type': ['application/json'],
        Host: ['api.example'],
      },
      queryStringParameters: { debug: '1' },
      multiValueQueryStringParameters: { debug: ['1'] },
      pathParameters: { proxy: 'v1/chat/completions' },
      stageVariables: null,
      requestContext: { stage: 'prod', domainName: 'api.example', path: '/prod/v1/chat/completions' },
      body: chatBody(),
      isBase64Encoded: false,
    }
    const result = await lambda.handler(event)
    expect(result.statusCode).toBe(200)
    expect(result.headers['x-litellm-model-id']).toMatch(/\S/)
    const body = json(result) as { choices: Array<{ message: { content: string } }> }
    expect(body.choices[0]?.message.content).toBe('hi from lambda')
  })

  it('fails clearly on an event that is not an HTTP event', async () => {
    await expect(lambda.handler({ source: 'aws.events' })).rejects.toThrow(/unsupported Lambda event/)
  })

  it('refuses streamingHandler invocations outside the Lambda runtime', async () => {
    const sink = new Writable({ write: (_c, _e, cb) => cb() })
    await expect(
      lambda.streamingHandler(v2Event({ method: 'GET', path: '/health/liveliness' }), sink),
    ).rejects.toThrow(/awslambda global is missing/)
  })
})

describe('Lambda adapter start-up', () => {
  afterAll(restoreEnv)

  it('answers 500 with an error envelope when the config is broken, and retries on the next call', async () => {
    setEnv({ PROXY_CONFIG: 'model_list: [', LITELLM_MASTER_KEY: MASTER_KEY })
    const lambda = await freshModule()
    const errors = vi.spyOn(console, 'log').mockImplementation(() => {})
    const event = () => v2Event({ method: 'GET', path: '/v1/models', headers: auth() })
    try {
      const broken = await lambda.handler(event())
      expect(broken.statusCode).toBe(500)
      expect((json(broken) as { error: { message: string } }).error.message).toMatch(/configuration/)
    } finally {
      errors.mockRestore()
    }
    setEnv({ PROXY_CONFIG })
    expect((await lambda.handler(event())).statusCode).toBe(200)
  })

  it('refuses every call when no master key is configured', async () => {
    setEnv({ PROXY_CONFIG, LITELLM_MASTER_KEY: undefined })
    const warn = vi.spyOn(console, 'log').mockImplementation(() => {})
    try {
      const lambda = await freshModule()
      const result = await lambda.handler(v2Event({ method: 'GET', path: '/v1/models', headers: auth() }))
      expect(result.statusCode).toBe(401)
    } finally {
      warn.mockRestore()
    }
  })

  it('waits for background work before the handler returns', async () => {
    const { backgroundWork } = await import('../../adapters/lambda/background-work')
    const { createLogger } = await import('../../src/observability/logger')
    const lines: string[] = []
    const work = backgroundWork(createLogger('info', (line) => lines.push(line)))
    const done: string[] = []
    work.waitUntil(
      new Promise<void>((resolve) =>
        setTimeout(() => {
          done.push('first')
          // Work scheduled by background work is waited for too.
          work.waitUntil(Promise.resolve().then(() => void done.push('second')))
          resolve()
        }, 10),
      ),
    )
    work.waitUntil(Promise.reject(new Error('spend log write failed')))
    await work.settle()
    expect(done).toEqual(['first', 'second'])
    expect(lines.join('\n')).toContain('background work failed')
  })
})

describe('Lambda streaming handler (fake awslambda runtime)', () => {
  const preludes: unknown[] = []

  beforeAll(() => {
    setEnv({ PROXY_CONFIG, LITELLM_MASTER_KEY: MASTER_KEY })
    Reflect.set(globalThis, 'awslambda', {
      streamifyResponse: (fn: unknown) => fn,
      HttpResponseStream: {
        from(stream: Writable, prelude: unknown) {
          preludes.push(prelude)
          return stream
        },
      },
    })
  })
  afterAll(() => {
    Reflect.deleteProperty(globalThis, 'awslambda')
    restoreEnv()
  })

  /** A slow Writable (async callbacks, 1-byte high-water mark) so write() asks for back-pressure. */
  function recordingStream() {
    const chunks: Buffer[] = []
    let writes = 0
    let backpressure = 0
    const stream = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _encoding, callback) {
        writes++
        chunks.push(Buffer.from(chunk))
        setImmediate(callback)
      },
    })
    const write = stream.write.bind(stream)
    stream.write = ((chunk: Uint8Array) => {
      const ok = write(chunk)
      if (!ok) backpressure++
      return ok
    }) as typeof stream.write
    return {
      stream,
      text: () => Buffer.concat(chunks).toString('utf8'),
      stats: () => ({ writes, backpressure }),
      finished: () => (stream.writableFinished ? Promise.resolve() : once(stream, 'finish').then(() => {})),
    }
  }

  it('streams SSE chunks after a 200 text/event-stream prelude', async () => {
    const lambda = await freshModule()
    const sink = recordingStream()
    const event = v2Event({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: auth(),
      body: chatBody({ stream: true }),
    })
    await lambda.streamingHandler(event, sink.stream)
    await sink.finished()

    expect(preludes).toHaveLength(1)
    const prelude = preludes[0] as { statusCode: number; headers: Record<string, string> }
    expect(prelude.statusCode).toBe(200)
    expect(prelude.headers['content-type']).toContain('text/event-stream')
    expect(prelude.headers['x-litellm-model-id']).toMatch(/\S/)

    const text = sink.text()
    expect(text).toContain('"content":"hi ')
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true)
    expect(sink.stats().writes).toBeGreaterThan(1)
    expect(sink.stats().backpressure).toBeGreaterThan(0)
  })

  it('puts an error status in the prelude (bad key → 401)', async () => {
    preludes.length = 0
    const lambda = await freshModule()
    const sink = recordingStream()
    const event = v2Event({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: auth('sk-wrong-key-0000'),
      body: chatBody({ stream: true }),
    })
    await lambda.streamingHandler(event, sink.stream)
    await sink.finished()
    expect((preludes[0] as { statusCode: number }).statusCode).toBe(401)
    expect((JSON.parse(sink.text()) as { error: { code: string } }).error.code).toBe('401')
  })
})
