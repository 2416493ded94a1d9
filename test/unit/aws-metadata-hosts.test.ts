import { describe, expect, it } from 'vitest'
import { credentialChain } from '../../src/aws/credential-chain'
import { isMetadataUrl } from '../../src/aws/metadata-hosts'
import { GatewayError } from '../../src/errors'
import { bedrockRuntimeBase } from '../../src/providers/bedrock/endpoint'

/**
 * Cloud metadata endpoints hand out the gateway's own credentials, so no configured or client URL
 * may point at them, however the address is spelled. Only the credential providers reach them.
 */
describe('isMetadataUrl', () => {
  it.each([
    ['EC2 IMDS', 'http://169.254.169.254/latest/meta-data/'],
    ['with a port', 'http://169.254.169.254:8080/'],
    ['https', 'https://169.254.169.254/'],
    ['a trailing dot', 'http://169.254.169.254./'],
    ['decimal IPv4', 'http://2852039166/'],
    ['hex IPv4', 'http://0xA9FEA9FE/'],
    ['dotted hex', 'http://0xa9.0xfe.0xa9.0xfe/'],
    ['octal parts', 'http://0251.0376.0251.0376/'],
    ['short form', 'http://169.254.43518/'],
    ['IPv4-mapped IPv6', 'http://[::ffff:169.254.169.254]/'],
    ['IPv4-mapped IPv6 (hex)', 'http://[::ffff:a9fe:a9fe]:80/'],
    ['IMDS IPv6', 'http://[fd00:ec2::254]/latest/api/token'],
    ['ECS task credentials', 'http://169.254.170.2/v2/credentials/x'],
    ['ECS (mapped IPv6)', 'http://[::ffff:169.254.170.2]/'],
    ['EKS Pod Identity', 'http://169.254.170.23/v1/credentials'],
    ['EKS Pod Identity IPv6', 'http://[fd00:ec2::23]/v1/credentials'],
    ['GCP metadata name', 'http://metadata.google.internal/computeMetadata/v1/'],
    ['upper case name', 'http://METADATA.Google.Internal./'],
    ['any link-local IPv4', 'http://169.254.1.1/'],
    ['a URL object', new URL('http://169.254.169.254/')],
  ])('refuses %s', (_what, url) => {
    expect(isMetadataUrl(url)).toBe(true)
  })

  it.each([
    ['a Bedrock endpoint', 'https://bedrock-runtime.us-east-1.amazonaws.com'],
    ['a VPC endpoint', 'https://vpce-0abc.bedrock-runtime.us-east-1.vpce.amazonaws.com/'],
    ['a local fake', 'http://127.0.0.1:4010'],
    ['a private address', 'http://10.0.0.5:8080/'],
    ['a look-alike name', 'http://169.254.169.254.example.com/'],
    ['a neighbour of link-local', 'http://169.255.169.254/'],
    ['an unparseable URL', 'not a url'],
  ])('allows %s', (_what, url) => {
    expect(isMetadataUrl(url)).toBe(false)
  })
})

describe('endpoint overrides cannot reach metadata addresses', () => {
  function thrown(fn: () => unknown): GatewayError {
    try {
      fn()
    } catch (error) {
      if (error instanceof GatewayError) return error
      throw error
    }
    throw new Error('expected a GatewayError')
  }

  it.each([
    ['api_base', { model: 'bedrock/x', api_base: 'http://169.254.169.254/latest' }, {}],
    [
      'aws_bedrock_runtime_endpoint',
      { model: 'bedrock/x', aws_bedrock_runtime_endpoint: 'http://0xA9FEA9FE' },
      {},
    ],
    [
      'AWS_ENDPOINT_URL_BEDROCK_RUNTIME',
      { model: 'bedrock/x' },
      { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: 'http://[fd00:ec2::254]' },
    ],
    ['AWS_ENDPOINT_URL', { model: 'bedrock/x' }, { AWS_ENDPOINT_URL: 'http://169.254.170.2:80/' }],
  ])('Bedrock %s', (key, params, env) => {
    const error = thrown(() => bedrockRuntimeBase(params, env, 'us-east-1'))
    expect(error).toMatchObject({ status: 500, type: 'api_error', origin: 'gateway', retryable: false })
    expect(error.message).toBe(
      `The Bedrock runtime endpoint set in ${key} points at a cloud metadata address, which is not allowed.`,
    )
  })

  it('still accepts ordinary overrides', () => {
    expect(
      bedrockRuntimeBase({ model: 'bedrock/x', api_base: 'http://127.0.0.1:4010/' }, {}, 'us-east-1'),
    ).toBe('http://127.0.0.1:4010')
  })

  it('STS aws_sts_endpoint', async () => {
    const seen: string[] = []
    const aws = credentialChain({
      env: {},
      fetch: (async (input: string | URL | Request) => {
        seen.push(String(input))
        return new Response('', { status: 500 })
      }) as typeof fetch,
    })
    const params = {
      aws_role_name: 'arn:aws:iam::123456789012:role/r',
      aws_access_key_id: 'AKIDP',
      aws_secret_access_key: 'psecret',
      aws_sts_endpoint: 'http://[::ffff:a9fe:a9fe]/',
    }
    await expect(aws.credentials(params, 'claude')).rejects.toMatchObject({
      status: 500,
      message: expect.stringMatching(
        /STS endpoint in aws_sts_endpoint: it points at a cloud metadata address/,
      ),
    })
    expect(seen).toEqual([])
  })
})
