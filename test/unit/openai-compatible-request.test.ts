import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { chatRequestSchema } from '../../src/openai/chat-request'
import { toUpstreamChatBody } from '../../src/providers/openai-compatible/chat-body'
import { toUpstreamEmbeddingBody } from '../../src/providers/openai-compatible/embeddings'
import type { Deployment } from '../../src/providers/types'

const deployment = (params: Record<string, unknown> = {}, provider = 'hosted_vllm'): Deployment => ({
  id: 'd1',
  modelName: 'llama',
  provider,
  providerModel: 'meta-llama/Llama-3.1-8B-Instruct',
  params: {
    model: `${provider}/meta-llama/Llama-3.1-8B-Instruct`,
    api_base: 'http://vllm:8000/v1',
    ...params,
  },
  modelInfo: {},
})

const request = (extra: Record<string, unknown> = {}) =>
  chatRequestSchema.parse({ model: 'llama', messages: [{ role: 'user', content: 'Hi' }], ...extra })

const thrown = (fn: () => unknown): GatewayError => {
  try {
    fn()
  } catch (error) {
    if (error instanceof GatewayError) return error
    throw error
  }
  throw new Error('expected a GatewayError')
}

describe('toUpstreamChatBody', () => {
  it('passes the OpenAI request through with the deployment model', () => {
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }]
    const body = toUpstreamChatBody(
      request({
        temperature: 0.2,
        tools,
        tool_choice: 'auto',
        user: 'u1',
        response_format: { type: 'json_object' },
        seed: 7,
      }),
      deployment(),
      { stream: false, dropParams: false },
    )
    expect(body).toEqual({
      model: 'meta-llama/Llama-3.1-8B-Instruct',
      messages: [{ role: 'user', content: 'Hi' }],
      temperature: 0.2,
      tools,
      tool_choice: 'auto',
      user: 'u1',
      response_format: { type: 'json_object' },
      seed: 7,
    })
  })

  it('strips every gateway-only field, mock_* included', () => {
    const body = toUpstreamChatBody(
      request({
        metadata: { tag: 'x' },
        fallbacks: ['other'],
        num_retries: 3,
        drop_params: true,
        user_config: {},
        timeout: 5,
        mock_testing_fallbacks: true,
        mock_timeout: true,
        caching: false,
        extra_headers: { authorization: 'Bearer stolen' },
        input_cost_per_token: 1,
      }),
      deployment(),
      { stream: false, dropParams: false },
    )
    expect(Object.keys(body).sort()).toEqual(['messages', 'model'])
  })

  it('refuses client-side credentials with a 400 naming the field, never forwarding them', () => {
    for (const name of ['api_key', 'api_base', 'base_url', 'organization']) {
      const error = thrown(() =>
        toUpstreamChatBody(request({ [name]: 'http://attacker/v1' }), deployment(), {
          stream: false,
          dropParams: false,
        }),
      )
      expect(error.status).toBe(400)
      expect(error.param).toBe(name)
      expect(error.message).toContain(`${name} is not allowed in request body`)
      expect(error.message).not.toContain('attacker')
    }
    // extra_body is merged into the body, so it may not carry them either.
    const smuggled = thrown(() =>
      toUpstreamChatBody(request({ extra_body: { api_base: 'http://x' } }), deployment(), {
        stream: false,
        dropParams: false,
      }),
    )
    expect(smuggled.status).toBe(400)
  })

  it('applies allowed litellm_params as defaults under the request, and never other params', () => {
    const params = {
      temperature: 0.9,
      max_tokens: 100,
      top_k: 40,
      api_key: 'sk-secret',
      aws_secret_access_key: 'aws-secret',
      langfuse_secret_key: 'lf-secret',
      rpm: 10,
      extra_body: { guided_choice: ['a', 'b'] },
    }
    const body = toUpstreamChatBody(request({ temperature: 0.1 }), deployment(params), {
      stream: false,
      dropParams: false,
    })
    expect(body).toMatchObject({ temperature: 0.1, max_tokens: 100, top_k: 40, guided_choice: ['a', 'b'] })
    expect(JSON.stringify(body)).not.toMatch(/secret|rpm/)
  })

  it("drops the deployment's additional_drop_params", () => {
    const body = toUpstreamChatBody(
      request({ seed: 1, parallel_tool_calls: false }),
      deployment({ additional_drop_params: ['parallel_tool_calls'] }),
      { stream: false, dropParams: false },
    )
    expect(body.seed).toBe(1)
    expect('parallel_tool_calls' in body).toBe(false)
  })

  it('asks the upstream for usage on every stream, keeping the client stream_options', () => {
    const body = toUpstreamChatBody(
      request({ stream: true, stream_options: { include_usage: false, x: 1 } }),
      deployment(),
      {
        stream: true,
        dropParams: false,
      },
    )
    expect(body.stream).toBe(true)
    expect(body.stream_options).toEqual({ include_usage: true, x: 1 })
  })

  it('sends no stream flags on a non-streaming call', () => {
    const body = toUpstreamChatBody(
      request({ stream: false, stream_options: { include_usage: true } }),
      deployment(),
      {
        stream: false,
        dropParams: false,
      },
    )
    expect('stream' in body).toBe(false)
    expect('stream_options' in body).toBe(false)
  })

  it('sends Anthropic-style thinking as reasoning_effort, never as thinking', () => {
    const options = { stream: false, dropParams: false }
    const effort = (thinking: unknown, extra: Record<string, unknown> = {}) =>
      toUpstreamChatBody(request({ thinking, ...extra }), deployment(), options)
    expect(effort({ type: 'enabled', budget_tokens: 12000 })).toMatchObject({ reasoning_effort: 'high' })
    expect(effort({ type: 'enabled', budget_tokens: 6000 }).reasoning_effort).toBe('medium')
    expect(effort({ type: 'enabled', budget_tokens: 2048 }).reasoning_effort).toBe('low')
    expect(effort({ type: 'enabled', budget_tokens: 1024 }).reasoning_effort).toBe('minimal')
    expect(effort({ type: 'enabled' }, { reasoning_effort: 'high' }).reasoning_effort).toBe('high')
    const disabled = effort({ type: 'disabled' })
    expect('thinking' in disabled || 'reasoning_effort' in disabled).toBe(false)
  })

  it('drops what only a Bedrock deployment of a mixed group understands (thinking_blocks, guardrailConfig)', () => {
    const body = toUpstreamChatBody(
      request({
        guardrailConfig: { guardrailIdentifier: 'g', guardrailVersion: '1' },
        messages: [
          { role: 'user', content: 'Hi' },
          {
            role: 'assistant',
            content: 'Hello',
            thinking_blocks: [{ type: 'thinking', thinking: 'hm', signature: 'sig' }],
          },
          { role: 'user', content: 'And?' },
        ],
      }),
      deployment(),
      { stream: false, dropParams: false },
    )
    expect('guardrailConfig' in body).toBe(false)
    expect(body.messages).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
      { role: 'user', content: 'And?' },
    ])
  })

  it('refuses n > 1 (one choice is answered) unless drop_params, which drops it', () => {
    const error = thrown(() =>
      toUpstreamChatBody(request({ n: 2 }), deployment(), { stream: false, dropParams: false }),
    )
    expect(error.status).toBe(400)
    expect(error.param).toBe('n')
    const dropped = toUpstreamChatBody(request({ n: 2 }), deployment(), { stream: false, dropParams: true })
    expect('n' in dropped).toBe(false)
    expect(toUpstreamChatBody(request({ n: 1 }), deployment(), { stream: false, dropParams: false }).n).toBe(
      1,
    )
  })
})

describe('toUpstreamEmbeddingBody', () => {
  it('asks for floats whatever the client asked, with the deployment model and defaults', () => {
    const body = toUpstreamEmbeddingBody(
      { model: 'emb', input: ['a', 'b'], encoding_format: 'base64', metadata: { x: 1 }, mock_response: 'x' },
      deployment({ dimensions: 256 }),
    )
    expect(body).toEqual({
      model: 'meta-llama/Llama-3.1-8B-Instruct',
      input: ['a', 'b'],
      encoding_format: 'float',
      dimensions: 256,
    })
  })

  it('refuses client-side credentials', () => {
    expect(
      thrown(() => toUpstreamEmbeddingBody({ model: 'emb', input: ['a'], api_key: 'k' }, deployment()))
        .status,
    ).toBe(400)
  })

  it('merges extra_body into the body (never sent as a member) and refuses credentials smuggled in it', () => {
    const body = toUpstreamEmbeddingBody(
      { model: 'emb', input: ['a'], extra_body: { truncate_prompt_tokens: 512 } },
      deployment({ extra_body: { priority: 1 } }),
    )
    expect(body).toEqual({
      model: 'meta-llama/Llama-3.1-8B-Instruct',
      input: ['a'],
      encoding_format: 'float',
      priority: 1,
      truncate_prompt_tokens: 512,
    })
    expect(
      thrown(() =>
        toUpstreamEmbeddingBody(
          { model: 'emb', input: ['a'], extra_body: { api_base: 'http://evil' } },
          deployment(),
        ),
      ).status,
    ).toBe(400)
    expect(
      toUpstreamEmbeddingBody(
        { model: 'emb', input: ['a'], extra_body: { metadata: { a: 1 } } },
        deployment(),
      ),
    ).not.toHaveProperty('metadata')
  })

  it('leaves out Cohere’s input_type (OpenAI refuses it), unless the client sends it in extra_body', () => {
    const body = toUpstreamEmbeddingBody(
      { model: 'emb', input: ['a'], input_type: 'search_query' },
      deployment(),
    )
    expect(body).not.toHaveProperty('input_type')
    expect(
      toUpstreamEmbeddingBody(
        { model: 'emb', input: ['a'], extra_body: { input_type: 'query' } },
        deployment(),
      ).input_type,
    ).toBe('query')
  })

  it('honours additional_drop_params like chat', () => {
    const body = toUpstreamEmbeddingBody(
      { model: 'emb', input: ['a'], user: 'u1', dimensions: 64 },
      deployment({ additional_drop_params: ['user', 'dimensions'] }),
    )
    expect(body).toEqual({
      model: 'meta-llama/Llama-3.1-8B-Instruct',
      input: ['a'],
      encoding_format: 'float',
    })
  })
})
