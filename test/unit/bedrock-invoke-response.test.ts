import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import {
  anthropicToChatOutput,
  mapAnthropicStopReason,
  mapAnthropicUsage,
} from '../../src/providers/bedrock/invoke-response'

const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0'

describe('anthropicToChatOutput', () => {
  it('joins text blocks and maps usage and the stop reason', () => {
    const output = anthropicToChatOutput(
      {
        id: 'msg_bdrk_1',
        type: 'message',
        content: [
          { type: 'text', text: 'Hello' },
          { type: 'text', text: ' world' },
        ],
        stop_reason: 'end_turn',
        usage: { input_tokens: 10, output_tokens: 3 },
      },
      MODEL,
    )
    expect(output).toEqual({
      message: { role: 'assistant', content: 'Hello world' },
      finishReason: 'stop',
      usage: {
        prompt_tokens: 10,
        completion_tokens: 3,
        total_tokens: 13,
        prompt_tokens_details: { cached_tokens: 0 },
      },
      model: MODEL,
    })
  })

  it('maps tool_use blocks to tool_calls with JSON arguments and content null', () => {
    const output = anthropicToChatOutput(
      {
        content: [
          { type: 'tool_use', id: 'toolu_bdrk_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_bdrk_2', name: 'now', input: {} },
        ],
        stop_reason: 'tool_use',
        usage: { input_tokens: 5, output_tokens: 7 },
      },
      MODEL,
    )
    expect(output.message).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        {
          id: 'toolu_bdrk_1',
          type: 'function',
          function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
        },
        { id: 'toolu_bdrk_2', type: 'function', function: { name: 'now', arguments: '{}' } },
      ],
    })
    expect(output.finishReason).toBe('tool_calls')
  })

  it('returns thinking as reasoning_content and as thinking_blocks with the signature', () => {
    const output = anthropicToChatOutput(
      {
        content: [
          { type: 'thinking', thinking: 'Let me think.', signature: 'sig==' },
          { type: 'redacted_thinking', data: 'opaque' },
          { type: 'text', text: 'Answer' },
        ],
        stop_reason: 'end_turn',
        usage: { input_tokens: 1, output_tokens: 1 },
      },
      MODEL,
    )
    expect(output.message.reasoning_content).toBe('Let me think.')
    expect(output.message.thinking_blocks).toEqual([
      { type: 'thinking', thinking: 'Let me think.', signature: 'sig==' },
      { type: 'redacted_thinking', data: 'opaque' },
    ])
    expect(output.message.content).toBe('Answer')
  })

  it('is a 502 when the answer has no content list', () => {
    expect(() => anthropicToChatOutput({ type: 'message' }, MODEL)).toThrow(GatewayError)
    try {
      anthropicToChatOutput({}, MODEL)
    } catch (error) {
      expect((error as GatewayError).status).toBe(502)
    }
  })
})

describe('mapAnthropicUsage', () => {
  it('counts cache reads and writes into prompt_tokens, with cached_tokens and LiteLLM fields', () => {
    expect(
      mapAnthropicUsage({
        input_tokens: 10,
        output_tokens: 5,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 20,
      }),
    ).toEqual({
      prompt_tokens: 130,
      completion_tokens: 5,
      total_tokens: 135,
      prompt_tokens_details: { cached_tokens: 100 },
      cache_read_input_tokens: 100,
      cache_creation_input_tokens: 20,
    })
  })
})

describe('mapAnthropicStopReason', () => {
  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    ['pause_turn', 'stop'],
    ['something_new', 'stop'],
    [null, 'stop'],
  ])('%s → %s', (reason, expected) => {
    expect(mapAnthropicStopReason(reason)).toBe(expected)
  })
})
