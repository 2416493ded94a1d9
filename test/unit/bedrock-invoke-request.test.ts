import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { chatRequestSchema } from '../../src/openai/chat-request'
import {
  ANTHROPIC_BEDROCK_VERSION,
  anthropicInvokeModel,
  DEFAULT_INVOKE_MAX_TOKENS,
  toAnthropicInvokeRequest,
} from '../../src/providers/bedrock/invoke-request'
import { bedrockModelId, bedrockRoute } from '../../src/providers/bedrock/model-id'
import type { Deployment } from '../../src/providers/types'

const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0'

const deployment = (providerModel = `invoke/${HAIKU}`, params: Record<string, unknown> = {}): Deployment => ({
  id: 'd1',
  modelName: 'claude',
  provider: 'bedrock',
  providerModel,
  params: { model: `bedrock/${providerModel}`, ...params },
  modelInfo: {},
})

const map = (body: Record<string, unknown>, params: Record<string, unknown> = {}, dropParams = false) =>
  toAnthropicInvokeRequest(
    chatRequestSchema.parse({ model: 'claude', ...body }),
    deployment(`invoke/${HAIKU}`, params),
    { dropParams },
  )

const SONNET_37 = 'anthropic.claude-3-7-sonnet-20250219-v1:0'

const mapOn = (model: string, body: Record<string, unknown>, params: Record<string, unknown> = {}) =>
  toAnthropicInvokeRequest(
    chatRequestSchema.parse({ model: 'claude', ...body }),
    deployment(`invoke/${model}`, params),
    { dropParams: false },
  )

const thrown = (fn: () => unknown): GatewayError => {
  try {
    fn()
  } catch (error) {
    if (error instanceof GatewayError) return error
    throw error
  }
  throw new Error('expected a GatewayError')
}

describe('the invoke/ route', () => {
  it('selects Invoke with invoke/, Converse otherwise, and calls the id without the marker', () => {
    expect(bedrockRoute(deployment(`invoke/${HAIKU}`))).toBe('invoke')
    expect(bedrockModelId(deployment(`invoke/${HAIKU}`))).toBe(HAIKU)
    expect(bedrockRoute(deployment(HAIKU))).toBe('converse')
    expect(bedrockRoute(deployment(`converse/${HAIKU}`))).toBe('converse')
    // model_id replaces the id called, the route stays.
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123'
    expect(bedrockModelId(deployment(`invoke/${HAIKU}`, { model_id: arn }))).toBe(arn)
    expect(bedrockRoute(deployment(`invoke/${HAIKU}`, { model_id: arn }))).toBe('invoke')
  })

  it('accepts Claude by id, cross-region profile or ARN, and refuses other families with a clear 400', () => {
    expect(anthropicInvokeModel(deployment(`invoke/us.${HAIKU}`))).toBe(`us.${HAIKU}`)
    expect(
      anthropicInvokeModel(
        deployment(`invoke/arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.${HAIKU}`),
      ),
    ).toMatch(/inference-profile/)
    const error = thrown(() => anthropicInvokeModel(deployment('invoke/meta.llama3-8b-instruct-v1:0')))
    expect(error.status).toBe(400)
    expect(error.retryable).toBe(false)
    expect(error.message).toMatch(/Invoke .*meta\.llama3.* Anthropic Claude models only/)
  })

  it('still rejects a marker behind invoke/ (invoke/converse/… is no model id)', () => {
    expect(thrown(() => bedrockRoute(deployment(`invoke/converse/${HAIKU}`))).message).toMatch(
      /^Bedrock route 'converse\/'/,
    )
  })
})

describe('toAnthropicInvokeRequest', () => {
  it('builds the Messages body: version, default max_tokens, system blocks, merged turns', () => {
    const body = map({
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'user', content: 'Hi' },
        { role: 'user', content: [{ type: 'text', text: 'there' }] },
        { role: 'developer', content: 'And polite.' },
      ],
    })
    expect(body).toEqual({
      anthropic_version: ANTHROPIC_BEDROCK_VERSION,
      max_tokens: DEFAULT_INVOKE_MAX_TOKENS,
      system: [
        { type: 'text', text: 'Be terse.' },
        { type: 'text', text: 'And polite.' },
      ],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Hi' },
            { type: 'text', text: 'there' },
          ],
        },
      ],
    })
    expect(body).not.toHaveProperty('model')
    expect(body).not.toHaveProperty('stream')
    expect(DEFAULT_INVOKE_MAX_TOKENS).toBe(4096)
  })

  it('maps sampling parameters, the request over the deployment defaults', () => {
    const body = map(
      { messages: [{ role: 'user', content: 'x' }], temperature: 0.2, stop: 'END', top_k: 5 },
      { max_tokens: 300, top_p: 0.9, temperature: 0.7 },
    )
    expect(body).toMatchObject({
      max_tokens: 300,
      temperature: 0.2,
      top_p: 0.9,
      top_k: 5,
      stop_sequences: ['END'],
    })
    expect(map({ messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 77 }).max_tokens).toBe(77)
  })

  it('maps tools, tool_choice, assistant tool calls and tool results', () => {
    const body = map({
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            {
              id: 'toolu_1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: '18°C' },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Weather',
            parameters: { type: 'object', properties: { city: { type: 'string' } } },
          },
        },
        { type: 'function', function: { name: 'no_params' } },
      ],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    })
    expect(body.tools).toEqual([
      {
        name: 'get_weather',
        description: 'Weather',
        input_schema: { type: 'object', properties: { city: { type: 'string' } } },
      },
      { name: 'no_params', input_schema: { type: 'object', properties: {} } },
    ])
    expect(body.tool_choice).toEqual({ type: 'tool', name: 'get_weather' })
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '18°C' }] },
    ])
  })

  it.each([
    ['auto', { type: 'auto' }],
    ['required', { type: 'any' }],
    ['none', { type: 'none' }],
  ])('maps tool_choice %s', (choice, expected) => {
    const tools = [{ type: 'function', function: { name: 'f' } }]
    expect(
      map({ messages: [{ role: 'user', content: 'x' }], tools, tool_choice: choice }).tool_choice,
    ).toEqual(expected)
  })

  it('sends data-URL images as base64 image blocks and refuses remote URLs', () => {
    const body = map({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
      ],
    })
    expect(body.messages[0]?.content[1]).toEqual({
      type: 'image',
      source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' },
    })
    const error = thrown(() =>
      map({
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }],
      }),
    )
    expect(error.status).toBe(400)
  })

  it('answers 400 for an unsupported parameter, or drops it with drop_params', () => {
    const body = { messages: [{ role: 'user', content: 'x' }], seed: 1, n: 2 }
    const error = thrown(() => map(body))
    expect(error.status).toBe(400)
    expect(error.message).toMatch(
      /UnsupportedParamsError: bedrock does not support parameters: \['n', 'seed'\]/,
    )
    expect(map(body, {}, true)).not.toHaveProperty('seed')
  })

  it('passes Anthropic-native thinking through, and anthropic_beta only where litellm_params sets it', () => {
    const ask = {
      messages: [{ role: 'user', content: 'x' }],
      max_tokens: 3000,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      anthropic_beta: ['token-efficient-tools-2025-02-19'],
    }
    const body = mapOn(SONNET_37, ask)
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 })
    // A beta flag can switch on premium pricing the spend tracking does not know: operator's call.
    expect(body.anthropic_beta).toBeUndefined()
    expect(mapOn(SONNET_37, ask, { anthropic_beta: [] }).anthropic_beta).toEqual([
      'token-efficient-tools-2025-02-19',
    ])
    expect(
      mapOn(SONNET_37, { messages: ask.messages }, { anthropic_beta: ['context-1m-2025-08-07'] })
        .anthropic_beta,
    ).toEqual(['context-1m-2025-08-07'])
  })

  it('raises the default max_tokens above the thinking budget, as Converse does', () => {
    const body = mapOn(SONNET_37, {
      messages: [{ role: 'user', content: 'x' }],
      thinking: { type: 'enabled', budget_tokens: 8000 },
    })
    expect(body.max_tokens).toBe(8000 + 4096)
    // An explicit max_tokens is the caller's (Bedrock explains one below the budget).
    expect(
      mapOn(SONNET_37, {
        messages: [{ role: 'user', content: 'x' }],
        max_tokens: 9000,
        thinking: { type: 'enabled', budget_tokens: 8000 },
      }).max_tokens,
    ).toBe(9000)
  })

  it('maps reasoning_effort to a thinking budget as Converse does, clamping to Bedrock’s minimum', () => {
    const body = mapOn(SONNET_37, { messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'high' })
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 4096 })
    expect(body.max_tokens).toBe(4096 + 4096)
    expect(
      mapOn(SONNET_37, {
        messages: [{ role: 'user', content: 'x' }],
        thinking: { type: 'enabled', budget_tokens: 100 },
      }).thinking,
    ).toEqual({ type: 'enabled', budget_tokens: 1024 })
    expect(
      mapOn(SONNET_37, { messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'none' }),
    ).not.toHaveProperty('thinking')
  })

  it('asks for tool_choice auto while thinking (Claude refuses a forced tool then)', () => {
    const body = mapOn(SONNET_37, {
      messages: [{ role: 'user', content: 'x' }],
      reasoning_effort: 'low',
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      tool_choice: 'required',
    })
    expect(body.tool_choice).toEqual({ type: 'auto' })
  })

  it('refuses reasoning on a Claude that cannot think, clearly (or drops it with drop_params)', () => {
    const error = thrown(() => map({ messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'low' }))
    expect(error.status).toBe(400)
    expect(error.message).toMatch(
      /UnsupportedParamsError: bedrock does not support parameters: \['reasoning_effort'\]/,
    )
    expect(
      thrown(() =>
        map({
          messages: [{ role: 'user', content: 'x' }],
          thinking: { type: 'enabled', budget_tokens: 2000 },
        }),
      ).param,
    ).toBe('thinking')
    expect(
      map({ messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'low' }, {}, true),
    ).not.toHaveProperty('thinking')
  })

  it('rejects a conversation that starts with the assistant, like the Converse route', () => {
    expect(thrown(() => map({ messages: [{ role: 'assistant', content: 'Hello' }] })).status).toBe(400)
  })
})

describe('response_format on the invoke/ route (the Converse schema tool)', () => {
  const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }
  const ask = (extra: Record<string, unknown>) => ({ messages: [{ role: 'user', content: 'x' }], ...extra })

  it('adds json_tool_call after the caller’s tools and forces it', () => {
    const body = map(
      ask({
        tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
        tool_choice: 'auto',
        response_format: { type: 'json_schema', json_schema: { name: 'w', description: 'Weather', schema } },
      }),
    )
    expect(body.tools?.map((t) => t.name)).toEqual(['lookup', 'json_tool_call'])
    expect(body.tools?.[1]).toEqual({ name: 'json_tool_call', description: 'Weather', input_schema: schema })
    expect(body.tool_choice).toEqual({ type: 'tool', name: 'json_tool_call' })
  })

  it('takes any object for json_object, and does not force the tool while thinking', () => {
    expect(map(ask({ response_format: { type: 'json_object' } })).tools?.[0]?.input_schema).toEqual({
      type: 'object',
      additionalProperties: true,
      properties: {},
    })
    const thinking = mapOn(
      SONNET_37,
      ask({ reasoning_effort: 'low', response_format: { type: 'json_object' } }),
    )
    expect(thinking.tools?.map((t) => t.name)).toEqual(['json_tool_call'])
    expect(thinking.tool_choice).toBeUndefined()
  })

  it('still refuses a response_format type it cannot follow, and sends nothing for text', () => {
    expect(thrown(() => map(ask({ response_format: { type: 'regex', regex: 'a+' } }))).param).toBe(
      'response_format',
    )
    expect(map(ask({ response_format: { type: 'text' } }))).not.toHaveProperty('tools')
  })
})
