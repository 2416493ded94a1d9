import { describe, expect, it } from 'vitest'
import { resolveAwsCredentials } from '../../src/aws/credentials'
import { GatewayError } from '../../src/errors'

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(GatewayError)
  return error as GatewayError
}

describe('resolveAwsCredentials', () => {
  const env = {
    AWS_ACCESS_KEY_ID: 'AKIDENV',
    AWS_SECRET_ACCESS_KEY: 'envsecret',
    AWS_SESSION_TOKEN: 'envtoken',
  }

  it('prefers litellm_params and never mixes in the env session token', async () => {
    await expect(
      resolveAwsCredentials({ aws_access_key_id: 'AKIDP', aws_secret_access_key: 'psecret' }, env, 'claude'),
    ).resolves.toEqual({ accessKeyId: 'AKIDP', secretAccessKey: 'psecret' })
    await expect(
      resolveAwsCredentials(
        { aws_access_key_id: 'AKIDP', aws_secret_access_key: 'psecret', aws_session_token: 't' },
        env,
        'claude',
      ),
    ).resolves.toEqual({ accessKeyId: 'AKIDP', secretAccessKey: 'psecret', sessionToken: 't' })
  })

  it('falls back to the environment', async () => {
    await expect(resolveAwsCredentials({}, env, 'claude')).resolves.toEqual({
      accessKeyId: 'AKIDENV',
      secretAccessKey: 'envsecret',
      sessionToken: 'envtoken',
    })
  })

  it('rejects a half-configured key pair as a gateway configuration error, naming the missing key', async () => {
    const error = await rejection(resolveAwsCredentials({ aws_access_key_id: 'AKIDP' }, env, 'claude'))
    expect(error.status).toBe(500)
    expect(error.origin).toBe('gateway')
    expect(error.retryable).toBe(false)
    expect(error.message).toMatch(/deployment claude: .*sets aws_access_key_id but not aws_secret_access_key/)
    expect(error.message).not.toContain('AKIDP')
  })

  it('fails with a non-retryable 500 api_error (not a 401 about the client key) naming keys and env vars', async () => {
    const error = await rejection(resolveAwsCredentials({}, { AWS_ACCESS_KEY_ID: '' }, 'claude'))
    expect(error.status).toBe(500)
    expect(error.type).toBe('api_error')
    expect(error.origin).toBe('gateway')
    expect(error.retryable).toBe(false)
    expect(error.message).toMatch(/deployment claude/)
    expect(error.message).toMatch(
      /aws_access_key_id.*aws_secret_access_key.*AWS_ACCESS_KEY_ID.*AWS_SECRET_ACCESS_KEY/,
    )
  })

  it.each([
    ['aws_role_name', 'arn:aws:iam::123456789012:role/bedrock', /assuming roles is not supported yet/],
    ['aws_profile_name', 'prod', /AWS profiles are not supported yet/],
    ['aws_web_identity_token', 'os.environ-resolved-jwt', /web identity federation .* is not supported yet/],
  ])('fails closed when %s is set instead of falling back to other credentials', async (key, value, what) => {
    // Static keys and env credentials are both available: either would call Bedrock as another principal.
    const params = { [key]: value, aws_access_key_id: 'AKIDP', aws_secret_access_key: 'psecret' }
    for (const p of [params, { [key]: value }]) {
      const error = await rejection(resolveAwsCredentials(p, env, 'claude'))
      expect(error.status).toBe(500)
      expect(error.origin).toBe('gateway')
      expect(error.retryable).toBe(false)
      expect(error.message).toMatch(new RegExp(`^${key} is set on deployment claude but `))
      expect(error.message).toMatch(what)
      expect(error.message).toMatch(/refusing to fall back to other credentials\.$/)
      expect(error.message).not.toContain(value)
    }
  })

  it('names the role when a role comes with an STS endpoint', async () => {
    const error = await rejection(
      resolveAwsCredentials(
        { aws_role_name: 'r', aws_sts_endpoint: 'https://sts.eu-west-1.amazonaws.com' },
        env,
        'claude',
      ),
    )
    expect(error.message).toMatch(/^aws_role_name is set on deployment claude/)
  })

  it('treats blank unsupported keys (an empty os.environ/ reference) as unset, as LiteLLM does', async () => {
    await expect(
      resolveAwsCredentials(
        { aws_role_name: '', aws_profile_name: '  ', aws_web_identity_token: null },
        env,
        'c',
      ),
    ).resolves.toMatchObject({ accessKeyId: 'AKIDENV' })
  })
})
