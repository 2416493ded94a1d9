import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { mapStopReason, mapUsage, toChatOutput } from '../../src/providers/bedrock/converse-response'

describe('toChatOutput', () => {
  it('maps the protocols.md §1.5 text + tool answer', () => {
    const output = toChatOutput(
      {
        output: {
          message: {
            role: 'assistant',
            content: [
              { text: 'Hi' },
              { text: '!' },
              { toolUse: { toolUseId: 'tooluse_abc', name: 'get_weather', input: { city: 'Paris' } } },
            ],
          },
        },
        stopReason: 'tool_use',
        usage: {
          inputTokens: 25,
          outputTokens: 40,
          totalTokens: 65,
          cacheReadInputTokens: 0,
          cacheWriteInputTokens: 0,
        },
      },
      'anthropic.claude-3-haiku-20240307-v1:0',
    )
    expect(output).toEqual({
      message: {
        role: 'assistant',
        content: 'Hi!',
        tool_calls: [
          {
            id: 'tooluse_abc',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
        ],
      },
      finishReason: 'tool_calls',
      usage: {
        prompt_tokens: 25,
        completion_tokens: 40,
        total_tokens: 65,
        prompt_tokens_details: { cached_tokens: 0 },
      },
      model: 'anthropic.claude-3-haiku-20240307-v1:0',
    })
  })

  it('gives null content when there is no text, and maps reasoning', () => {
    const output = toChatOutput(
      {
        output: {
          message: {
            content: [
              { reasoningContent: { reasoningText: { text: 'think', signature: 'sig' } } },
              { toolUse: { toolUseId: 't', name: 'f', input: {} } },
            ],
          },
        },
        stopReason: 'tool_use',
        usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
      },
      'm',
    )
    expect(output.message.content).toBeNull()
    expect(output.message.reasoning_content).toBe('think')
    expect(output.message.tool_calls?.[0]?.function.arguments).toBe('{}')
  })

  it('omits tool_calls and reasoning_content when absent', () => {
    const output = toChatOutput(
      { output: { message: { content: [{ text: 'ok' }] } }, stopReason: 'end_turn' },
      'm',
    )
    expect(output.message).toEqual({ role: 'assistant', content: 'ok' })
  })

  it('throws a 502 for a response without output.message.content', () => {
    expect(() => toChatOutput({ stopReason: 'end_turn' }, 'm')).toThrow(GatewayError)
  })
})

describe('mapStopReason', () => {
  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['guardrail_intervened', 'content_filter'],
    ['content_filtered', 'content_filter'],
    ['something_new', 'stop'],
    [undefined, 'stop'],
  ] as const)('%s → %s', (reason, expected) => {
    expect(mapStopReason(reason)).toBe(expected)
  })
})

describe('mapUsage', () => {
  it('counts prompt-cache reads and writes as prompt tokens', () => {
    expect(
      mapUsage({
        inputTokens: 10,
        outputTokens: 5,
        totalTokens: 1215,
        cacheReadInputTokens: 1000,
        cacheWriteInputTokens: 200,
      }),
    ).toEqual({
      prompt_tokens: 1210,
      completion_tokens: 5,
      total_tokens: 1215,
      prompt_tokens_details: { cached_tokens: 1000 },
      cache_read_input_tokens: 1000,
      cache_creation_input_tokens: 200,
    })
  })

  it('sums the total when Bedrock omits it', () => {
    expect(mapUsage({ inputTokens: 3, outputTokens: 4 }).total_tokens).toBe(7)
  })
})
