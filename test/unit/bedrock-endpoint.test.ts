import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import {
  bedrockRegion,
  bedrockRuntimeBase,
  converseUrl,
  encodeModelId,
  regionFromArn,
} from '../../src/providers/bedrock/endpoint'
import { bedrockModelId } from '../../src/providers/bedrock/model-id'
import type { Deployment, LitellmParams } from '../../src/providers/types'

const PROFILE_ARN =
  'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0'

const params = (extra: Record<string, unknown> = {}): LitellmParams => ({ model: 'bedrock/x', ...extra })

const deployment = (providerModel: string, extra: Record<string, unknown> = {}): Deployment => ({
  id: 'd',
  modelName: 'm',
  provider: 'bedrock',
  providerModel,
  params: params({ model: `bedrock/${providerModel}`, ...extra }),
  modelInfo: {},
})

function thrown(fn: () => unknown): GatewayError {
  try {
    fn()
  } catch (error) {
    if (error instanceof GatewayError) return error
    throw error
  }
  throw new Error('expected a GatewayError')
}

describe('encodeModelId / converseUrl', () => {
  it('encodes an inference-profile ARN once, as one path label', () => {
    expect(
      new URL(converseUrl('https://bedrock-runtime.us-east-1.amazonaws.com', PROFILE_ARN, 'converse'))
        .pathname,
    ).toBe(
      '/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse',
    )
  })

  it('encodes a plain id and the RFC 3986 extras', () => {
    expect(
      converseUrl('http://127.0.0.1:4010', 'us.anthropic.claude-3-5-sonnet-20241022-v2:0', 'converse-stream'),
    ).toBe('http://127.0.0.1:4010/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream')
    expect(encodeModelId("a!b'c(d)e*f g")).toBe('a%21b%27c%28d%29e%2Af%20g')
  })
})

describe('bedrockRegion', () => {
  it('prefers aws_region_name, then the ARN region, then env in LiteLLM order, then us-west-2', () => {
    const env = { AWS_REGION_NAME: 'eu-west-1', AWS_REGION: 'eu-west-2', AWS_DEFAULT_REGION: 'eu-west-3' }
    expect(bedrockRegion(params({ aws_region_name: 'ap-south-1' }), PROFILE_ARN, env)).toBe('ap-south-1')
    expect(bedrockRegion(params(), PROFILE_ARN, env)).toBe('us-east-1')
    expect(bedrockRegion(params(), 'anthropic.claude', env)).toBe('eu-west-1')
    expect(
      bedrockRegion(params(), 'anthropic.claude', { AWS_REGION: 'eu-west-2', AWS_DEFAULT_REGION: 'x' }),
    ).toBe('eu-west-2')
    expect(bedrockRegion(params(), 'anthropic.claude', { AWS_DEFAULT_REGION: 'eu-west-3' })).toBe('eu-west-3')
    expect(bedrockRegion(params(), 'anthropic.claude', { AWS_REGION: '' })).toBe('us-west-2')
  })

  it('reads the region of any partition, and ignores non-Bedrock ARNs', () => {
    expect(regionFromArn('arn:aws-us-gov:bedrock:us-gov-west-1:1:provisioned-model/abc')).toBe(
      'us-gov-west-1',
    )
    expect(regionFromArn('arn:aws:sagemaker:us-east-1:1:endpoint/x')).toBeUndefined()
    expect(regionFromArn('anthropic.claude-3-haiku-20240307-v1:0')).toBeUndefined()
  })
})

describe('bedrockRuntimeBase', () => {
  it('uses overrides in order, without a trailing slash', () => {
    const env = { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: 'http://svc:1', AWS_ENDPOINT_URL: 'http://all:2' }
    expect(
      bedrockRuntimeBase(params({ aws_bedrock_runtime_endpoint: 'http://param:3/' }), env, 'us-east-1'),
    ).toBe('http://param:3')
    expect(bedrockRuntimeBase(params({ api_base: 'http://base:4' }), env, 'us-east-1')).toBe('http://base:4')
    expect(
      bedrockRuntimeBase(params(), { ...env, AWS_BEDROCK_RUNTIME_ENDPOINT: 'http://litellm:5' }, 'x'),
    ).toBe('http://litellm:5')
    expect(bedrockRuntimeBase(params(), env, 'us-east-1')).toBe('http://svc:1')
    expect(bedrockRuntimeBase(params(), { AWS_ENDPOINT_URL: 'http://all:2' }, 'us-east-1')).toBe(
      'http://all:2',
    )
    expect(bedrockRuntimeBase(params(), {}, 'eu-central-1')).toBe(
      'https://bedrock-runtime.eu-central-1.amazonaws.com',
    )
  })
})

describe('bedrockModelId', () => {
  it('strips the converse/ route marker and lets model_id override', () => {
    expect(bedrockModelId(deployment('converse/anthropic.claude-3-haiku-20240307-v1:0'))).toBe(
      'anthropic.claude-3-haiku-20240307-v1:0',
    )
    expect(
      bedrockModelId(deployment('anthropic.claude-3-haiku-20240307-v1:0', { model_id: PROFILE_ARN })),
    ).toBe(PROFILE_ARN)
  })
})

describe('bedrockModelId: LiteLLM route prefixes', () => {
  it('strips nova/ like converse/, and keeps ARNs (which contain /) whole', () => {
    expect(bedrockModelId(deployment('nova/arn:aws:bedrock:us-east-1:123456789012:custom-model/abc'))).toBe(
      'arn:aws:bedrock:us-east-1:123456789012:custom-model/abc',
    )
    expect(bedrockModelId(deployment(`converse/${PROFILE_ARN}`))).toBe(PROFILE_ARN)
    expect(bedrockModelId(deployment(PROFILE_ARN))).toBe(PROFILE_ARN)
    expect(bedrockModelId(deployment('us.amazon.nova-pro-v1:0'))).toBe('us.amazon.nova-pro-v1:0')
  })

  it.each([
    'converse_like',
    'agent',
    'agentcore',
    'async_invoke',
    'llama',
    'deepseek_r1',
    'openai',
    'qwen3',
    'something_new',
  ])('rejects %s/ as an unsupported route instead of calling a bogus model id', (route) => {
    const model = `${route}/anthropic.claude-3-haiku-20240307-v1:0`
    const error = thrown(() => bedrockModelId(deployment(model)))
    expect(error.status).toBe(400)
    expect(error.origin).toBe('gateway')
    expect(error.retryable).toBe(false)
    expect(error.message).toBe(
      `Bedrock route '${route}/' (model=bedrock/${model}) is not supported by this gateway yet; ` +
        'use bedrock/<model id>, bedrock/converse/<model id> or bedrock/invoke/<model id>.',
    )
  })

  it('rejects an unsupported route even when model_id overrides the id, and behind converse/', () => {
    expect(thrown(() => bedrockModelId(deployment('agent/x', { model_id: PROFILE_ARN }))).message).toMatch(
      /^Bedrock route 'agent\/'/,
    )
    expect(thrown(() => bedrockModelId(deployment('converse/invoke/x'))).message).toMatch(
      /^Bedrock route 'invoke\/' \(model=bedrock\/converse\/invoke\/x\)/,
    )
  })
})

describe('bedrockRuntimeBase: invalid overrides', () => {
  it.each([
    [
      'aws_bedrock_runtime_endpoint',
      params({ aws_bedrock_runtime_endpoint: 'bedrock-runtime.us-east-1.amazonaws.com' }),
      {},
    ],
    ['api_base', params({ api_base: 'ftp://host' }), {}],
    ['api_base', params({ api_base: 'http://host:4010/?x=1' }), {}],
    ['AWS_BEDROCK_RUNTIME_ENDPOINT', params(), { AWS_BEDROCK_RUNTIME_ENDPOINT: 'http://' }],
    ['AWS_ENDPOINT_URL_BEDROCK_RUNTIME', params(), { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: 'http://exa mple' }],
    ['AWS_ENDPOINT_URL', params(), { AWS_ENDPOINT_URL: 'localhost:4566' }],
  ])('names %s in a non-retryable gateway 500', (key, p, env) => {
    const error = thrown(() => bedrockRuntimeBase(p, env, 'us-east-1'))
    expect(error.status).toBe(500)
    expect(error.origin).toBe('gateway')
    expect(error.retryable).toBe(false)
    expect(error.message).toMatch(new RegExp(`endpoint set in ${key} is not a valid http\\(s\\) URL`))
  })

  it('does not echo the configured value', () => {
    const error = thrown(() => bedrockRuntimeBase(params({ api_base: 'user:hunter2@nowhere' }), {}, 'x'))
    expect(error.message).not.toContain('hunter2')
  })
})
