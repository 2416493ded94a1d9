import { describe, expect, it } from 'vitest'
import { decodeEventStream } from '../../src/aws/event-stream'
import { GatewayError } from '../../src/errors'
import { messagesStreamDeltas } from '../../src/providers/sagemaker/messages-stream'
import { payloadEvents } from '../../src/providers/sagemaker/payload-events'
import {
  LineReassembler,
  MAX_LINE_CHARS,
  type PayloadEvent,
  PayloadLineParser,
} from '../../src/providers/sagemaker/payload-lines'
import { tgiStreamDeltas } from '../../src/providers/sagemaker/tgi-stream'
import type { ChatDelta } from '../../src/providers/types'
import { AWKWARD_PATTERN, concatBytes, splitAwkwardly } from '../fakes/event-stream'
import { payloadPartFrame, sagemakerExceptionFrame, splitBytes } from '../fakes/sagemaker'

const utf8 = new TextEncoder()

/** The container's text as PayloadPart frames cut every `partSizes` bytes, delivered in awkward chunks. */
function eventStreamBody(
  text: string,
  partSizes: readonly number[],
  trailer: Uint8Array[] = [],
): ReadableStream<Uint8Array> {
  const frames = [...splitBytes(utf8.encode(text), partSizes).map(payloadPartFrame), ...trailer]
  const pieces = splitAwkwardly(concatBytes(frames), AWKWARD_PATTERN)
  return new ReadableStream({
    start(controller) {
      for (const piece of pieces) controller.enqueue(piece)
      controller.close()
    },
  })
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}

async function failure(items: AsyncIterable<unknown>): Promise<{ error: GatewayError; before: unknown[] }> {
  const before: unknown[] = []
  try {
    for await (const item of items) before.push(item)
  } catch (error) {
    if (error instanceof GatewayError) return { error, before }
    throw error
  }
  throw new Error('expected the stream to fail')
}

const text = (deltas: ChatDelta[]): string => deltas.map((d) => d.content ?? '').join('')

describe('LineReassembler', () => {
  it('rebuilds lines split mid-line and mid-UTF-8 character, CRLF included', () => {
    const bytes = utf8.encode('data:{"t":"Grüße 👋"}\r\n\r\ndata:[DONE]')
    const lines = new LineReassembler()
    const out: string[] = []
    for (const piece of splitBytes(bytes, [1, 2, 3])) out.push(...lines.push(piece))
    out.push(...lines.end())
    expect(out).toEqual(['data:{"t":"Grüße 👋"}', '', 'data:[DONE]'])
  })
})

describe('PayloadLineParser', () => {
  const parse = (lines: string[]): PayloadEvent[] => {
    const parser = new PayloadLineParser()
    const out = lines.flatMap((line) => parser.line(line))
    parser.end()
    return out
  }

  it('reads TGI `data:` (no space), OpenAI `data: `, bare JSON Lines and [DONE]; skips SSE fields and comments', () => {
    expect(
      parse([
        'data:{"a":1}',
        '',
        ': keep-alive',
        'event: message',
        'id: 4',
        'data: {"b":2}',
        '{"c":3}',
        'data: [DONE]',
      ]),
    ).toEqual([
      { kind: 'json', value: { a: 1 } },
      { kind: 'json', value: { b: 2 } },
      { kind: 'json', value: { c: 3 } },
      { kind: 'done' },
    ])
  })

  it('joins a JSON value spread over data lines; an event or stream ending inside one is a 502', () => {
    expect(parse(['data: {"a":', 'data: 1}'])).toEqual([{ kind: 'json', value: { a: 1 } }])
    const parser = new PayloadLineParser()
    parser.line('data: {"a":')
    expect(() => parser.line('')).toThrow(/SSE event ended inside a JSON payload/)
    const atEnd = new PayloadLineParser()
    atEnd.line('{"never closed":')
    expect(() => atEnd.end()).toThrow(GatewayError)
  })
})

describe('stream limits', () => {
  it('a line that never ends is a 502 once it passes 1 MB, not an ever-growing buffer', () => {
    const lines = new LineReassembler()
    const chunk = utf8.encode('x'.repeat(256 * 1024))
    let error: unknown
    let pushed = 0
    try {
      for (; pushed < 20; pushed++) expect(lines.push(chunk)).toEqual([])
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(GatewayError)
    expect(error).toMatchObject({ status: 502 })
    expect((error as GatewayError).message).toMatch(
      /^litellm\.BadGatewayError: SagemakerException - .*longer than/,
    )
    expect(pushed).toBe(4)
    expect(MAX_LINE_CHARS).toBe(1024 * 1024)
  })

  it('reassembles a long line sent a byte at a time in linear time', () => {
    const line = `{"generated_text":"${'y'.repeat(600 * 1024)}"}`
    const bytes = utf8.encode(`${line}\n`)
    const lines = new LineReassembler()
    const started = performance.now()
    const out: string[] = []
    for (let i = 0; i < bytes.length; i++) out.push(...lines.push(bytes.subarray(i, i + 1)))
    // Rescanning the whole pending text per part (the old way) takes minutes here.
    expect(performance.now() - started).toBeLessThan(10_000)
    expect(out).toEqual([line])
  }, 30_000)

  it('a JSON value that never closes is a 502 at 1 MB, however many lines it spans', () => {
    const parser = new PayloadLineParser()
    parser.line('data: {"a":')
    const filler = `data: "${'z'.repeat(64 * 1024)}",`
    let error: unknown
    try {
      for (let i = 0; i < 40; i++) parser.line(filler)
    } catch (e) {
      error = e
    }
    expect(error).toMatchObject({ status: 502 })
  })

  it('fails fast on a JSON-Lines line that is not JSON, instead of swallowing the lines after it', () => {
    const parser = new PayloadLineParser()
    expect(parser.line('{"token":{"text":"a"}}')).toEqual([{ kind: 'json', value: { token: { text: 'a' } } }])
    expect(() => parser.line('upstream request timeout')).toThrow(/line that is not JSON/)
    // A closed value that does not parse is no better.
    expect(() => new PayloadLineParser().line('{"a": 1,}')).toThrow(/not JSON/)
    // Keep-alives and SSE fields are still skipped, and [DONE] still ends the stream.
    const sse = new PayloadLineParser()
    expect(
      [': ping', 'event: message', 'id: 3', 'retry: 100', 'data: [DONE]'].flatMap((l) => sse.line(l)),
    ).toEqual([{ kind: 'done' }])
  })

  it('cancels the upstream when a non-JSON line ends the stream', async () => {
    const frames = [
      payloadPartFrame(utf8.encode('{"token":{"id":1,"text":"Hi","special":false}}\n')),
      payloadPartFrame(utf8.encode('<html>502 Bad Gateway</html>\n')),
      payloadPartFrame(utf8.encode('{"token":{"id":2,"text":" there","special":false}}\n')),
    ]
    let cancelled = false
    let pulls = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const frame = frames[pulls++]
        // The rest of the body would never end: only a cancel stops it.
        controller.enqueue(frame ?? payloadPartFrame(utf8.encode('{"token":{"text":"."}}\n')))
      },
      cancel() {
        cancelled = true
      },
    })
    const { error, before } = await failure(tgiStreamDeltas(payloadEvents(decodeEventStream(stream)), 'p'))
    expect(before).toEqual([{ content: 'Hi' }])
    expect(error.status).toBe(502)
    expect(error.message).toMatch(/not JSON/)
    expect(cancelled).toBe(true)
  })
})

const tgiEvents = (tokens: string[], final: Record<string, unknown> = {}): string =>
  tokens
    .map(
      (t, i) =>
        `data:${JSON.stringify({ index: i, token: { id: i, text: t, logprob: -1, special: false }, generated_text: null, details: null })}\n\n`,
    )
    .join('') +
  `data:${JSON.stringify({ index: tokens.length, token: { id: 2, text: '</s>', logprob: 0, special: true }, generated_text: tokens.join(''), details: null, ...final })}\n\n`

describe('TGI streams through PayloadPart frames', () => {
  const tokens = ['Grüße', ' aus', ' Köln', ' 👋🏽', ' 你好']

  it.each([
    [[1], 'one byte per part'],
    [[2, 3], 'parts cutting every character'],
    [[7, 64, 5], 'mixed sizes'],
    [[100_000], 'one part'],
  ])(
    'yields the tokens in order, skips the special EOS token, then finish + usage (%s: %s)',
    async (sizes) => {
      const deltas = await collect(
        tgiStreamDeltas(
          payloadEvents(decodeEventStream(eventStreamBody(tgiEvents(tokens), sizes))),
          'P'.repeat(20),
        ),
      )
      expect(deltas.slice(0, -1)).toEqual(tokens.map((content) => ({ content })))
      expect(deltas.at(-1)).toEqual({
        finishReason: 'stop',
        // 5 streamed tokens counted exactly; the prompt (20 chars) estimated at 4 chars a token.
        usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
      })
    },
  )

  it('uses details from the final event (finish length, exact counts)', async () => {
    const body = tgiEvents(['a', ' b'], {
      details: { finish_reason: 'length', generated_tokens: 2, input_length: 9 },
    })
    const deltas = await collect(
      tgiStreamDeltas(payloadEvents(decodeEventStream(eventStreamBody(body, [3]))), 'prompt'),
    )
    expect(deltas.at(-1)).toEqual({
      finishReason: 'length',
      usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
    })
  })

  it('reads LMI JSON Lines and a container that sent its whole answer at once', async () => {
    const lmi =
      '{"token":{"id":1,"text":"Hi"}}\n{"token":{"id":2,"text":" there"},"generated_text":"Hi there"}\n'
    expect(
      text(await collect(tgiStreamDeltas(payloadEvents(decodeEventStream(eventStreamBody(lmi, [4]))), 'p'))),
    ).toBe('Hi there')
    const whole = '[{"generated_text":"All at once"}]'
    expect(
      text(
        await collect(tgiStreamDeltas(payloadEvents(decodeEventStream(eventStreamBody(whole, [5]))), 'p')),
      ),
    ).toBe('All at once')
  })

  it('a TGI stream cut before its final event is a 502, after the tokens it did deliver', async () => {
    const cut = tgiEvents(['one', ' two']).split('\n\n').slice(0, 2).join('\n\n')
    const { error, before } = await failure(
      tgiStreamDeltas(payloadEvents(decodeEventStream(eventStreamBody(`${cut}\n\n`, [6]))), 'p'),
    )
    expect(before).toEqual([{ content: 'one' }, { content: ' two' }])
    expect(error.status).toBe(502)
    expect(error.message).toContain(
      'SagemakerException - the stream ended before the final generated_text event',
    )
  })

  it('a ModelStreamError frame mid-stream throws after the earlier tokens; its ErrorCode picks the status', async () => {
    const body = eventStreamBody(
      `${tgiEvents(['one']).split('\n\n')[0]}\n\n`,
      [1000],
      [sagemakerExceptionFrame('ModelStreamError', 'Your model stream failed.', 'StreamBroken')],
    )
    const { error, before } = await failure(tgiStreamDeltas(payloadEvents(decodeEventStream(body)), 'p'))
    expect(before).toEqual([{ content: 'one' }])
    expect(error.status).toBe(500)
    expect(error.message).toBe(
      'litellm.InternalServerError: SagemakerException - ModelStreamError (StreamBroken): Your model stream failed.',
    )
    const timeout = eventStreamBody(
      '',
      [1],
      [sagemakerExceptionFrame('ModelStreamError', 'Too slow', 'ModelInvocationTimeExceeded')],
    )
    expect(
      (await failure(tgiStreamDeltas(payloadEvents(decodeEventStream(timeout)), 'p'))).error.status,
    ).toBe(408)
    const internal = eventStreamBody(
      '',
      [1],
      [sagemakerExceptionFrame('InternalStreamFailure', 'Internal failure')],
    )
    const internalError = (await failure(tgiStreamDeltas(payloadEvents(decodeEventStream(internal)), 'p')))
      .error
    expect(internalError.status).toBe(502)
    expect(internalError.retryable).toBe(true)
  })

  it("TGI's own in-stream error event becomes a GatewayError with its status", async () => {
    const body =
      'data:{"error":"Request failed during generation: Server error: CUDA out of memory","error_type":"generation"}\n\n'
    const { error } = await failure(
      tgiStreamDeltas(payloadEvents(decodeEventStream(eventStreamBody(body, [9]))), 'p'),
    )
    expect(error.status).toBe(500)
    expect(error.message).toContain('CUDA out of memory')
    const overloaded = 'data:{"error":"Model is overloaded","error_type":"overloaded"}\n\n'
    expect(
      (
        await failure(
          tgiStreamDeltas(payloadEvents(decodeEventStream(eventStreamBody(overloaded, [9]))), 'p'),
        )
      ).error.status,
    ).toBe(503)
  })
})

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`

describe('Messages-API streams', () => {
  it('forwards content, tool-call pieces, the finish reason and the usage chunk', async () => {
    const body =
      chunk({ role: 'assistant', content: '' }) +
      chunk({ content: 'Let me check ☀️' }) +
      chunk({
        tool_calls: [
          { index: 0, id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '' } },
        ],
      }) +
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }) +
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }) +
      chunk({}, 'tool_calls') +
      `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 8, completion_tokens: 6, total_tokens: 14 } })}\n\n` +
      'data: [DONE]\n\n'
    const deltas = await collect(
      messagesStreamDeltas(payloadEvents(decodeEventStream(eventStreamBody(body, [3, 11]))), []),
    )
    expect(deltas).toEqual([
      { content: 'Let me check ☀️' },
      {
        toolCalls: [
          { index: 0, id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '' } },
        ],
      },
      { toolCalls: [{ index: 0, function: { arguments: '{"city":' } }] },
      { toolCalls: [{ index: 0, function: { arguments: '"Paris"}' } }] },
      { finishReason: 'tool_calls' },
      { usage: { prompt_tokens: 8, completion_tokens: 6, total_tokens: 14 } },
    ])
  })

  it("accepts TGI's single-object tool_calls and eos_token finish; [DONE] is optional", async () => {
    const body =
      chunk({ tool_calls: { index: 0, id: '', function: { name: 'f', arguments: '{}' } } }) +
      chunk({}, 'eos_token')
    const deltas = await collect(
      messagesStreamDeltas(payloadEvents(decodeEventStream(eventStreamBody(body, [2]))), []),
    )
    expect(deltas).toEqual([
      { toolCalls: [{ index: 0, type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { finishReason: 'stop' },
    ])
  })

  it('a whole chat.completion in the stream becomes one delta', async () => {
    const body = JSON.stringify({
      object: 'chat.completion',
      choices: [{ message: { role: 'assistant', content: 'Whole' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    })
    const deltas = await collect(
      messagesStreamDeltas(payloadEvents(decodeEventStream(eventStreamBody(body, [4]))), []),
    )
    expect(deltas).toEqual([
      {
        content: 'Whole',
        finishReason: 'stop',
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      },
    ])
  })

  it('a stream with neither finish_reason nor [DONE] was cut off: 502', async () => {
    const { error, before } = await failure(
      messagesStreamDeltas(
        payloadEvents(decodeEventStream(eventStreamBody(chunk({ content: 'Hal' }), [5]))),
        [],
      ),
    )
    expect(before).toEqual([{ content: 'Hal' }])
    expect(error.status).toBe(502)
  })

  it('an OpenAI-style error object in the stream is raised', async () => {
    const body = `data: ${JSON.stringify({ error: { message: 'This model’s maximum context length is 4096 tokens', type: 'BadRequestError' } })}\n\n`
    const { error } = await failure(
      messagesStreamDeltas(payloadEvents(decodeEventStream(eventStreamBody(body, [7]))), []),
    )
    expect(error.status).toBe(400)
    expect(error.message).toMatch(/^litellm\.ContextWindowExceededError: SagemakerException - /)
  })
})
