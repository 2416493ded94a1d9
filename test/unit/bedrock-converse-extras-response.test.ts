import { describe, expect, it } from 'vitest'
import { decodeEventStream } from '../../src/aws/event-stream'
import { encodeEventStreamMessage } from '../../src/aws/event-stream-encode'
import { toChatCompletion, toChunkDelta } from '../../src/openai/chat-chunks'
import { chatRequestSchema } from '../../src/openai/chat-request'
import {
  type ConverseOutputOptions,
  converseOutputOptions,
} from '../../src/providers/bedrock/converse-json-mode'
import { toChatOutput } from '../../src/providers/bedrock/converse-response'
import { converseStreamDeltas } from '../../src/providers/bedrock/converse-stream'
import type { ConverseResponse } from '../../src/providers/bedrock/converse-types'
import type { ChatDelta } from '../../src/providers/types'

const enc = new TextEncoder()

const event = (eventType: string, payload: unknown): Uint8Array =>
  encodeEventStreamMessage(
    { ':message-type': 'event', ':event-type': eventType, ':content-type': 'application/json' },
    enc.encode(JSON.stringify(payload)),
  )

function body(frames: Uint8Array[]): ReadableStream<Uint8Array> {
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0))
  let at = 0
  for (const f of frames) {
    all.set(f, at)
    at += f.length
  }
  // Awkward 5-byte pieces: frames split anywhere, as on the wire.
  const pieces: Uint8Array[] = []
  for (let i = 0; i < all.length; i += 5) pieces.push(all.slice(i, i + 5))
  return new ReadableStream({
    pull(controller) {
      const next = pieces.shift()
      if (next) controller.enqueue(next)
      else controller.close()
    },
  })
}

async function stream(frames: Uint8Array[], options?: ConverseOutputOptions): Promise<ChatDelta[]> {
  const out: ChatDelta[] = []
  for await (const d of converseStreamDeltas(decodeEventStream(body(frames)), options)) out.push(d)
  return out
}

const jsonOptions = (responseFormat: unknown): ConverseOutputOptions =>
  converseOutputOptions(
    chatRequestSchema.parse({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      response_format: responseFormat,
    }),
  )

const SCHEMA = { type: 'object', properties: { city: { type: 'string' } } }
const JSON_SCHEMA_FORMAT = { type: 'json_schema', json_schema: { name: 'w', schema: SCHEMA } }

const usage = { inputTokens: 10, outputTokens: 5, totalTokens: 15 }

const toolAnswer = (name: string, input: unknown, stopReason = 'tool_use'): ConverseResponse => ({
  output: { message: { role: 'assistant', content: [{ toolUse: { toolUseId: 'tooluse_1', name, input } }] } },
  stopReason,
  usage,
})

/** A tool block streamed in fragments. */
function toolFrames(index: number, name: string, fragments: string[]): Uint8Array[] {
  return [
    event('contentBlockStart', {
      contentBlockIndex: index,
      start: { toolUse: { toolUseId: `tu_${index}`, name } },
    }),
    ...fragments.map((input) =>
      event('contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input } } }),
    ),
    event('contentBlockStop', { contentBlockIndex: index }),
  ]
}

const text = (deltas: ChatDelta[]): string => deltas.map((d) => d.content ?? '').join('')

describe('JSON mode responses (non-streaming)', () => {
  it('returns the json_tool_call input as message content with finish_reason stop', () => {
    const output = toChatOutput(
      toolAnswer('json_tool_call', { city: 'Paris' }),
      'm',
      jsonOptions(JSON_SCHEMA_FORMAT),
    )
    expect(output.message).toEqual({ role: 'assistant', content: '{"city":"Paris"}' })
    expect(output.finishReason).toBe('stop')
  })

  it('unwraps a lone "properties" wrapper, as LiteLLM does', () => {
    const output = toChatOutput(
      toolAnswer('json_tool_call', { properties: { city: 'Paris' } }),
      'm',
      jsonOptions(JSON_SCHEMA_FORMAT),
    )
    expect(output.message.content).toBe('{"city":"Paris"}')
  })

  it('keeps "properties" when the schema itself declares such a member', () => {
    const schema = { type: 'object', properties: { properties: { type: 'object' } } }
    const output = toChatOutput(
      toolAnswer('json_tool_call', { properties: { a: 1 } }),
      'm',
      jsonOptions({ type: 'json_schema', json_schema: { name: 'w', schema } }),
    )
    expect(output.message.content).toBe('{"properties":{"a":1}}')
  })

  it('keeps a truncated answer’s finish_reason (length)', () => {
    const output = toChatOutput(
      toolAnswer('json_tool_call', {}, 'max_tokens'),
      'm',
      jsonOptions({ type: 'json_object' }),
    )
    expect(output.finishReason).toBe('length')
    expect(output.message.content).toBe('{}')
  })

  it('leaves calls of the caller’s own tools as tool calls', () => {
    const output = toChatOutput(toolAnswer('lookup', { q: 1 }), 'm', jsonOptions({ type: 'json_object' }))
    expect(output.message.tool_calls?.[0]?.function).toEqual({ name: 'lookup', arguments: '{"q":1}' })
    expect(output.finishReason).toBe('tool_calls')
  })

  it('leaves a json_tool_call tool call alone when the request had no response_format', () => {
    const options = converseOutputOptions(
      chatRequestSchema.parse({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
    )
    const output = toChatOutput(toolAnswer('json_tool_call', { a: 1 }), 'm', options)
    expect(output.message.tool_calls).toHaveLength(1)
    expect(output.finishReason).toBe('tool_calls')
  })

  it('reads a lone json_tool_call as JSON mode when the caller passes no options (LiteLLM’s reserved name)', () => {
    expect(toChatOutput(toolAnswer('json_tool_call', { a: 1 }), 'm').message.content).toBe('{"a":1}')
  })
})

describe('JSON mode responses (streaming)', () => {
  it('streams the schema tool’s input fragments as content and finishes with stop', async () => {
    const out = await stream(
      [
        event('messageStart', { role: 'assistant' }),
        ...toolFrames(0, 'json_tool_call', ['', '{"ci', 'ty": "Pa', 'ris"}']),
        event('messageStop', { stopReason: 'tool_use' }),
        event('metadata', { usage }),
      ],
      jsonOptions(JSON_SCHEMA_FORMAT),
    )
    expect(out.some((d) => d.toolCalls !== undefined)).toBe(false)
    expect(out.filter((d) => d.content !== undefined).length).toBeGreaterThan(1)
    expect(text(out)).toBe('{"city": "Paris"}')
    expect(out.find((d) => d.finishReason)?.finishReason).toBe('stop')
  })

  it('holds back a "properties" wrapper and sends the unwrapped answer at the block end', async () => {
    const out = await stream(
      [
        ...toolFrames(0, 'json_tool_call', ['{ "prop', 'erties"', ': {"city"', ': "Paris"}}']),
        event('messageStop', { stopReason: 'tool_use' }),
      ],
      jsonOptions(JSON_SCHEMA_FORMAT),
    )
    expect(out.filter((d) => d.content !== undefined)).toEqual([{ content: '{"city":"Paris"}' }])
  })

  it('sends {} for a schema tool called without input, like the non-streaming answer', async () => {
    const out = await stream(
      [...toolFrames(0, 'json_tool_call', ['']), event('messageStop', { stopReason: 'tool_use' })],
      jsonOptions({ type: 'json_object' }),
    )
    expect(text(out)).toBe('{}')
  })

  it('numbers the caller’s tool calls from 0 and keeps tool_calls when one is called too', async () => {
    const out = await stream(
      [
        ...toolFrames(0, 'json_tool_call', ['{"a":1}']),
        ...toolFrames(1, 'lookup', ['{"q":2}']),
        event('messageStop', { stopReason: 'tool_use' }),
      ],
      jsonOptions({ type: 'json_object' }),
    )
    expect(out.find((d) => d.toolCalls?.[0]?.id !== undefined)?.toolCalls?.[0]).toMatchObject({
      index: 0,
      id: 'tu_1',
      function: { name: 'lookup' },
    })
    expect(out.find((d) => d.finishReason)?.finishReason).toBe('tool_calls')
  })

  it('streams json_tool_call as a tool call when the request had no response_format', async () => {
    const out = await stream(
      [...toolFrames(0, 'json_tool_call', ['{"a":1}']), event('messageStop', { stopReason: 'tool_use' })],
      {},
    )
    expect(out[0]?.toolCalls?.[0]?.function.name).toBe('json_tool_call')
    expect(out.find((d) => d.finishReason)?.finishReason).toBe('tool_calls')
  })
})

describe('reasoning content', () => {
  const reasoningAnswer: ConverseResponse = {
    output: {
      message: {
        role: 'assistant',
        content: [
          { reasoningContent: { reasoningText: { text: 'Let me think. ', signature: 'sig-a' } } },
          { reasoningContent: { redactedContent: 'b3BhcXVl' } },
          { text: 'Answer' },
        ],
      },
    },
    stopReason: 'end_turn',
    usage,
  }

  it('returns reasoning_content and thinking_blocks as LiteLLM does', () => {
    expect(toChatOutput(reasoningAnswer, 'm').message).toEqual({
      role: 'assistant',
      content: 'Answer',
      reasoning_content: 'Let me think. ',
      thinking_blocks: [
        { type: 'thinking', thinking: 'Let me think. ', signature: 'sig-a' },
        { type: 'redacted_thinking', data: 'b3BhcXVl' },
      ],
    })
  })

  it('sets reasoning_content to "" when only redacted thinking came back', () => {
    const output = toChatOutput(
      {
        output: { message: { content: [{ reasoningContent: { redactedContent: 'eA==' } }, { text: 'Hi' }] } },
        stopReason: 'end_turn',
        usage,
      },
      'm',
    )
    expect(output.message.reasoning_content).toBe('')
    expect(output.message.thinking_blocks).toEqual([{ type: 'redacted_thinking', data: 'eA==' }])
  })

  it('streams redacted thinking as a thinking block', async () => {
    const out = await stream([
      event('contentBlockDelta', {
        contentBlockIndex: 0,
        delta: { reasoningContent: { redactedContent: 'eA==' } },
      }),
      event('messageStop', { stopReason: 'end_turn' }),
    ])
    expect(out[0]).toEqual({ thinkingBlocks: [{ type: 'redacted_thinking', data: 'eA==' }] })
  })

  it('renders reasoning_content and thinking_blocks in chunk deltas', () => {
    expect(
      toChunkDelta({ reasoningContent: 'hm', thinkingBlocks: [{ type: 'thinking', thinking: 'hm' }] }, false),
    ).toEqual({ reasoning_content: 'hm', thinking_blocks: [{ type: 'thinking', thinking: 'hm' }] })
    expect(toChunkDelta({ thinkingBlocks: [{ type: 'redacted_thinking', data: 'x' }] }, false)).toEqual({
      thinking_blocks: [{ type: 'redacted_thinking', data: 'x' }],
    })
  })
})

describe('guardrails', () => {
  it('maps guardrail_intervened to content_filter and passes the trace through top-level', () => {
    const trace = { guardrail: { inputAssessment: { 'gr-abc': { topicPolicy: { topics: [] } } } } }
    const output = toChatOutput(
      {
        output: { message: { content: [{ text: 'Sorry, I cannot help with that.' }] } },
        stopReason: 'guardrail_intervened',
        usage,
        trace,
      },
      'm',
    )
    expect(output.finishReason).toBe('content_filter')
    expect(output.trace).toEqual(trace)
    const completion = toChatCompletion(output, { id: 'c', created: 1, model: 'm' })
    expect(completion.trace).toEqual(trace)
    expect(completion.choices[0]?.finish_reason).toBe('content_filter')
  })

  it('adds no trace member when Bedrock sent none', () => {
    const output = toChatOutput(
      { output: { message: { content: [{ text: 'x' }] } }, stopReason: 'end_turn', usage },
      'm',
    )
    expect('trace' in toChatCompletion(output, { id: 'c', created: 1, model: 'm' })).toBe(false)
  })

  it('streams a guardrail stop as content_filter', async () => {
    const out = await stream([
      event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Blocked.' } }),
      event('messageStop', { stopReason: 'guardrail_intervened' }),
    ])
    expect(out.at(-1)).toEqual({ finishReason: 'content_filter' })
  })
})
