import { describe, expect, it } from 'vitest'
import { decodeEventStream } from '../../src/aws/event-stream'
import { GatewayError } from '../../src/errors'
import { invokeStreamDeltas } from '../../src/providers/bedrock/invoke-stream'
import type { ChatDelta } from '../../src/providers/types'
import { anthropicStreamEvents } from '../fakes/bedrock-invoke'
import { chunkFrame, concatBytes, errorFrame, exceptionFrame, splitAwkwardly } from '../fakes/event-stream'

/**
 * The chunk frames are written with the fake's encoder (the AWS SDK's own codec, random `"p"`
 * padding) and delivered in awkward pieces, so the gateway's decoder and the chunk mapping are
 * checked against an independent implementation of the wire format.
 */
function body(frames: Uint8Array[]): ReadableStream<Uint8Array> {
  const pieces = splitAwkwardly(concatBytes(frames))
  return new ReadableStream({
    pull(controller) {
      const next = pieces.shift()
      if (next) controller.enqueue(next)
      else controller.close()
    },
  })
}

async function collect(frames: Uint8Array[]): Promise<{ out: ChatDelta[]; error?: unknown }> {
  const out: ChatDelta[] = []
  try {
    for await (const d of invokeStreamDeltas(decodeEventStream(body(frames)))) out.push(d)
  } catch (error) {
    return { out, error }
  }
  return { out }
}

const chunks = (events: Record<string, unknown>[]) => events.map((e) => chunkFrame(e))

const textReply = {
  text: 'Hello there friend',
  toolUses: [],
  stopReason: 'end_turn',
  usage: {
    inputTokens: 12,
    outputTokens: 3,
    totalTokens: 15,
    cacheReadInputTokens: 0,
    cacheWriteInputTokens: 0,
  },
}

describe('invokeStreamDeltas', () => {
  it('streams text deltas, the finish reason, then usage from the Anthropic events', async () => {
    const { out, error } = await collect(chunks(anthropicStreamEvents(textReply, 120)))
    expect(error).toBeUndefined()
    expect(out.map((d) => d.content ?? '').join('')).toBe('Hello there friend')
    expect(out.filter((d) => d.content !== undefined).length).toBe(3)
    const finish = out.findIndex((d) => d.finishReason !== undefined)
    const usage = out.findIndex((d) => d.usage !== undefined)
    expect(out[finish]?.finishReason).toBe('stop')
    expect(usage).toBeGreaterThan(finish)
    expect(out[usage]?.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 })
    // Never an empty delta.
    for (const d of out) expect(Object.keys(d).length).toBeGreaterThan(0)
  })

  it('streams tool calls: id and name first, argument fragments as they come, indexes per tool', async () => {
    const reply = {
      text: 'Let me check.',
      toolUses: [
        { toolUseId: 'toolu_bdrk_1', name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } },
        { toolUseId: 'toolu_bdrk_2', name: 'get_time', input: { zone: 'CET' } },
      ],
      stopReason: 'tool_use',
      usage: { inputTokens: 20, outputTokens: 9, totalTokens: 29 },
    }
    const { out, error } = await collect(chunks(anthropicStreamEvents(reply, 50)))
    expect(error).toBeUndefined()
    const calls = out.flatMap((d) => d.toolCalls ?? [])
    expect(calls[0]).toEqual({
      index: 0,
      id: 'toolu_bdrk_1',
      type: 'function',
      function: { name: 'get_weather', arguments: '' },
    })
    const args = (index: number) =>
      calls
        .filter((c) => c.index === index)
        .map((c) => c.function.arguments)
        .join('')
    expect(JSON.parse(args(0))).toEqual({ city: 'Paris', unit: 'celsius' })
    expect(JSON.parse(args(1))).toEqual({ zone: 'CET' })
    // Fragments are forwarded, not buffered into one delta.
    expect(calls.filter((c) => c.index === 0).length).toBeGreaterThan(3)
    expect(out.find((d) => d.finishReason)?.finishReason).toBe('tool_calls')
  })

  it('sends "{}" for a tool that streams no argument fragment', async () => {
    const events = [
      { type: 'message_start', message: { usage: { input_tokens: 3, output_tokens: 1 } } },
      {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'tool_use', id: 't1', name: 'now', input: {} },
      },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 4 } },
      { type: 'message_stop' },
    ]
    const { out } = await collect(chunks(events))
    const calls = out.flatMap((d) => d.toolCalls ?? [])
    expect(calls.map((c) => c.function.arguments).join('')).toBe('{}')
    expect(out.at(-1)?.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 4 })
  })

  it('streams thinking as reasoning_content and thinking blocks with the signature', async () => {
    const events = [
      { type: 'message_start', message: { usage: { input_tokens: 3, output_tokens: 1 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Hmm.' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'c2ln' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Yes.' } },
      { type: 'content_block_stop', index: 1 },
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } },
      { type: 'message_stop' },
    ]
    const { out } = await collect(chunks(events))
    expect(out[0]).toEqual({
      reasoningContent: 'Hmm.',
      thinkingBlocks: [{ type: 'thinking', thinking: 'Hmm.' }],
    })
    expect(out[1]).toEqual({ thinkingBlocks: [{ type: 'thinking', thinking: '', signature: 'c2ln' }] })
    expect(out[2]).toEqual({ content: 'Yes.' })
  })

  it('keeps redacted_thinking blocks, which arrive whole in content_block_start', async () => {
    const events = [
      { type: 'message_start', message: { usage: { input_tokens: 3, output_tokens: 1 } } },
      {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'redacted_thinking', data: 'ZW5jcnlwdGVk' },
      },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Done.' } },
      { type: 'content_block_stop', index: 1 },
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 4 } },
      { type: 'message_stop' },
    ]
    const { out, error } = await collect(chunks(events))
    expect(error).toBeUndefined()
    expect(out[0]).toEqual({ thinkingBlocks: [{ type: 'redacted_thinking', data: 'ZW5jcnlwdGVk' }] })
    expect(out[1]).toEqual({ content: 'Done.' })
  })

  it('takes cache counts from message_start and falls back to the invocation metrics', async () => {
    const withCache = [
      {
        type: 'message_start',
        message: {
          usage: {
            input_tokens: 5,
            output_tokens: 1,
            cache_read_input_tokens: 100,
            cache_creation_input_tokens: 7,
          },
        },
      },
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 2 } },
      {
        type: 'message_stop',
        'amazon-bedrock-invocationMetrics': { inputTokenCount: 5, outputTokenCount: 2 },
      },
    ]
    expect((await collect(chunks(withCache))).out.at(-1)?.usage).toEqual({
      prompt_tokens: 112,
      completion_tokens: 2,
      total_tokens: 114,
      prompt_tokens_details: { cached_tokens: 100 },
      cache_read_input_tokens: 100,
      cache_creation_input_tokens: 7,
    })
    const metricsOnly = [
      { type: 'message_start', message: {} },
      { type: 'message_delta', delta: { stop_reason: 'max_tokens' } },
      {
        type: 'message_stop',
        'amazon-bedrock-invocationMetrics': { inputTokenCount: 8, outputTokenCount: 4 },
      },
    ]
    const { out } = await collect(chunks(metricsOnly))
    expect(out.find((d) => d.finishReason)?.finishReason).toBe('length')
    expect(out.at(-1)?.usage).toMatchObject({ prompt_tokens: 8, completion_tokens: 4, total_tokens: 12 })
  })

  it('yields no usage when nothing counted tokens (the HTTP layer then estimates)', async () => {
    const { out } = await collect(chunks([{ type: 'message_start', message: {} }, { type: 'message_stop' }]))
    expect(out).toEqual([{ finishReason: 'stop' }])
  })

  it('turns an exception frame after content into a GatewayError with the mapped status', async () => {
    const frames = [
      ...chunks(anthropicStreamEvents(textReply, 10)).slice(0, 3),
      exceptionFrame('throttlingException', 'Too many tokens, please wait before trying again.'),
    ]
    const { out, error } = await collect(frames)
    expect(out.map((d) => d.content).join('')).toBe('Hello')
    expect(error).toBeInstanceOf(GatewayError)
    expect((error as GatewayError).status).toBe(429)
    expect((error as GatewayError).message).toBe(
      'litellm.RateLimitError: BedrockException - Too many tokens, please wait before trying again.',
    )
  })

  it.each([
    ['modelStreamErrorException', 500],
    ['validationException', 400],
    ['modelTimeoutException', 408],
  ])('maps %s to %d', async (type, status) => {
    const { error } = await collect([exceptionFrame(type, 'boom')])
    expect((error as GatewayError).status).toBe(status)
  })

  it("maps an unmodeled error frame and Anthropic's in-band error event", async () => {
    const unmodeled = await collect([errorFrame('InternalFailure', 'An internal error occurred.')])
    expect((unmodeled.error as GatewayError).status).toBe(502)
    const overloaded = await collect(
      chunks([
        { type: 'message_start', message: {} },
        { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
      ]),
    )
    expect((overloaded.error as GatewayError).status).toBe(503)
    expect((overloaded.error as GatewayError).message).toMatch(/Overloaded/)
  })

  it('is a 502 when the stream ends before message_stop, or a chunk is not base64 JSON', async () => {
    const cut = await collect(chunks(anthropicStreamEvents(textReply, 10)).slice(0, 4))
    expect(cut.out.length).toBeGreaterThan(0)
    expect((cut.error as GatewayError).status).toBe(502)
    expect((cut.error as GatewayError).message).toMatch(/before message_stop/)
    const { error } = await collect([chunkFrame('not an object' as unknown as Record<string, unknown>)])
    expect((error as GatewayError).status).toBe(502)
  })
})
