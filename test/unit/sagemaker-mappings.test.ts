import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { chatRequestSchema } from '../../src/openai/chat-request'
import {
  encodeEndpointName,
  sagemakerFullUrl,
  sagemakerRegion,
  sagemakerRuntimeBase,
  sagemakerUrl,
} from '../../src/providers/sagemaker/endpoint'
import { toMessagesApiRequest } from '../../src/providers/sagemaker/messages-request'
import { mapFinishReason, messagesApiOutput } from '../../src/providers/sagemaker/messages-response'
import { sagemakerHeaders } from '../../src/providers/sagemaker/request-headers'
import { toTgiRequest } from '../../src/providers/sagemaker/tgi-request'
import { tgiOutput } from '../../src/providers/sagemaker/tgi-response'
import type { Deployment } from '../../src/providers/types'

const req = (body: Record<string, unknown>) =>
  chatRequestSchema.parse({ model: 'group', messages: [{ role: 'user', content: 'Hello there' }], ...body })

const deployment = (
  params: Record<string, unknown> = {},
  endpoint = 'hf-llm-mistral-7b-instruct',
): Deployment => ({
  id: 'd',
  modelName: 'group',
  provider: 'sagemaker',
  providerModel: endpoint,
  params: { model: `sagemaker/${endpoint}`, ...params },
  modelInfo: {},
})

const thrown = (fn: () => unknown): GatewayError => {
  try {
    fn()
  } catch (error) {
    if (error instanceof GatewayError) return error
    throw error
  }
  throw new Error('expected a GatewayError')
}

describe('TGI request mapping', () => {
  it('builds {inputs, parameters, stream} with the mapped OpenAI parameters', () => {
    const body = toTgiRequest(
      req({ max_tokens: 50, temperature: 0.7, top_p: 0.9, stop: '###', seed: 7 }),
      deployment(),
      {
        dropParams: false,
        stream: false,
      },
    )
    expect(body).toEqual({
      inputs: '[INST] Hello there [/INST]',
      parameters: {
        max_new_tokens: 50,
        temperature: 0.7,
        top_p: 0.9,
        stop: ['###'],
        seed: 7,
        return_full_text: false,
        details: true,
      },
      stream: false,
    })
    expect(toTgiRequest(req({}), deployment(), { dropParams: false, stream: true }).stream).toBe(true)
  })

  it('temperature 0 becomes 0.01 (TGI refuses 0) unless aws_sagemaker_allow_zero_temp; top_p 1 is dropped', () => {
    const params = (body: Record<string, unknown>, p: Record<string, unknown> = {}) =>
      toTgiRequest(req(body), deployment(p), { dropParams: false, stream: false }).parameters
    expect(params({ temperature: 0 }).temperature).toBe(0.01)
    expect(params({ temperature: 0 }, { aws_sagemaker_allow_zero_temp: true }).temperature).toBe(0)
    expect(params({ top_p: 1 }).top_p).toBeUndefined()
  })

  it('max_completion_tokens wins over max_tokens; deployment defaults apply only when the request is silent', () => {
    const p = {
      max_tokens: 300,
      temperature: 0.2,
      top_k: 40,
      repetition_penalty: 1.1,
      rpm: 10,
      aws_region_name: 'x',
    }
    const fromDefaults = toTgiRequest(req({}), deployment(p), { dropParams: false, stream: false }).parameters
    expect(fromDefaults).toEqual({
      max_new_tokens: 300,
      temperature: 0.2,
      top_k: 40,
      repetition_penalty: 1.1,
      return_full_text: false,
      details: true,
    })
    const fromRequest = toTgiRequest(
      req({ max_tokens: 10, max_completion_tokens: 20, temperature: 1 }),
      deployment(p),
      {
        dropParams: false,
        stream: false,
      },
    ).parameters
    expect(fromRequest.max_new_tokens).toBe(20)
    expect(fromRequest.temperature).toBe(1)
  })

  it('asks for details by default (finish reason and exact token counts); the request or deployment may turn it off', () => {
    const params = (body: Record<string, unknown>, p: Record<string, unknown> = {}) =>
      toTgiRequest(req(body), deployment(p), { dropParams: false, stream: false }).parameters
    expect(params({}).details).toBe(true)
    expect(params({ details: false }).details).toBe(false)
    expect(params({}, { details: false }).details).toBe(false)
    expect(params({ details: true }, { details: false }).details).toBe(true)
  })

  it('n > 1 maps to best_of with sampling, as LiteLLM does', () => {
    const p = toTgiRequest(req({ n: 3 }), deployment(), { dropParams: false, stream: false }).parameters
    expect(p.best_of).toBe(3)
    expect(p.do_sample).toBe(true)
  })

  it('unsupported OpenAI parameters are a 400 in LiteLLM words, or dropped with drop_params', () => {
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }]
    const error = thrown(() =>
      toTgiRequest(req({ tools, presence_penalty: 0.5 }), deployment(), { dropParams: false, stream: false }),
    )
    expect(error.status).toBe(400)
    expect(error.param).toBe('tools')
    expect(error.message).toContain(
      "litellm.UnsupportedParamsError: sagemaker does not support parameters: ['tools', 'presence_penalty'], for model=hf-llm-mistral-7b-instruct",
    )
    const dropped = toTgiRequest(req({ tools, presence_penalty: 0.5 }), deployment(), {
      dropParams: true,
      stream: false,
    })
    expect(dropped.parameters).toEqual({ return_full_text: false, details: true })
    // Asking for nothing is not asking for something unsupported.
    expect(() =>
      toTgiRequest(
        req({ tool_choice: 'none', logprobs: false, response_format: { type: 'text' } }),
        deployment(),
        {
          dropParams: false,
          stream: false,
        },
      ),
    ).not.toThrow()
  })
})

describe('TGI response mapping', () => {
  it('reads [{"generated_text"}] and LMI’s bare object; usage is a local estimate of 4 chars per token', () => {
    const prompt = 'x'.repeat(40)
    const out = tgiOutput([{ generated_text: 'Twelve chars' }], prompt)
    expect(out.message).toEqual({ role: 'assistant', content: 'Twelve chars' })
    expect(out.finishReason).toBe('stop')
    expect(out.usage).toEqual({ prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 })
    expect(tgiOutput({ generated_text: 'bare' }, prompt).message.content).toBe('bare')
  })

  it('uses details (finish_reason, generated_tokens) when the container sends them', () => {
    const out = tgiOutput(
      [{ generated_text: 'cut', details: { finish_reason: 'length', generated_tokens: 64 } }],
      'p',
    )
    expect(out.finishReason).toBe('length')
    expect(out.usage.completion_tokens).toBe(64)
  })

  it('old JumpStart Llama 2 `generation` answers and echoed prompts are handled', () => {
    expect(tgiOutput([{ generation: { role: 'assistant', content: 'Hi!' } }], 'p').message.content).toBe(
      'Hi!',
    )
    expect(tgiOutput([{ generated_text: '[INST] Q [/INST] A' }], '[INST] Q [/INST]').message.content).toBe(
      ' A',
    )
  })

  it('an unreadable answer is a 502 with LiteLLM’s wording', () => {
    const error = thrown(() => tgiOutput({ outputs: 1 }, 'p'))
    expect(error.status).toBe(502)
    expect(error.message).toContain('Unable to parse sagemaker RAW RESPONSE')
  })
})

describe('Messages API mapping', () => {
  it('passes the OpenAI request through with model = endpoint and the gateway’s fields removed', () => {
    const body = toMessagesApiRequest(
      req({
        temperature: 0.3,
        tools: [{ type: 'function', function: { name: 'f' } }],
        mock_response: undefined,
        timeout: 5,
        drop_params: true,
        metadata: { a: 1 },
        stream: true,
      }),
      deployment({ max_tokens: 99, rpm: 5 }),
      'my-endpoint',
      false,
    )
    expect(body).toEqual({
      model: 'my-endpoint',
      max_tokens: 99,
      messages: [{ role: 'user', content: 'Hello there' }],
      temperature: 0.3,
      tools: [{ type: 'function', function: { name: 'f' } }],
    })
  })

  it('streams with "stream": true and always asks for the usage chunk', () => {
    const body = toMessagesApiRequest(
      req({ stream_options: { include_usage: false } }),
      deployment(),
      'e',
      true,
    )
    expect(body.stream).toBe(true)
    expect(body.stream_options).toEqual({ include_usage: true })
  })

  it('maps a chat.completion with tool calls and usage', () => {
    const out = messagesApiOutput(
      {
        choices: [
          {
            message: {
              role: 'assistant',
              content: '',
              tool_calls: [
                {
                  id: 'call_1',
                  type: 'function',
                  function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
                },
              ],
            },
            finish_reason: 'tool_calls',
          },
        ],
        usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
      },
      [],
    )
    expect(out).toEqual({
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
        ],
      },
      finishReason: 'tool_calls',
      usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
    })
  })

  it("TGI's dialect: object arguments become a JSON string, eos_token is stop (tool_calls with tools)", () => {
    const out = messagesApiOutput(
      {
        choices: [
          {
            message: {
              role: 'assistant',
              tool_calls: [{ id: '0', function: { name: 'f', arguments: { a: 1 } } }],
            },
            finish_reason: 'eos_token',
          },
        ],
      },
      req({}).messages,
    )
    expect(out.message.tool_calls?.[0]?.function.arguments).toBe('{"a":1}')
    expect(out.finishReason).toBe('tool_calls')
    // No usage from the container: the gateway's estimate.
    expect(out.usage.prompt_tokens).toBe(3)
    expect(mapFinishReason('eos_token')).toBe('stop')
    expect(mapFinishReason('length')).toBe('length')
  })

  it('a non-chat answer is a 502', () => {
    expect(thrown(() => messagesApiOutput([{ generated_text: 'x' }], [])).status).toBe(502)
  })
})

describe('endpoint and headers', () => {
  it('builds the runtime URL per region (China partition too) and encodes the endpoint name once', () => {
    expect(sagemakerUrl(deployment({ aws_region_name: 'eu-west-1' }), {}, 'invocations')).toBe(
      'https://runtime.sagemaker.eu-west-1.amazonaws.com/endpoints/hf-llm-mistral-7b-instruct/invocations',
    )
    expect(sagemakerRuntimeBase({ model: 'x' }, {}, 'cn-north-1')).toBe(
      'https://runtime.sagemaker.cn-north-1.amazonaws.com.cn',
    )
    expect(encodeEndpointName("a:b/c(d)'")).toBe('a%3Ab%2Fc%28d%29%27')
    expect(sagemakerRegion({ model: 'x' }, 'e', { AWS_REGION: 'ap-south-1' })).toBe('ap-south-1')
  })

  it('overrides: api_base, then AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME, then AWS_ENDPOINT_URL; sagemaker_base_url is used verbatim', () => {
    const env = {
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: 'http://127.0.0.1:1/',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:2',
    }
    expect(sagemakerRuntimeBase({ model: 'x', api_base: 'https://vpce.example/' }, env, 'r')).toBe(
      'https://vpce.example',
    )
    expect(sagemakerRuntimeBase({ model: 'x' }, env, 'r')).toBe('http://127.0.0.1:1')
    expect(sagemakerRuntimeBase({ model: 'x' }, { AWS_ENDPOINT_URL: 'http://127.0.0.1:2' }, 'r')).toBe(
      'http://127.0.0.1:2',
    )
    const full = deployment({ sagemaker_base_url: 'https://proxy.example/invoke?x=1' })
    expect(sagemakerUrl(full, {}, 'invocations-response-stream')).toBe('https://proxy.example/invoke?x=1')
    expect(sagemakerFullUrl({ model: 'x' })).toBeUndefined()
  })

  it('refuses metadata addresses and malformed overrides without echoing them', () => {
    for (const url of [
      'http://169.254.169.254/latest',
      'http://[fd00:ec2::254]',
      'http://2852039166/',
      'http://169.254.170.2',
    ]) {
      const error = thrown(() => sagemakerRuntimeBase({ model: 'x', api_base: url }, {}, 'r'))
      expect(error.status).toBe(500)
      expect(error.message).toContain('metadata address')
      expect(error.message).not.toContain(url)
    }
    expect(
      thrown(() => sagemakerRuntimeBase({ model: 'x' }, { AWS_ENDPOINT_URL: 'http://169.254.169.254' }, 'r'))
        .message,
    ).toContain('AWS_ENDPOINT_URL')
    expect(
      thrown(() => sagemakerFullUrl({ model: 'x', sagemaker_base_url: 'http://169.254.169.254/x' })).status,
    ).toBe(500)
    expect(
      thrown(() => sagemakerRuntimeBase({ model: 'x', api_base: 'ftp://u:secret@h' }, {}, 'r')).message,
    ).not.toContain('secret')
  })

  it('model_id → inference component header, custom_attributes → custom attributes header, accept per operation', () => {
    expect(
      sagemakerHeaders(
        { model: 'x', model_id: 'ic-llama-1', custom_attributes: 'accept_eula=true' },
        'invocations',
      ),
    ).toEqual({
      'content-type': 'application/json',
      accept: 'application/json',
      'x-amzn-sagemaker-inference-component': 'ic-llama-1',
      'x-amzn-sagemaker-custom-attributes': 'accept_eula=true',
    })
    expect(sagemakerHeaders({ model: 'x' }, 'invocations-response-stream')).toEqual({
      'content-type': 'application/json',
      accept: 'application/vnd.amazon.eventstream',
    })
    expect(thrown(() => sagemakerHeaders({ model: 'x', model_id: 'bad name\n' }, 'invocations')).status).toBe(
      500,
    )
    expect(thrown(() => sagemakerHeaders({ model: 'x', custom_attributes: 'é' }, 'invocations')).status).toBe(
      500,
    )
  })
})
