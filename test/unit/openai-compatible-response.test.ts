import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { toChatOutput } from '../../src/providers/openai-compatible/chat-output'
import { streamDeltas } from '../../src/providers/openai-compatible/chat-stream'
import { toEmbeddingOutput } from '../../src/providers/openai-compatible/embeddings'
import type { SseEvent } from '../../src/providers/openai-compatible/sse-events'
import type { ChatDelta } from '../../src/providers/types'

const context = { exceptionName: 'OpenAIException', apiKey: undefined }
const messages = [{ role: 'user' as const, content: 'Hello there friend' }]

async function* events(...datas: Array<string | SseEvent>): AsyncGenerator<SseEvent> {
  for (const d of datas) yield typeof d === 'string' ? { event: undefined, data: d } : d
}

async function deltas(source: AsyncIterable<SseEvent>): Promise<ChatDelta[]> {
  const out: ChatDelta[] = []
  for await (const d of streamDeltas(source, context)) out.push(d)
  return out
}

async function failure(source: AsyncIterable<SseEvent>): Promise<GatewayError> {
  try {
    await deltas(source)
  } catch (error) {
    if (error instanceof GatewayError) return error
    throw error
  }
  throw new Error('expected the stream to fail')
}

const chunk = (
  delta: Record<string, unknown>,
  finish: string | null = null,
  extra: Record<string, unknown> = {},
) =>
  JSON.stringify({
    id: 'c1',
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...extra,
  })

describe('toChatOutput', () => {
  it('maps content, tool calls, reasoning, finish reason, usage with cached tokens and the upstream model', () => {
    const output = toChatOutput(
      {
        id: 'x',
        model: 'gpt-4o-mini-2024-07-18',
        choices: [
          {
            index: 0,
            finish_reason: 'tool_calls',
            message: {
              role: 'assistant',
              content: null,
              reasoning_content: 'thinking',
              tool_calls: [
                {
                  id: 'call_1',
                  type: 'function',
                  function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
                },
              ],
            },
          },
        ],
        usage: {
          prompt_tokens: 20,
          completion_tokens: 5,
          total_tokens: 25,
          prompt_tokens_details: { cached_tokens: 16 },
        },
      },
      messages,
      context,
    )
    expect(output).toEqual({
      message: {
        role: 'assistant',
        content: null,
        reasoning_content: 'thinking',
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
        ],
      },
      finishReason: 'tool_calls',
      usage: {
        prompt_tokens: 20,
        completion_tokens: 5,
        total_tokens: 25,
        prompt_tokens_details: { cached_tokens: 16 },
      },
      model: 'gpt-4o-mini-2024-07-18',
    })
  })

  it("folds other servers' finish reasons and vLLM's newer `reasoning` field", () => {
    const output = toChatOutput(
      {
        choices: [{ message: { content: 'hi', reasoning: 'r' }, finish_reason: 'eos_token' }],
        usage: { prompt_tokens: 1, completion_tokens: 1 },
      },
      messages,
      context,
    )
    expect(output.finishReason).toBe('stop')
    expect(output.message.reasoning_content).toBe('r')
    expect(output.usage.total_tokens).toBe(2)
    expect(output.model).toBeUndefined()
  })

  it('estimates usage when the server sends none, so spend is not 0', () => {
    const output = toChatOutput(
      { choices: [{ index: 0, message: { content: 'a reply of some length' }, finish_reason: 'stop' }] },
      messages,
      context,
    )
    expect(output.usage.prompt_tokens).toBeGreaterThan(0)
    expect(output.usage.completion_tokens).toBeGreaterThan(0)
  })

  it('answers 502 for something that is not a chat.completion', () => {
    for (const body of [null, {}, { choices: [] }, { choices: [{ index: 0 }] }]) {
      let error: unknown
      try {
        toChatOutput(body, messages, context)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(GatewayError)
      expect((error as GatewayError).status).toBe(502)
    }
  })
})

describe('streamDeltas', () => {
  it('maps content, reasoning, tool-call fragments, finish reason and the usage chunk', async () => {
    const out = await deltas(
      events(
        chunk({ role: 'assistant', content: '' }),
        chunk({ reasoning_content: 'hmm' }),
        chunk({ content: 'Hel' }),
        chunk({ content: 'lo' }),
        chunk({
          tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'f', arguments: '' } }],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
        chunk({}, 'tool_calls'),
        JSON.stringify({
          id: 'c1',
          choices: [],
          usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
        }),
        '[DONE]',
        // Nothing after [DONE] is read.
        chunk({ content: 'ignored' }),
      ),
    )
    expect(out).toEqual([
      { reasoningContent: 'hmm' },
      { content: 'Hel' },
      { content: 'lo' },
      { toolCalls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'f', arguments: '' } }] },
      { toolCalls: [{ index: 0, function: { arguments: '{"a":' } }] },
      { toolCalls: [{ index: 0, function: { arguments: '1}' } }] },
      { finishReason: 'tool_calls' },
      { usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } },
    ])
  })

  it('reads only choice 0 and fills in a missing tool-call index', async () => {
    const other = JSON.stringify({
      choices: [{ index: 1, delta: { content: 'other choice' }, finish_reason: null }],
    })
    const out = await deltas(
      events(
        other,
        chunk({ tool_calls: [{ id: 'c', function: { name: 'f', arguments: '{}' } }] }),
        chunk({}, 'stop'),
        '[DONE]',
      ),
    )
    expect(out).toEqual([
      { toolCalls: [{ index: 0, id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { finishReason: 'stop' },
    ])
  })

  it('accepts a stream without [DONE] after a finish reason', async () => {
    expect(await deltas(events(chunk({ content: 'x' }), chunk({}, 'length')))).toEqual([
      { content: 'x' },
      { finishReason: 'length' },
    ])
  })

  it('fails a stream cut before any finish reason', async () => {
    const error = await failure(events(chunk({ content: 'x' })))
    expect(error.status).toBe(502)
    expect(error.message).toContain('ended before the answer was complete')
  })

  it('turns an error object in the stream into a GatewayError', async () => {
    const error = await failure(
      events(chunk({ content: 'x' }), JSON.stringify({ error: { message: 'overloaded', code: 503 } })),
    )
    expect(error.status).toBe(503)
    expect(error.message).toBe(
      'litellm.ServiceUnavailableError: ServiceUnavailableError: OpenAIException - overloaded',
    )
    const named = await failure(events({ event: 'error', data: JSON.stringify({ message: 'boom' }) }))
    expect(named.status).toBe(500)
    expect(named.message).toContain('boom')
  })

  it('fails on an event that is not JSON', async () => {
    expect((await failure(events('{not json'))).status).toBe(502)
  })
})

describe('toEmbeddingOutput', () => {
  it('orders vectors by index and keeps usage and model', () => {
    const output = toEmbeddingOutput(
      {
        data: [
          { index: 1, embedding: [0.5, 0.25] },
          { index: 0, embedding: [1, 2] },
        ],
        model: 'text-embedding-3-small',
        usage: { prompt_tokens: 4, total_tokens: 4 },
      },
      ['a', 'b'],
      context,
    )
    expect(output).toEqual({
      vectors: [
        [1, 2],
        [0.5, 0.25],
      ],
      usage: { prompt_tokens: 4, total_tokens: 4 },
      model: 'text-embedding-3-small',
    })
  })

  it('decodes a base64 embedding from a server that ignored encoding_format', () => {
    const floats = new Float32Array([0.5, -1.25, 3])
    const base64 = btoa(String.fromCharCode(...new Uint8Array(floats.buffer)))
    const output = toEmbeddingOutput(
      { data: [{ index: 0, embedding: base64 }] },
      ['some input text'],
      context,
    )
    expect(output.vectors).toEqual([[0.5, -1.25, 3]])
    // No usage from the server: an estimate (15 characters, ~4 a token), marked as one.
    expect(output.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 })
    expect(output.usageEstimated).toBe(true)
  })

  it('answers 502 when an input has no vector', () => {
    expect(() => toEmbeddingOutput({ data: [{ index: 0, embedding: [1] }] }, ['a', 'b'], context)).toThrow(
      /no embedding for input 1/,
    )
  })
})
