import { EventStreamCodec } from '@smithy/eventstream-codec'
import { fromUtf8, toUtf8 } from '@smithy/util-utf8'
import { AwsClient } from 'aws4fetch'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { countInputWords, type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'
import {
  AWKWARD_PATTERN,
  chunkFrame,
  concatBytes,
  decodeEventStream,
  errorFrame,
  eventFrame,
  exceptionFrame,
  splitAwkwardly,
} from '../fakes/event-stream'

const MODEL = 'us.anthropic.claude-3-5-sonnet-20241022-v2:0'
const WEATHER_TOOL = {
  toolSpec: {
    name: 'get_weather',
    description: 'Current weather for a city',
    inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
  },
}

function userSays(text: string): Record<string, unknown> {
  return { messages: [{ role: 'user', content: [{ text }] }] }
}

/** Independent decoder for the test side: own framing loop + smithy codec (checks both CRCs). */
function smithyDecode(bytes: Uint8Array): { type: string; headers: Record<string, string>; json: unknown }[] {
  const codec = new EventStreamCodec(toUtf8, fromUtf8)
  const out: { type: string; headers: Record<string, string>; json: unknown }[] = []
  let offset = 0
  while (offset + 4 <= bytes.byteLength) {
    const total = new DataView(bytes.buffer, bytes.byteOffset + offset).getUint32(0, false)
    if (offset + total > bytes.byteLength) break
    const message = codec.decode(bytes.subarray(offset, offset + total))
    offset += total
    const headers: Record<string, string> = {}
    for (const [name, h] of Object.entries(message.headers)) headers[name] = String(h.value)
    out.push({
      type: headers[':event-type'] ?? headers[':exception-type'] ?? headers[':error-code'] ?? '',
      headers,
      json: message.body.byteLength > 0 ? JSON.parse(toUtf8(message.body)) : undefined,
    })
  }
  return out
}

async function readChunks(res: Response): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = []
  const reader = res.body!.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return chunks
    chunks.push(value)
  }
}

describe('event-stream helpers', () => {
  it('encodes the protocols.md 2.3 golden frame byte for byte', () => {
    const hex = Buffer.from(eventFrame('chunk', { bytes: 'e30=' }, { padding: false })).toString('hex')
    expect(hex).toBe(
      '0000006b0000004b6ace012d' +
        '0b3a6576656e742d747970650700056368756e6b' +
        '0d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e' +
        '0d3a6d6573736167652d747970650700056576656e74' +
        '7b226279746573223a226533303d227d' +
        '3651dbfe',
    )
    expect(Buffer.from(chunkFrame({}, { padding: false })).toString('hex')).toBe(hex)
  })

  it('adds random-length "p" padding to event payloads', () => {
    const lengths = new Set<number>()
    for (let i = 0; i < 20; i++) {
      const [frame] = smithyDecode(eventFrame('messageStart', { role: 'assistant' }))
      const json = frame!.json as { role: string; p: string }
      expect(json.role).toBe('assistant')
      expect(json.p).toMatch(/^[a-zA-Z0-9]+$/)
      lengths.add(json.p.length)
    }
    expect(lengths.size).toBeGreaterThan(1)
  })

  it('builds exception and error frames', () => {
    const [ex, er] = smithyDecode(
      concatBytes([
        exceptionFrame('modelStreamErrorException', 'boom', { originalStatusCode: 500 }),
        errorFrame('InternalFailure', 'bad'),
      ]),
    )
    expect(ex).toMatchObject({
      type: 'modelStreamErrorException',
      headers: { ':message-type': 'exception', ':content-type': 'application/json' },
      json: { message: 'boom', originalStatusCode: 500 },
    })
    expect(er).toMatchObject({
      type: 'InternalFailure',
      headers: { ':message-type': 'error', ':error-message': 'bad' },
      json: undefined,
    })
  })

  it('splits deterministically in cycling awkward sizes and reassembles', () => {
    const bytes = concatBytes([
      eventFrame('messageStart', { role: 'assistant' }),
      eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hi' } }),
      eventFrame('messageStop', { stopReason: 'end_turn' }),
    ])
    const pieces = splitAwkwardly(bytes)
    expect(pieces.slice(0, AWKWARD_PATTERN.length).map((p) => p.byteLength)).toEqual(AWKWARD_PATTERN)
    expect(concatBytes(pieces)).toEqual(bytes)
    expect(
      splitAwkwardly(bytes, [2, 5])
        .map((p) => p.byteLength)
        .slice(0, 4),
    ).toEqual([2, 5, 2, 5])
    const byteByByte = decodeEventStream(splitAwkwardly(bytes, [1]))
    expect(byteByByte.frames.map((f) => f.type)).toEqual(['messageStart', 'contentBlockDelta', 'messageStop'])
    expect(byteByByte.leftover).toBe(0)
    expect(decodeEventStream(bytes.subarray(0, bytes.byteLength - 3)).leftover).toBeGreaterThan(0)
  })

  it('fails loudly on a corrupted frame', () => {
    const frame = eventFrame('messageStart', { role: 'assistant' })
    frame[frame.byteLength - 6] = (frame[frame.byteLength - 6] ?? 0) ^ 0xff
    expect(() => decodeEventStream(frame)).toThrow()
  })
})

describe('fake Bedrock', () => {
  let fake: FakeBedrock
  let aws: AwsClient

  const call = (operation: string, body: unknown, init: RequestInit = {}, modelId = MODEL) =>
    aws.fetch(`${fake.url}/model/${encodeURIComponent(modelId)}/${operation}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...init,
    })

  beforeAll(async () => {
    fake = await startFakeBedrock()
    aws = new AwsClient({ ...fake.credentials, service: 'bedrock', region: fake.region, retries: 0 })
  })
  afterAll(async () => {
    await fake.close()
  })
  beforeEach(() => {
    fake.reset()
  })

  describe('Converse', () => {
    it('echoes the last user message with word-count usage', async () => {
      const body = {
        system: [{ text: 'You are terse.' }],
        messages: [
          { role: 'user', content: [{ text: 'Hi' }] },
          { role: 'assistant', content: [{ text: 'Hello!' }] },
          { role: 'user', content: [{ text: 'Tell me' }, { text: 'a joke' }] },
        ],
      }
      const res = await call('converse', body)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/json')
      expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/)
      const json = (await res.json()) as Record<string, unknown>
      expect(json).toMatchObject({
        output: { message: { role: 'assistant', content: [{ text: 'You said: Tell me a joke' }] } },
        stopReason: 'end_turn',
        usage: {
          inputTokens: 9,
          outputTokens: 6,
          totalTokens: 15,
          cacheReadInputTokens: 0,
          cacheWriteInputTokens: 0,
        },
        metrics: { latencyMs: expect.any(Number) },
      })
      expect(countInputWords(body)).toBe(9)
      expect(fake.requests[0]).toMatchObject({ modelId: MODEL, operation: 'converse', body, status: 200 })
    })

    it('calls the first tool for "weather" and then reads the tool result', async () => {
      const res = await call('converse', {
        ...userSays("What's the weather in Paris?"),
        toolConfig: { tools: [WEATHER_TOOL], toolChoice: { auto: {} } },
      })
      const json = (await res.json()) as {
        output: { message: { content: { toolUse: { toolUseId: string; name: string; input: unknown } }[] } }
        stopReason: string
      }
      expect(json.stopReason).toBe('tool_use')
      const toolUse = json.output.message.content[0]!.toolUse
      expect(toolUse).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } })
      expect(toolUse.toolUseId).toMatch(/^tooluse_[a-zA-Z0-9]+$/)

      const followUp = await call('converse', {
        messages: [
          { role: 'user', content: [{ text: "What's the weather in Paris?" }] },
          { role: 'assistant', content: [{ toolUse }] },
          {
            role: 'user',
            content: [{ toolResult: { toolUseId: toolUse.toolUseId, content: [{ text: '18C sunny' }] } }],
          },
        ],
        toolConfig: { tools: [WEATHER_TOOL] },
      })
      expect(await followUp.json()).toMatchObject({
        output: { message: { content: [{ text: 'Tool result: 18C sunny' }] } },
        stopReason: 'end_turn',
      })
    })

    it('honours maxTokens and stop sequences', async () => {
      const capped = await call('converse', {
        ...userSays('one two three four'),
        inferenceConfig: { maxTokens: 3 },
      })
      expect(await capped.json()).toMatchObject({
        output: { message: { content: [{ text: 'You said: one' }] } },
        stopReason: 'max_tokens',
        usage: { outputTokens: 3 },
      })
      const stopped = await call('converse', {
        ...userSays('alpha STOP beta'),
        inferenceConfig: { stopSequences: ['STOP'] },
      })
      expect(await stopped.json()).toMatchObject({
        output: { message: { content: [{ text: 'You said: alpha ' }] } },
        stopReason: 'stop_sequence',
      })
    })

    it('rejects malformed JSON, unknown models and invalid conversations with ValidationException', async () => {
      const cases: [string, unknown, string | RegExp][] = [
        ['{"messages": [', MODEL, 'Malformed input request, please reformat your input and try again.'],
        [
          JSON.stringify(userSays('hi')),
          'anthropic.unknown-model-v1:0',
          'The provided model identifier is invalid.',
        ],
        [
          JSON.stringify({
            messages: [
              { role: 'user', content: [{ text: 'a' }] },
              { role: 'user', content: [{ text: 'b' }] },
            ],
          }),
          MODEL,
          /^A conversation must alternate between user and assistant roles/,
        ],
        [JSON.stringify(userSays('  ')), MODEL, /is blank/],
        [
          JSON.stringify({ messages: [{ role: 'assistant', content: [{ text: 'x' }] }] }),
          MODEL,
          /must start with a user message/,
        ],
      ]
      for (const [body, modelId, message] of cases) {
        const res = await call('converse', body, {}, String(modelId))
        expect(res.status).toBe(400)
        expect(res.headers.get('x-amzn-errortype')).toBe(
          'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/',
        )
        expect(((await res.json()) as { message: string }).message).toMatch(message)
      }
    })

    it('answers invoke with ValidationException for now and unknown routes with 404', async () => {
      expect((await call('invoke', { anthropic_version: 'bedrock-2023-05-31' })).status).toBe(400)
      const res = await aws.fetch(`${fake.url}/model/${encodeURIComponent(MODEL)}/count-tokens`, {
        method: 'POST',
        body: '{}',
      })
      expect(res.status).toBe(404)
    })
  })

  describe('ConverseStream', () => {
    it('streams the real event order in many awkward chunks', async () => {
      const res = await call('converse-stream', userSays('Hello there friend'))
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/vnd.amazon.eventstream')
      const chunks = await readChunks(res)
      const bytes = concatBytes(chunks)
      const events = smithyDecode(bytes)
      expect(chunks.length).toBeGreaterThan(events.length)
      expect(events.map((e) => e.type)).toEqual([
        'messageStart',
        'contentBlockDelta',
        'contentBlockDelta',
        'contentBlockDelta',
        'contentBlockDelta',
        'contentBlockDelta',
        'contentBlockStop',
        'messageStop',
        'metadata',
      ])
      for (const e of events) {
        expect(e.headers).toMatchObject({ ':message-type': 'event', ':content-type': 'application/json' })
        expect((e.json as { p: unknown }).p).toEqual(expect.any(String))
      }
      const text = events
        .filter((e) => e.type === 'contentBlockDelta')
        .map((e) => (e.json as { delta: { text: string } }).delta.text)
        .join('')
      expect(text).toBe('You said: Hello there friend')
      expect(events[7]!.json).toMatchObject({ stopReason: 'end_turn' })
      expect(events[8]!.json).toMatchObject({
        usage: { inputTokens: 3, outputTokens: 5, totalTokens: 8 },
        metrics: { latencyMs: expect.any(Number) },
      })
    })

    it('streams tool use with contentBlockStart and string input fragments', async () => {
      const res = await call('converse-stream', {
        ...userSays('weather please'),
        toolConfig: { tools: [WEATHER_TOOL] },
      })
      const events = smithyDecode(concatBytes(await readChunks(res)))
      expect(events.map((e) => e.type)).toEqual([
        'messageStart',
        'contentBlockStart',
        'contentBlockDelta',
        'contentBlockDelta',
        'contentBlockDelta',
        'contentBlockStop',
        'messageStop',
        'metadata',
      ])
      expect(events[1]!.json).toMatchObject({
        contentBlockIndex: 0,
        start: { toolUse: { name: 'get_weather', toolUseId: expect.stringMatching(/^tooluse_/) } },
      })
      const input = events
        .filter((e) => e.type === 'contentBlockDelta')
        .map((e) => (e.json as { delta: { toolUse: { input: string } } }).delta.toolUse.input)
      expect(input.length).toBeGreaterThan(1)
      expect(JSON.parse(input.join(''))).toEqual({ city: 'Paris' })
      expect(events[6]!.json).toMatchObject({ stopReason: 'tool_use' })
    })

    it('streams scripted replies: text then tool, indices 0 and 1', async () => {
      fake.script({
        type: 'reply',
        text: 'Let me check.',
        toolUses: [{ toolUseId: 'tooluse_fixed', name: 'get_weather', input: { city: 'Oslo' } }],
        usage: { inputTokens: 100, outputTokens: 7 },
      })
      const events = smithyDecode(concatBytes(await readChunks(await call('converse-stream', userSays('x')))))
      const types = events.map((e) => e.type)
      expect(types.indexOf('contentBlockStart')).toBe(types.indexOf('contentBlockStop') + 1)
      expect(events.find((e) => e.type === 'contentBlockStart')?.json).toMatchObject({
        contentBlockIndex: 1,
        start: { toolUse: { toolUseId: 'tooluse_fixed' } },
      })
      expect(events.at(-1)?.json).toMatchObject({
        usage: { inputTokens: 100, outputTokens: 7, totalTokens: 107 },
      })
    })
  })

  describe('error injection', () => {
    it('returns a scripted HTTP error once, then the default again', async () => {
      fake.script({ type: 'error', errorType: 'ThrottlingException' })
      const res = await call('converse', userSays('hi'))
      expect(res.status).toBe(429)
      expect(res.headers.get('x-amzn-errortype')).toBe(
        'ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/',
      )
      expect(await res.json()).toEqual({ message: 'Too many requests, please wait before trying again.' })
      expect((await call('converse', userSays('hi'))).status).toBe(200)
    })

    it('supports explicit status, extra members and a missing x-amzn-ErrorType', async () => {
      fake.script(
        {
          type: 'error',
          errorType: 'ModelErrorException',
          message: 'bad',
          extra: { originalStatusCode: 500 },
        },
        { type: 'error', errorType: 'InternalServerException', status: 500, omitErrorTypeHeader: true },
      )
      const first = await call('converse', userSays('hi'))
      expect(first.status).toBe(424)
      expect(await first.json()).toEqual({ message: 'bad', originalStatusCode: 500 })
      const second = await call('converse', userSays('hi'))
      expect(second.status).toBe(500)
      expect(second.headers.get('x-amzn-errortype')).toBeNull()
    })

    it('lets a handler pick responses per request', async () => {
      fake.setHandler((req) =>
        req.modelId?.startsWith('eu.')
          ? { type: 'error', errorType: 'ServiceUnavailableException' }
          : undefined,
      )
      expect((await call('converse', userSays('hi'), {}, 'eu.anthropic.claude-v2:1')).status).toBe(503)
      expect((await call('converse', userSays('hi'))).status).toBe(200)
    })

    it('sends an exception frame mid-stream after N events', async () => {
      fake.script({
        type: 'stream',
        exceptionAfter: 2,
        exception: {
          type: 'modelStreamErrorException',
          message: 'overloaded',
          extra: { originalStatusCode: 529 },
        },
      })
      const res = await call('converse-stream', userSays('one two three'))
      expect(res.status).toBe(200)
      const decoded = decodeEventStream(await readChunks(res))
      expect(decoded.leftover).toBe(0)
      expect(decoded.frames.map((f) => `${f.messageType}:${f.type}`)).toEqual([
        'event:messageStart',
        'event:contentBlockDelta',
        'exception:modelStreamErrorException',
      ])
      expect(decoded.frames[2]!.json).toEqual({ message: 'overloaded', originalStatusCode: 529 })
    })

    it('truncates a stream in the middle of a frame', async () => {
      fake.script({ type: 'stream', truncateAfter: 3 })
      const decoded = decodeEventStream(await readChunks(await call('converse-stream', userSays('a b c d'))))
      expect(decoded.frames).toHaveLength(3)
      expect(decoded.leftover).toBeGreaterThan(0)
    })

    it('can kill the connection mid-frame', async () => {
      fake.script({ type: 'stream', truncateAfter: 2, truncateMode: 'destroy' })
      const res = await call('converse-stream', userSays('a b c d'))
      await expect(readChunks(res)).rejects.toThrow()
    })

    it('delays the answer (client timeout) and can hang forever', async () => {
      fake.script({ type: 'default', delayMs: 1_000 }, { type: 'hang' })
      const started = Date.now()
      await expect(call('converse', userSays('hi'), { signal: AbortSignal.timeout(150) })).rejects.toThrow()
      expect(Date.now() - started).toBeLessThan(900)
      await expect(call('converse', userSays('hi'), { signal: AbortSignal.timeout(150) })).rejects.toThrow()
      expect(fake.requests).toHaveLength(2)
    })

    it('hangs a stream after N events', async () => {
      fake.script({ type: 'stream', hangAfter: 2, split: false })
      const controller = new AbortController()
      const res = await call('converse-stream', userSays('a b c'), { signal: controller.signal })
      const reader = res.body!.getReader()
      const received: Uint8Array[] = []
      while (decodeEventStream(received).frames.length < 2) {
        const { value } = await reader.read()
        if (value) received.push(value)
      }
      const next = reader.read()
      const winner = await Promise.race([
        next.then(() => 'data'),
        new Promise((r) => setTimeout(() => r('idle'), 200)),
      ])
      expect(winner).toBe('idle')
      controller.abort()
      await expect(next).rejects.toThrow()
    })

    it('resets the connection', async () => {
      fake.script({ type: 'reset' })
      await expect(call('converse', userSays('hi'))).rejects.toThrow()
    })

    it('spaces events out with eventGapMs', async () => {
      fake.script({ type: 'stream', eventGapMs: 30 })
      const started = Date.now()
      const events = smithyDecode(concatBytes(await readChunks(await call('converse-stream', userSays('a')))))
      expect(events.length).toBe(7)
      expect(Date.now() - started).toBeGreaterThanOrEqual(180)
    })

    it('writes explicit raw events', async () => {
      fake.script({
        type: 'stream',
        events: [
          { event: 'messageStart', payload: { role: 'assistant' } },
          { event: 'someFutureEvent', payload: { x: 1 } },
          { raw: eventFrame('messageStop', { stopReason: 'end_turn' }, { padding: false }) },
          { error: 'InternalFailure', message: 'oops' },
        ],
      })
      const events = smithyDecode(concatBytes(await readChunks(await call('converse-stream', userSays('a')))))
      expect(events.map((e) => e.type)).toEqual([
        'messageStart',
        'someFutureEvent',
        'messageStop',
        'InternalFailure',
      ])
    })
  })

  it('close() ends hanging requests promptly', async () => {
    const other = await startFakeBedrock()
    other.script({ type: 'hang' })
    const client = new AwsClient({
      ...other.credentials,
      service: 'bedrock',
      region: other.region,
      retries: 0,
    })
    const pending = client.fetch(`${other.url}/model/${encodeURIComponent(MODEL)}/converse`, {
      method: 'POST',
      body: JSON.stringify(userSays('hi')),
    })
    while (other.requests.length === 0) await new Promise((r) => setTimeout(r, 5))
    const started = Date.now()
    await other.close()
    await expect(pending).rejects.toThrow()
    expect(Date.now() - started).toBeLessThan(1_000)
  })
})
