import { describe, expect, it } from 'vitest'
import { resolveAwsCredentials } from '../../src/aws/credentials'
import { GatewayError } from '../../src/errors'

describe('resolveAwsCredentials', () => {
  const env = {
    AWS_ACCESS_KEY_ID: 'AKIDENV',
    AWS_SECRET_ACCESS_KEY: 'envsecret',
    AWS_SESSION_TOKEN: 'envtoken',
  }

  it('prefers litellm_params and never mixes in the env session token', async () => {
    await expect(
      resolveAwsCredentials({ aws_access_key_id: 'AKIDP', aws_secret_access_key: 'psecret' }, env),
    ).resolves.toEqual({ accessKeyId: 'AKIDP', secretAccessKey: 'psecret' })
    await expect(
      resolveAwsCredentials(
        { aws_access_key_id: 'AKIDP', aws_secret_access_key: 'psecret', aws_session_token: 't' },
        env,
      ),
    ).resolves.toEqual({ accessKeyId: 'AKIDP', secretAccessKey: 'psecret', sessionToken: 't' })
  })

  it('falls back to the environment', async () => {
    await expect(resolveAwsCredentials({}, env)).resolves.toEqual({
      accessKeyId: 'AKIDENV',
      secretAccessKey: 'envsecret',
      sessionToken: 'envtoken',
    })
  })

  it('rejects a half-configured key pair, naming the missing key', async () => {
    const error = await resolveAwsCredentials({ aws_access_key_id: 'AKIDP' }, env).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GatewayError)
    expect((error as GatewayError).status).toBe(401)
    expect((error as GatewayError).message).toMatch(/sets aws_access_key_id but not aws_secret_access_key/)
  })

  it('fails with 401 naming both config sources when nothing is set', async () => {
    const error = await resolveAwsCredentials({}, { AWS_ACCESS_KEY_ID: '' }).catch((e: unknown) => e)
    expect((error as GatewayError).status).toBe(401)
    expect((error as GatewayError).message).toMatch(/aws_access_key_id.*AWS_ACCESS_KEY_ID/)
    expect((error as GatewayError).retryable).toBe(false)
  })
})
