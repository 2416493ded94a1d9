import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { type ChatRequest, chatRequestSchema } from '../../src/openai/chat-request'
import { toConverseRequest } from '../../src/providers/bedrock/converse-request'
import type { Deployment } from '../../src/providers/types'

const deployment = (params: Record<string, unknown> = {}): Deployment => ({
  id: 'd1',
  modelName: 'claude',
  provider: 'bedrock',
  providerModel: 'anthropic.claude-3-haiku-20240307-v1:0',
  params: { model: 'bedrock/anthropic.claude-3-haiku-20240307-v1:0', ...params },
  modelInfo: {},
})

const request = (body: Record<string, unknown>): ChatRequest =>
  chatRequestSchema.parse({ model: 'claude', ...body })

const map = (body: Record<string, unknown>, params?: Record<string, unknown>, dropParams = false) =>
  toConverseRequest(request(body), deployment(params), { dropParams })

function rejection(fn: () => unknown): GatewayError {
  try {
    fn()
  } catch (error) {
    if (error instanceof GatewayError) return error
    throw error
  }
  throw new Error('expected a GatewayError')
}

describe('toConverseRequest: messages', () => {
  it('moves system and developer messages from any position to top-level system blocks', () => {
    const body = map({
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'user', content: 'Hi' },
        { role: 'developer', content: [{ type: 'text', text: 'No emojis.' }] },
        { role: 'user', content: 'There' },
      ],
    })
    expect(body.system).toEqual([{ text: 'Be terse.' }, { text: 'No emojis.' }])
    // The two user messages around the developer message become one user turn.
    expect(body.messages).toEqual([{ role: 'user', content: [{ text: 'Hi' }, { text: 'There' }] }])
  })

  it('keeps alternation and merges consecutive same-role messages', () => {
    const body = map({
      messages: [
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
        { role: 'assistant', content: 'c' },
        { role: 'assistant', content: 'd' },
        { role: 'user', content: 'e' },
      ],
    })
    expect(body.messages).toEqual([
      { role: 'user', content: [{ text: 'a' }, { text: 'b' }] },
      { role: 'assistant', content: [{ text: 'c' }, { text: 'd' }] },
      { role: 'user', content: [{ text: 'e' }] },
    ])
  })

  it('maps text and data-URL image parts', () => {
    const body = map({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: 'data:image/jpeg;base64,/9j/4AAQ' },
          ],
        },
      ],
    })
    expect(body.messages[0]?.content).toEqual([
      { text: 'What is this?' },
      { image: { format: 'png', source: { bytes: 'iVBORw0KGgo=' } } },
      { image: { format: 'jpeg', source: { bytes: '/9j/4AAQ' } } },
    ])
  })

  it('rejects http image URLs and unsupported image types with 400 and the part as param', () => {
    const remote = rejection(() =>
      map({
        messages: [
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }],
          },
        ],
      }),
    )
    expect(remote.status).toBe(400)
    expect(remote.message).toMatch(/data URLs/)
    expect(remote.param).toBe('messages[0].content[0].image_url')
    const bmp = rejection(() =>
      map({
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: 'data:image/bmp;base64,Qk0=' }] },
        ],
      }),
    )
    expect(bmp.status).toBe(400)
    expect(bmp.message).toMatch(/image\/bmp/)
  })

  it('maps assistant tool_calls to toolUse and tool messages to one merged user turn of toolResults', () => {
    const body = map({
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
            { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'rain' }] },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
    })
    expect(body.messages).toEqual([
      { role: 'user', content: [{ text: 'Weather in Paris and Rome?' }] },
      {
        role: 'assistant',
        content: [
          { text: 'Checking.' },
          { toolUse: { toolUseId: 'call_1', name: 'get_weather', input: { city: 'Paris' } } },
          { toolUse: { toolUseId: 'call_2', name: 'get_weather', input: {} } },
        ],
      },
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 'call_1', content: [{ text: 'sunny' }] } },
          { toolResult: { toolUseId: 'call_2', content: [{ text: 'rain' }] } },
        ],
      },
    ])
  })

  it('maps the legacy function role and function_call by function name', () => {
    const body = map({
      messages: [
        { role: 'user', content: 'time?' },
        { role: 'assistant', content: null, function_call: { name: 'now', arguments: '{}' } },
        { role: 'function', name: 'now', content: '12:00' },
      ],
    })
    expect(body.messages.slice(1)).toEqual([
      { role: 'assistant', content: [{ toolUse: { toolUseId: 'now', name: 'now', input: {} } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: 'now', content: [{ text: '12:00' }] } }] },
    ])
  })

  it('rejects invalid tool-call JSON with 400 naming messages[i].tool_calls', () => {
    const error = rejection(() =>
      map({
        messages: [
          { role: 'user', content: 'x' },
          {
            role: 'assistant',
            tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }],
          },
        ],
      }),
    )
    expect(error.status).toBe(400)
    expect(error.param).toBe('messages[1].tool_calls')
  })

  it('never sends blank text: drops it, and fills an empty user turn and an empty tool result', () => {
    const body = map({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: '  ' },
            { type: 'text', text: 'real' },
          ],
        },
        { role: 'assistant', content: '' },
        { role: 'user', content: '' },
        {
          role: 'assistant',
          content: 'ok',
          tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 't', content: '' },
      ],
    })
    const texts = JSON.stringify(body.messages)
    expect(texts).not.toMatch(/"text":"\s*"/)
    // The empty assistant message vanished, so both user messages share one turn.
    expect(body.messages[0]).toEqual({
      role: 'user',
      content: [{ text: 'real' }, { text: 'Please continue.' }],
    })
    expect(body.messages[2]?.content[0]).toEqual({
      toolResult: { toolUseId: 't', content: [{ text: '(empty)' }] },
    })
  })

  it('requires a non-system message', () => {
    const error = rejection(() => map({ messages: [{ role: 'system', content: 'only system' }] }))
    expect(error.status).toBe(400)
    expect(error.message).toBe('bedrock requires at least one non-system message')
  })

  it('rejects a conversation that starts with an assistant turn', () => {
    const error = rejection(() =>
      map({
        messages: [
          { role: 'system', content: 's' },
          { role: 'assistant', content: 'Hello!' },
          { role: 'user', content: 'hi' },
        ],
      }),
    )
    expect(error.status).toBe(400)
    expect(error.message).toMatch(/start with a user message/)
  })
})

describe('toConverseRequest: tools', () => {
  const tools = [
    {
      type: 'function',
      function: {
        name: 'a',
        description: 'tool a',
        parameters: { type: 'object', properties: { x: { type: 'string' } } },
      },
    },
    { type: 'function', function: { name: 'b' } },
  ]
  const messages = [{ role: 'user', content: 'hi' }]

  it('maps tools to toolSpecs with a default input schema', () => {
    expect(map({ messages, tools }).toolConfig).toEqual({
      tools: [
        {
          toolSpec: {
            name: 'a',
            description: 'tool a',
            inputSchema: { json: { type: 'object', properties: { x: { type: 'string' } } } },
          },
        },
        { toolSpec: { name: 'b', inputSchema: { json: { type: 'object', properties: {} } } } },
      ],
    })
  })

  it('maps tool_choice auto, required and a named function', () => {
    expect(map({ messages, tools, tool_choice: 'auto' }).toolConfig?.toolChoice).toEqual({ auto: {} })
    expect(map({ messages, tools, tool_choice: 'required' }).toolConfig?.toolChoice).toEqual({ any: {} })
    expect(
      map({ messages, tools, tool_choice: { type: 'function', function: { name: 'b' } } }).toolConfig
        ?.toolChoice,
    ).toEqual({ tool: { name: 'b' } })
  })

  it('omits toolConfig for tool_choice none, unless the history holds tool blocks', () => {
    expect(map({ messages, tools, tool_choice: 'none' }).toolConfig).toBeUndefined()
    const withHistory = map({
      messages: [
        ...messages,
        {
          role: 'assistant',
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'a', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'c', content: 'r' },
      ],
      tools,
      tool_choice: 'none',
    })
    expect(withHistory.toolConfig?.tools).toHaveLength(2)
    expect(withHistory.toolConfig?.toolChoice).toBeUndefined()
  })
})

describe('toConverseRequest: inference parameters', () => {
  const messages = [{ role: 'user', content: 'hi' }]

  it('maps max tokens, temperature, top_p and stop', () => {
    const body = map({
      messages,
      max_completion_tokens: 100,
      max_tokens: 50,
      temperature: 0.2,
      top_p: 0.9,
      stop: ['END', ''],
    })
    expect(body.inferenceConfig).toEqual({
      maxTokens: 100,
      temperature: 0.2,
      topP: 0.9,
      stopSequences: ['END'],
    })
    expect(map({ messages, max_tokens: 50, stop: 'X' }).inferenceConfig).toEqual({
      maxTokens: 50,
      stopSequences: ['X'],
    })
    expect(map({ messages, stop: '' }).inferenceConfig).toBeUndefined()
  })

  it('uses deployment defaults only where the request is silent', () => {
    const body = map({ messages, temperature: 0.5 }, { temperature: 0.1, max_tokens: 256, top_k: 40 })
    expect(body.inferenceConfig).toEqual({ maxTokens: 256, temperature: 0.5 })
    expect(body.additionalModelRequestFields).toEqual({ top_k: 40 })
  })

  it('sends top_k from the request in additionalModelRequestFields', () => {
    expect(map({ messages, top_k: 7 }, { top_k: 40 }).additionalModelRequestFields).toEqual({ top_k: 7 })
  })

  it('sends nothing optional for a bare request', () => {
    expect(map({ messages })).toEqual({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] })
  })
})

describe('toConverseRequest: unsupported OpenAI parameters', () => {
  const messages = [{ role: 'user', content: 'hi' }]

  it.each([
    ['n', { n: 2 }],
    ['seed', { seed: 42 }],
    ['presence_penalty', { presence_penalty: 0.5 }],
    // LiteLLM compares against None, so an explicit 0 still counts as asking for it.
    ['frequency_penalty', { frequency_penalty: 0 }],
    ['logit_bias', { logit_bias: { '50256': -100 } }],
    ['logprobs', { logprobs: true }],
    ['top_logprobs', { top_logprobs: 3 }],
  ])('rejects %s with a 400 naming it, like LiteLLM (UnsupportedParamsError)', (name, extra) => {
    const error = rejection(() => map({ messages, ...extra }))
    expect(error.status).toBe(400)
    expect(error.param).toBe(name)
    expect(error.origin).toBe('client')
    expect(error.message).toBe(
      `litellm.UnsupportedParamsError: bedrock does not support parameters: ['${name}'], for model=anthropic.claude-3-haiku-20240307-v1:0. ` +
        'To drop these, set litellm.drop_params=True (drop_params: true in litellm_settings, the deployment or the request).',
    )
  })

  it('lists every unsupported parameter and points param at the first', () => {
    const error = rejection(() => map({ messages, seed: 1, logit_bias: {}, top_logprobs: 2 }))
    expect(error.param).toBe('seed')
    expect(error.message).toMatch(/parameters: \['seed', 'logit_bias', 'top_logprobs'\], for model=/)
  })

  it('names the model without the converse/ route marker', () => {
    const error = rejection(() =>
      toConverseRequest(
        request({ messages, seed: 1 }),
        { ...deployment(), providerModel: 'converse/anthropic.claude-3-haiku-20240307-v1:0' },
        { dropParams: false },
      ),
    )
    expect(error.message).toMatch(/for model=anthropic\.claude-3-haiku-20240307-v1:0\./)
  })

  it('accepts the values that ask for nothing extra', () => {
    const body = map({
      messages,
      n: 1,
      response_format: { type: 'text' },
      logprobs: false,
      seed: null,
      presence_penalty: null,
      top_logprobs: null,
    })
    expect(body).toEqual({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] })
  })

  it('silently drops them with drop_params, sending the same body as without them', () => {
    const all = {
      n: 3,
      seed: 7,
      presence_penalty: 1,
      frequency_penalty: 1,
      logit_bias: { '1': 1 },
      logprobs: true,
      top_logprobs: 5,
    }
    const body = map({ messages, temperature: 0.3, ...all }, undefined, true)
    expect(body).toEqual(map({ messages, temperature: 0.3 }))
    expect(body).toEqual({
      messages: [{ role: 'user', content: [{ text: 'hi' }] }],
      inferenceConfig: { temperature: 0.3 },
    })
  })
})
