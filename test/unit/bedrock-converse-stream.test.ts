import { describe, expect, it } from 'vitest'
import { decodeEventStream } from '../../src/aws/event-stream'
import { encodeEventStreamMessage } from '../../src/aws/event-stream-encode'
import { GatewayError } from '../../src/errors'
import { toChatOutput } from '../../src/providers/bedrock/converse-response'
import { converseStreamDeltas } from '../../src/providers/bedrock/converse-stream'
import type { ChatDelta } from '../../src/providers/types'

const enc = new TextEncoder()

const event = (eventType: string, payload: unknown): Uint8Array =>
  encodeEventStreamMessage(
    { ':message-type': 'event', ':event-type': eventType, ':content-type': 'application/json' },
    enc.encode(JSON.stringify(payload)),
  )

const exception = (exceptionType: string, message: string): Uint8Array =>
  encodeEventStreamMessage(
    { ':message-type': 'exception', ':exception-type': exceptionType, ':content-type': 'application/json' },
    enc.encode(JSON.stringify({ message })),
  )

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** A response body that delivers `bytes` in pieces of the given sizes (cycled). */
function body(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  const chunks: Uint8Array[] = []
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length]!
    chunks.push(bytes.slice(at, at + size))
    at += size
  }
  return new ReadableStream({
    pull(controller) {
      const next = chunks.shift()
      if (next) controller.enqueue(next)
      else controller.close()
    },
  })
}

const deltas = (bytes: Uint8Array, sizes = [7]): AsyncGenerator<ChatDelta> =>
  converseStreamDeltas(decodeEventStream(body(bytes, sizes)))

async function collect(iterable: AsyncIterable<ChatDelta>): Promise<{ out: ChatDelta[]; error?: unknown }> {
  const out: ChatDelta[] = []
  try {
    for await (const d of iterable) out.push(d)
  } catch (error) {
    return { out, error }
  }
  return { out }
}

/** protocols.md §1.6 wire order for a text + tool answer, with the `p` padding Bedrock adds. */
const TEXT_AND_TOOL = concat([
  event('messageStart', { role: 'assistant', p: 'abc' }),
  event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Let me ' }, p: 'abcdefgh' }),
  event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'check.' } }),
  event('contentBlockStop', { contentBlockIndex: 0 }),
  event('contentBlockStart', {
    contentBlockIndex: 1,
    start: { toolUse: { toolUseId: 'tooluse_1', name: 'get_weather' } },
  }),
  event('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '{"city":' } } }),
  event('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '"Paris"}' } } }),
  event('contentBlockStop', { contentBlockIndex: 1 }),
  event('contentBlockStart', {
    contentBlockIndex: 2,
    start: { toolUse: { toolUseId: 'tooluse_2', name: 'get_time' } },
  }),
  event('contentBlockDelta', { contentBlockIndex: 2, delta: { toolUse: { input: '{}' } } }),
  event('contentBlockStop', { contentBlockIndex: 2 }),
  event('messageStop', { stopReason: 'tool_use' }),
  event('metadata', {
    usage: { inputTokens: 25, outputTokens: 40, totalTokens: 65 },
    metrics: { latencyMs: 321 },
  }),
])

const EXPECTED: ChatDelta[] = [
  { content: 'Let me ' },
  { content: 'check.' },
  {
    toolCalls: [
      { index: 0, id: 'tooluse_1', type: 'function', function: { name: 'get_weather', arguments: '' } },
    ],
  },
  { toolCalls: [{ index: 0, function: { arguments: '{"city":' } }] },
  { toolCalls: [{ index: 0, function: { arguments: '"Paris"}' } }] },
  {
    toolCalls: [
      { index: 1, id: 'tooluse_2', type: 'function', function: { name: 'get_time', arguments: '' } },
    ],
  },
  { toolCalls: [{ index: 1, function: { arguments: '{}' } }] },
  { finishReason: 'tool_calls' },
  {
    usage: {
      prompt_tokens: 25,
      completion_tokens: 40,
      total_tokens: 65,
      prompt_tokens_details: { cached_tokens: 0 },
    },
  },
]

describe('converseStreamDeltas', () => {
  it('maps a text + tool stream; tool indexes count tool calls, not content blocks', async () => {
    const { out, error } = await collect(deltas(TEXT_AND_TOOL))
    expect(error).toBeUndefined()
    expect(out).toEqual(EXPECTED)
  })

  it('gives the same deltas whatever the network chunking', async () => {
    for (const sizes of [[1], [2, 3], [4], [5, 13, 1], [11], [TEXT_AND_TOOL.length]]) {
      const { out } = await collect(deltas(TEXT_AND_TOOL, sizes))
      expect(out).toEqual(EXPECTED)
    }
  })

  it('emits usage after the finish reason, as Bedrock sends metadata after messageStop', async () => {
    const { out } = await collect(deltas(TEXT_AND_TOOL))
    const finishAt = out.findIndex((d) => d.finishReason !== undefined)
    const usageAt = out.findIndex((d) => d.usage !== undefined)
    expect(finishAt).toBeGreaterThan(-1)
    expect(usageAt).toBe(finishAt + 1)
  })

  it('completes a tool call that streamed no input with "{}" at contentBlockStop, as the non-streaming answer', async () => {
    const bytes = concat([
      event('messageStart', { role: 'assistant' }),
      event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Checking.' } }),
      event('contentBlockStop', { contentBlockIndex: 0 }),
      event('contentBlockStart', {
        contentBlockIndex: 1,
        start: { toolUse: { toolUseId: 'tooluse_1', name: 'get_time' } },
      }),
      event('contentBlockStop', { contentBlockIndex: 1 }),
      event('contentBlockStart', {
        contentBlockIndex: 2,
        start: { toolUse: { toolUseId: 'tooluse_2', name: 'get_weather' } },
      }),
      event('contentBlockDelta', { contentBlockIndex: 2, delta: { toolUse: { input: '{"city":"Oslo"}' } } }),
      event('contentBlockStop', { contentBlockIndex: 2 }),
      // A repeated stop must not append a second "{}".
      event('contentBlockStop', { contentBlockIndex: 1 }),
      event('messageStop', { stopReason: 'tool_use' }),
    ])
    const { out, error } = await collect(deltas(bytes))
    expect(error).toBeUndefined()
    expect(out).toEqual([
      { content: 'Checking.' },
      {
        toolCalls: [
          { index: 0, id: 'tooluse_1', type: 'function', function: { name: 'get_time', arguments: '' } },
        ],
      },
      { toolCalls: [{ index: 0, function: { arguments: '{}' } }] },
      {
        toolCalls: [
          { index: 1, id: 'tooluse_2', type: 'function', function: { name: 'get_weather', arguments: '' } },
        ],
      },
      { toolCalls: [{ index: 1, function: { arguments: '{"city":"Oslo"}' } }] },
      { finishReason: 'tool_calls' },
    ])
    // The streamed arguments, joined per index, equal what toChatOutput reports for `input: {}`.
    const joined = out
      .flatMap((d) => d.toolCalls ?? [])
      .filter((t) => t.index === 0)
      .map((t) => t.function?.arguments ?? '')
      .join('')
    const nonStreaming = toChatOutput(
      {
        output: {
          message: { content: [{ toolUse: { toolUseId: 'tooluse_1', name: 'get_time', input: {} } }] },
        },
        stopReason: 'tool_use',
      },
      'm',
    )
    expect(joined).toBe(nonStreaming.message.tool_calls?.[0]?.function.arguments)
  })

  it('maps reasoning deltas and skips unknown events and empty deltas', async () => {
    const bytes = concat([
      event('messageStart', { role: 'assistant' }),
      event('contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { text: 'hmm' } } }),
      event('contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { signature: 'sig' } } }),
      event('somethingNew', { whatever: true }),
      event('contentBlockDelta', { contentBlockIndex: 1, delta: { text: '' } }),
      event('contentBlockDelta', { contentBlockIndex: 1, delta: { text: 'Answer' } }),
      event('messageStop', { stopReason: 'max_tokens' }),
    ])
    const { out, error } = await collect(deltas(bytes))
    expect(error).toBeUndefined()
    // As LiteLLM streams them: the text and the signature each with a thinking block.
    expect(out).toEqual([
      { reasoningContent: 'hmm', thinkingBlocks: [{ type: 'thinking', thinking: 'hmm' }] },
      { reasoningContent: '', thinkingBlocks: [{ type: 'thinking', thinking: '', signature: 'sig' }] },
      { content: 'Answer' },
      { finishReason: 'length' },
    ])
  })

  it('throws a 429 GatewayError with the AWS message for a throttlingException frame, after earlier deltas', async () => {
    const bytes = concat([
      event('messageStart', { role: 'assistant' }),
      event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'partial' } }),
      exception('throttlingException', 'Too many tokens, please wait before trying again.'),
    ])
    const { out, error } = await collect(deltas(bytes, [3]))
    expect(out).toEqual([{ content: 'partial' }])
    expect(error).toBeInstanceOf(GatewayError)
    const e = error as GatewayError
    expect(e.status).toBe(429)
    expect(e.origin).toBe('upstream')
    expect(e.message).toBe(
      'litellm.RateLimitError: BedrockException - Too many tokens, please wait before trying again.',
    )
  })

  it.each([
    ['validationException', 400],
    ['modelTimeoutException', 408],
    ['internalServerException', 500],
    ['modelStreamErrorException', 500],
    ['serviceUnavailableException', 503],
    ['brandNewException', 502],
  ])('maps a %s frame to %i', async (type, status) => {
    const { error } = await collect(deltas(exception(type, 'boom')))
    expect((error as GatewayError).status).toBe(status)
    expect((error as GatewayError).message).toMatch(/BedrockException - boom$/)
  })

  it('maps an unmodeled error frame to a 502 carrying its code and message', async () => {
    const frame = encodeEventStreamMessage(
      { ':message-type': 'error', ':error-code': 'InternalFailure', ':error-message': 'stream broke' },
      new Uint8Array(0),
    )
    const { error } = await collect(deltas(frame))
    expect((error as GatewayError).status).toBe(502)
    expect((error as GatewayError).message).toMatch(/InternalFailure: stream broke/)
  })

  it('throws a 502 when the body stops mid-frame', async () => {
    const { out, error } = await collect(deltas(TEXT_AND_TOOL.subarray(0, TEXT_AND_TOOL.length - 10)))
    expect(out).toEqual(EXPECTED.slice(0, -1))
    expect((error as GatewayError).status).toBe(502)
    expect((error as GatewayError).message).toBe('Truncated event message received.')
  })

  it('throws a 502 when the frames end before messageStop', async () => {
    const bytes = concat([
      event('messageStart', { role: 'assistant' }),
      event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'x' } }),
    ])
    const { out, error } = await collect(deltas(bytes))
    expect(out).toEqual([{ content: 'x' }])
    expect((error as GatewayError).status).toBe(502)
  })

  it('throws a 502 for a payload that is not JSON', async () => {
    const bad = encodeEventStreamMessage(
      { ':message-type': 'event', ':event-type': 'contentBlockDelta' },
      enc.encode('{no'),
    )
    const { error } = await collect(deltas(bad))
    expect((error as GatewayError).status).toBe(502)
    expect((error as GatewayError).message).toMatch(/not valid JSON/)
  })
})
