import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { staticAwsAccess } from '../../src/aws/aws-access'
import { credentialChain } from '../../src/aws/credential-chain'
import { resolveAwsCredentials } from '../../src/aws/credentials'
import { ConfigError } from '../../src/config/config-error'
import { getS3Object } from '../../src/config/s3'
import type { Env } from '../../src/env'
import { GatewayError } from '../../src/errors'
import { type FakeAwsMetadata, startFakeAwsMetadata } from '../fakes/aws-metadata'
import { startFakeS3 } from '../fakes/s3'
import { type FakeSts, startFakeSts } from '../fakes/sts'

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(GatewayError)
  return error as GatewayError
}

const ENV_KEYS = {
  AWS_ACCESS_KEY_ID: 'AKIDENV',
  AWS_SECRET_ACCESS_KEY: 'envsecret',
  AWS_SESSION_TOKEN: 'envtoken',
}

describe('resolveAwsCredentials (static keys, no I/O)', () => {
  it('prefers litellm_params and never mixes in the env session token', async () => {
    await expect(
      resolveAwsCredentials(
        { aws_access_key_id: 'AKIDP', aws_secret_access_key: 'psecret' },
        ENV_KEYS,
        'claude',
      ),
    ).resolves.toEqual({ accessKeyId: 'AKIDP', secretAccessKey: 'psecret' })
    await expect(
      resolveAwsCredentials(
        { aws_access_key_id: 'AKIDP', aws_secret_access_key: 'psecret', aws_session_token: 't' },
        ENV_KEYS,
        'claude',
      ),
    ).resolves.toEqual({ accessKeyId: 'AKIDP', secretAccessKey: 'psecret', sessionToken: 't' })
  })

  it('falls back to the environment', async () => {
    await expect(resolveAwsCredentials({}, ENV_KEYS, 'claude')).resolves.toEqual({
      accessKeyId: 'AKIDENV',
      secretAccessKey: 'envsecret',
      sessionToken: 'envtoken',
    })
  })

  it('rejects a half-configured key pair as a gateway configuration error, naming the missing key', async () => {
    const error = await rejection(resolveAwsCredentials({ aws_access_key_id: 'AKIDP' }, ENV_KEYS, 'claude'))
    expect(error.status).toBe(500)
    expect(error.origin).toBe('gateway')
    expect(error.retryable).toBe(false)
    expect(error.message).toMatch(/deployment claude: .*sets aws_access_key_id but not aws_secret_access_key/)
    expect(error.message).not.toContain('AKIDP')
  })

  it('refuses the sources that need I/O instead of using other credentials (staticAwsAccess)', async () => {
    const params = {
      aws_role_name: 'arn:aws:iam::123456789012:role/x',
      aws_access_key_id: 'A',
      aws_secret_access_key: 'S',
    }
    const error = await rejection(staticAwsAccess(ENV_KEYS).credentials(params, 'claude'))
    expect(error.message).toMatch(/^aws_role_name is set on deployment claude but .*refusing to fall back/)
    expect(error.message).not.toContain('role/x')
  })
})

/**
 * The gateway's chain: LiteLLM's precedence (web identity > role > profile > keys > default chain),
 * against the fake STS and metadata endpoints over real HTTP.
 */
describe('credentialChain precedence', () => {
  const ROLE = 'arn:aws:iam::123456789012:role/bedrock-caller'
  const WEB_ROLE = 'arn:aws:iam::123456789012:role/oidc-caller'
  let sts: FakeSts
  let metadata: FakeAwsMetadata

  beforeAll(async () => {
    sts = await startFakeSts({
      roles: [{ arn: ROLE }, { arn: WEB_ROLE, webIdentityTokens: ['jwt-from-config'] }],
    })
    metadata = await startFakeAwsMetadata()
  })
  afterAll(async () => {
    await sts?.close()
    await metadata?.close()
  })
  beforeEach(() => {
    sts.reset()
    metadata.reset()
  })

  const chain = (env: Env, readFile?: (path: string) => Promise<string>) =>
    credentialChain({
      env: { AWS_ENDPOINT_URL_STS: sts.url, AWS_EC2_METADATA_SERVICE_ENDPOINT: metadata.url, ...env },
      fetch,
      timeouts: { metadataMs: 500, stsMs: 1000 },
      ...(readFile ? { readFile } : {}),
    })

  it('uses explicit keys as they are, without I/O, and the env keys when the deployment has none', async () => {
    const aws = chain(ENV_KEYS)
    await expect(
      aws.credentials(
        { aws_access_key_id: 'AKIDP', aws_secret_access_key: 'psecret', aws_session_token: 't' },
        'c',
      ),
    ).resolves.toEqual({ accessKeyId: 'AKIDP', secretAccessKey: 'psecret', sessionToken: 't' })
    await expect(
      aws.credentials({ aws_access_key_id: 'AKIDP', aws_secret_access_key: 'psecret' }, 'c'),
    ).resolves.toEqual({
      accessKeyId: 'AKIDP',
      secretAccessKey: 'psecret',
    })
    await expect(aws.credentials({}, 'c')).resolves.toEqual({
      accessKeyId: 'AKIDENV',
      secretAccessKey: 'envsecret',
      sessionToken: 'envtoken',
    })
    expect(sts.requests).toHaveLength(0)
    expect(metadata.requests).toHaveLength(0)
  })

  it('assumes aws_role_name with the deployment keys as the base credentials (signed AssumeRole)', async () => {
    const base = sts.credentials
    const got = await chain(ENV_KEYS).credentials(
      {
        aws_role_name: ROLE,
        aws_access_key_id: base.accessKeyId,
        aws_secret_access_key: base.secretAccessKey,
      },
      'claude',
    )
    expect(sts.requests).toHaveLength(1)
    const call = sts.requests[0]!
    expect(call.action).toBe('AssumeRole')
    expect(call.auth).toEqual({ ok: true })
    expect(call.accessKeyId).toBe(base.accessKeyId)
    expect(call.params.RoleArn).toBe(ROLE)
    expect(call.params.RoleSessionName).toMatch(/^litellm-session-\d+$/)
    expect(got).toEqual(sts.issued[0])
  })

  it('assumes aws_role_name with the default chain when the deployment has no keys', async () => {
    // Env keys first in the default chain: here the fake's temporary keys (with a session token).
    const temp = sts.tempCredentials
    const env = {
      AWS_ACCESS_KEY_ID: temp.accessKeyId,
      AWS_SECRET_ACCESS_KEY: temp.secretAccessKey,
      AWS_SESSION_TOKEN: temp.sessionToken,
    }
    const got = await chain(env).credentials({ aws_role_name: ROLE, aws_session_name: 'team-a' }, 'claude')
    expect(sts.requests[0]).toMatchObject({ accessKeyId: temp.accessKeyId, auth: { ok: true } })
    expect(sts.requests[0]?.params.RoleSessionName).toBe('team-a')
    expect(got).toEqual(sts.issued[0])
  })

  it('assumes aws_role_name on top of instance metadata credentials (role chaining from IMDS)', async () => {
    // The fake STS accepts what the fake IMDS issued, as AWS accepts an instance profile's keys.
    metadata.reset()
    const withImds = await startFakeAwsMetadata({ onIssue: (c) => sts.addCredentials(c) })
    try {
      const got = await credentialChain({
        env: { AWS_ENDPOINT_URL_STS: sts.url, AWS_EC2_METADATA_SERVICE_ENDPOINT: withImds.url },
        fetch,
      }).credentials({ aws_role_name: ROLE }, 'claude')
      expect(withImds.issued).toHaveLength(1)
      expect(sts.requests[0]?.accessKeyId).toBe(withImds.issued[0]?.accessKeyId)
      expect(got).toEqual(sts.issued[0])
    } finally {
      await withImds.close()
    }
  })

  it('prefers aws_web_identity_token (+ aws_role_name) over the role with keys, unsigned', async () => {
    const base = sts.credentials
    const got = await chain(ENV_KEYS).credentials(
      {
        aws_web_identity_token: 'jwt-from-config',
        aws_role_name: WEB_ROLE,
        aws_session_name: 'oidc-session',
        aws_access_key_id: base.accessKeyId,
        aws_secret_access_key: base.secretAccessKey,
      },
      'claude',
    )
    expect(sts.requests).toHaveLength(1)
    const call = sts.requests[0]!
    expect(call.action).toBe('AssumeRoleWithWebIdentity')
    expect(call.headers.authorization).toBeUndefined()
    expect(call.params).toMatchObject({
      RoleArn: WEB_ROLE,
      RoleSessionName: 'oidc-session',
      WebIdentityToken: 'jwt-from-config',
    })
    expect(got).toEqual(sts.issued[0])
  })

  it('skips AssumeRole when IRSA already runs as aws_role_name (LiteLLM): the web identity credentials are used', async () => {
    const files = new Map([['/var/run/secrets/token', 'jwt-from-config\n']])
    const env = { AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/token', AWS_ROLE_ARN: WEB_ROLE }
    const got = await chain(env, async (p) => files.get(p) ?? '').credentials(
      { aws_role_name: WEB_ROLE },
      'c',
    )
    expect(sts.requests.map((r) => r.action)).toEqual(['AssumeRoleWithWebIdentity'])
    expect(got).toEqual(sts.issued[0])
  })

  it('fails closed on aws_profile_name and on a web identity token without a role, naming keys not values', async () => {
    for (const [params, pattern] of [
      [
        { aws_profile_name: 'prod' },
        /^aws_profile_name is set on deployment claude but AWS profiles .* not supported/,
      ],
      [
        { aws_web_identity_token: 'secret-jwt' },
        /^aws_web_identity_token is set on deployment claude without aws_role_name/,
      ],
    ] as const) {
      for (const p of [params, { ...params, aws_access_key_id: 'AKIDP', aws_secret_access_key: 'psecret' }]) {
        const error = await rejection(chain(ENV_KEYS).credentials(p, 'claude'))
        expect(error).toMatchObject({ status: 500, type: 'api_error', origin: 'gateway', retryable: false })
        expect(error.message).toMatch(pattern)
        expect(error.message).toMatch(/refusing to fall back to other credentials\.$/)
        expect(error.message).not.toMatch(/prod\b|secret-jwt|AKIDP|psecret/)
      }
    }
    expect(sts.requests).toHaveLength(0)
  })

  it('rejects half a key pair in litellm_params even when a role would use them', async () => {
    const error = await rejection(
      chain(ENV_KEYS).credentials({ aws_role_name: ROLE, aws_access_key_id: 'AKIDP' }, 'claude'),
    )
    expect(error.message).toMatch(/deployment claude: .*sets aws_access_key_id but not aws_secret_access_key/)
    expect(sts.requests).toHaveLength(0)
  })

  it('treats blank values (an empty os.environ/ reference) as unset, as LiteLLM does', async () => {
    await expect(
      chain(ENV_KEYS).credentials(
        { aws_role_name: '', aws_profile_name: '  ', aws_web_identity_token: null },
        'c',
      ),
    ).resolves.toMatchObject({ accessKeyId: 'AKIDENV' })
  })

  it('says what to configure when no source at all is available (instance metadata disabled)', async () => {
    const error = await rejection(chain({ AWS_EC2_METADATA_DISABLED: 'true' }).credentials({}, 'claude'))
    expect(error).toMatchObject({ status: 500, type: 'api_error', retryable: false })
    expect(error.message).toMatch(
      /^AWS credentials for deployment claude could not be obtained from the default credential chain/,
    )
    expect(error.message).toMatch(
      /aws_access_key_id.*aws_secret_access_key.*AWS_ACCESS_KEY_ID.*AWS_SECRET_ACCESS_KEY/,
    )
    expect(error.message).toMatch(/AWS_EC2_METADATA_DISABLED/)
    expect(metadata.requests).toHaveLength(0)
  })
})

describe('the config in S3 (what the adapters pass to the loader)', () => {
  it('is read with the default chain (here the container endpoint), and its failures name the s3:// location', async () => {
    const s3 = await startFakeS3({ region: 'us-west-2' })
    const agent = await startFakeAwsMetadata({ onIssue: (c) => s3.addCredentials(c) })
    try {
      s3.putObject('cfg', 'proxy_config.yaml', 'model_list: []\n')
      const env = {
        AWS_REGION: 'us-west-2',
        AWS_ENDPOINT_URL_S3: s3.url,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: agent.containerUrl,
      }
      const chain = credentialChain({ env, fetch })
      const credentials = () => chain.defaultCredentials('the config file')
      expect(await getS3Object('cfg', 'proxy_config.yaml', { env, fetch, credentials })).toBe(
        'model_list: []\n',
      )
      expect(s3.requests[0]?.accessKeyId).toBe(agent.issued[0]?.accessKeyId)

      const none = credentialChain({ env: { AWS_EC2_METADATA_DISABLED: 'true' }, fetch })
      const error = await getS3Object('cfg', 'proxy_config.yaml', {
        env,
        fetch,
        credentials: () => none.defaultCredentials('the config file'),
      }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).message).toMatch(
        /^s3:\/\/cfg\/proxy_config\.yaml: AWS credentials for the config file could not be obtained from the default credential chain/,
      )
    } finally {
      await agent.close()
      await s3.close()
    }
  })
})
