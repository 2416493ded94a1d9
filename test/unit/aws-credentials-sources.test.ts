import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { isAllowedFullUri } from '../../src/aws/container-credentials'
import { credentialChain } from '../../src/aws/credential-chain'
import type { Env } from '../../src/env'
import { GatewayError } from '../../src/errors'
import { type FakeAwsMetadata, startFakeAwsMetadata } from '../fakes/aws-metadata'
import { type FakeSts, startFakeSts } from '../fakes/sts'

/**
 * Each credential source on its own, against the fake STS / container agent / IMDS over real HTTP:
 * the wire calls it makes, what it returns, and how each failure is reported (500 for what the
 * operator must fix, 503 for a source that did not answer), never quoting a secret.
 */
const ROLE = 'arn:aws:iam::123456789012:role/bedrock-caller'
const EXTERNAL_ROLE = 'arn:aws:iam::123456789012:role/needs-external-id'
const OIDC_ROLE = 'arn:aws:iam::123456789012:role/oidc-caller'
const TIMEOUTS = { metadataMs: 300, stsMs: 400 }

let sts: FakeSts
let metadata: FakeAwsMetadata

beforeAll(async () => {
  sts = await startFakeSts({
    roles: [
      { arn: ROLE },
      { arn: EXTERNAL_ROLE, externalId: 'ext-123' },
      { arn: OIDC_ROLE, webIdentityTokens: ['jwt-one', 'jwt-two'] },
    ],
  })
  metadata = await startFakeAwsMetadata({ containerToken: 'container-auth-token' })
})
afterAll(async () => {
  await sts?.close()
  await metadata?.close()
})
beforeEach(() => {
  sts.reset()
  metadata.reset()
  metadata.roleName = 'fake-instance-role'
})

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(GatewayError)
  return error as GatewayError
}

const baseKeys = () => ({
  aws_access_key_id: sts.credentials.accessKeyId,
  aws_secret_access_key: sts.credentials.secretAccessKey,
})

function chain(env: Env, opts: { fetch?: typeof fetch; readFile?: (p: string) => Promise<string> } = {}) {
  return credentialChain({
    env,
    fetch: opts.fetch ?? fetch,
    timeouts: TIMEOUTS,
    ...(opts.readFile ? { readFile: opts.readFile } : {}),
  })
}

/** A fetch that records every call and answers 503, for checking URLs and signing scopes. */
function recordingFetch() {
  const calls: Array<{ url: string; headers: Headers; body: string }> = []
  const impl = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(input), headers: new Headers(init?.headers), body: String(init?.body ?? '') })
    return new Response('<ErrorResponse><Error><Code>ServiceUnavailable</Code></Error></ErrorResponse>', {
      status: 503,
    })
  }) as typeof fetch
  return { impl, calls }
}

describe('STS AssumeRole (aws_role_name)', () => {
  it('calls the regional endpoint of the deployment region, signed for sts in that region', async () => {
    const { impl, calls } = recordingFetch()
    await rejection(
      chain({}, { fetch: impl }).credentials(
        { ...baseKeys(), aws_role_name: ROLE, aws_region_name: 'eu-central-1' },
        'c',
      ),
    )
    await rejection(
      chain({}, { fetch: impl }).credentials(
        { ...baseKeys(), aws_role_name: ROLE, aws_region_name: 'cn-north-1' },
        'c',
      ),
    )
    expect(calls.map((c) => c.url)).toEqual([
      'https://sts.eu-central-1.amazonaws.com/',
      'https://sts.cn-north-1.amazonaws.com.cn/',
    ])
    expect(calls[0]?.headers.get('authorization')).toMatch(
      /Credential=AKIAFAKESTS00000001\/\d{8}\/eu-central-1\/sts\/aws4_request/,
    )
    expect(Object.fromEntries(new URLSearchParams(calls[0]?.body))).toEqual({
      Action: 'AssumeRole',
      Version: '2011-06-15',
      RoleArn: ROLE,
      RoleSessionName: expect.stringMatching(/^litellm-session-\d+$/),
    })
  })

  it('takes the endpoint from aws_sts_endpoint, then AWS_ENDPOINT_URL_STS, then AWS_ENDPOINT_URL; a regional host sets the signing region', async () => {
    const { impl, calls } = recordingFetch()
    const params = { ...baseKeys(), aws_role_name: ROLE, aws_region_name: 'us-east-1' }
    const env = {
      AWS_ENDPOINT_URL_STS: 'https://sts-vpce.example.internal',
      AWS_ENDPOINT_URL: 'https://all.example.internal',
    }
    await rejection(
      chain(env, { fetch: impl }).credentials(
        { ...params, aws_sts_endpoint: 'https://sts.ap-south-1.amazonaws.com/' },
        'c',
      ),
    )
    await rejection(chain(env, { fetch: impl }).credentials(params, 'c'))
    await rejection(
      chain({ AWS_ENDPOINT_URL: 'https://all.example.internal/' }, { fetch: impl }).credentials(params, 'c'),
    )
    expect(calls.map((c) => c.url)).toEqual([
      'https://sts.ap-south-1.amazonaws.com/',
      'https://sts-vpce.example.internal/',
      'https://all.example.internal/',
    ])
    expect(calls[0]?.headers.get('authorization')).toMatch(/\/ap-south-1\/sts\/aws4_request/)
    expect(calls[1]?.headers.get('authorization')).toMatch(/\/us-east-1\/sts\/aws4_request/)
  })

  it('sends aws_external_id and aws_session_name; the role refuses a wrong external id with a 500 naming the key', async () => {
    const env = { AWS_ENDPOINT_URL_STS: sts.url }
    const params = { ...baseKeys(), aws_role_name: EXTERNAL_ROLE, aws_session_name: 'team-a' }
    const ok = await chain(env).credentials({ ...params, aws_external_id: 'ext-123' }, 'claude')
    expect(sts.requests[0]?.params).toMatchObject({ ExternalId: 'ext-123', RoleSessionName: 'team-a' })
    expect(ok).toEqual(sts.issued[0])

    const error = await rejection(chain(env).credentials({ ...params, aws_external_id: 'wrong' }, 'claude'))
    expect(error).toMatchObject({ status: 500, type: 'api_error', origin: 'gateway', retryable: false })
    expect(error.message).toBe(
      'AWS credentials for deployment claude could not be obtained from STS AssumeRole for aws_role_name: ' +
        "STS answered HTTP 403 AccessDenied: the role in aws_role_name may not be assumed by this caller (check the role's " +
        "trust policy, aws_external_id, and the caller's sts:AssumeRole permission).",
    )
    expect(error.message).not.toMatch(/needs-external-id|wrong|fake-caller/)
  })

  it('reports base credentials STS does not know, and a malformed session name, as configuration errors', async () => {
    const env = { AWS_ENDPOINT_URL_STS: sts.url }
    const unknown = await rejection(
      chain(env).credentials(
        { aws_role_name: ROLE, aws_access_key_id: 'AKIAUNKNOWN0000000', aws_secret_access_key: 'nope' },
        'c',
      ),
    )
    expect(unknown.status).toBe(500)
    expect(unknown.message).toMatch(
      /InvalidClientTokenId: the base credentials used to assume the role in aws_role_name were not accepted/,
    )
    const badName = await rejection(
      chain(env).credentials({ ...baseKeys(), aws_role_name: ROLE, aws_session_name: 'has spaces' }, 'c'),
    )
    expect(badName.status).toBe(500)
    expect(badName.message).toMatch(/ValidationError: a parameter is malformed/)
  })

  it('answers 503 service_unavailable_error naming STS when it throttles, fails, hangs or drops the connection', async () => {
    const env = { AWS_ENDPOINT_URL_STS: sts.url }
    const params = { ...baseKeys(), aws_role_name: ROLE }
    const cases: Array<[Parameters<FakeSts['script']>[0], RegExp]> = [
      [
        { type: 'error', status: 400, code: 'Throttling', message: 'Rate exceeded' },
        /answered HTTP 400 Throttling$/,
      ],
      [{ type: 'error', status: 500, code: 'InternalFailure' }, /answered HTTP 500 InternalFailure$/],
      [{ type: 'hang' }, /did not answer within 0\.4 s$/],
      [{ type: 'reset' }, /could not be reached \(\w+\)$/],
    ]
    for (const [plan, problem] of cases) {
      sts.script(plan)
      const started = Date.now()
      const error = await rejection(chain(env).credentials(params, 'claude'))
      expect(Date.now() - started).toBeLessThan(2000)
      expect(error).toMatchObject({
        status: 503,
        type: 'service_unavailable_error',
        retryable: true,
        origin: 'gateway',
      })
      expect(error.message).toMatch(
        /^AWS credentials for deployment claude are unavailable: STS AssumeRole for aws_role_name /,
      )
      expect(error.message).toMatch(problem)
    }
  })

  it('refuses an STS endpoint that is not an http(s) URL or points at a metadata address, before any I/O', async () => {
    const { impl, calls } = recordingFetch()
    for (const [endpoint, problem] of [
      ['sts.example.com', /not an http\(s\) URL/],
      ['http://169.254.169.254/latest', /cloud metadata address/],
      ['http://0xA9FEA9FE', /cloud metadata address/],
    ] as const) {
      const error = await rejection(
        chain({}, { fetch: impl }).credentials(
          { ...baseKeys(), aws_role_name: ROLE, aws_sts_endpoint: endpoint },
          'c',
        ),
      )
      expect(error.status).toBe(500)
      expect(error.message).toMatch(
        /^AWS credentials for deployment c could not be obtained from the STS endpoint in aws_sts_endpoint: /,
      )
      expect(error.message).toMatch(problem)
    }
    const viaEnv = await rejection(
      chain({ AWS_ENDPOINT_URL_STS: 'http://[fd00:ec2::254]' }, { fetch: impl }).credentials(
        { ...baseKeys(), aws_role_name: ROLE },
        'c',
      ),
    )
    expect(viaEnv.message).toMatch(/the STS endpoint in AWS_ENDPOINT_URL_STS: .*metadata/)
    expect(calls).toHaveLength(0)
  })
})

describe('STS AssumeRoleWithWebIdentity', () => {
  it('(aws_web_identity_token) reports a rejected token as a 500 without quoting it', async () => {
    const error = await rejection(
      chain({ AWS_ENDPOINT_URL_STS: sts.url }).credentials(
        { aws_web_identity_token: 'jwt-unknown-to-sts', aws_role_name: OIDC_ROLE },
        'claude',
      ),
    )
    expect(error).toMatchObject({ status: 500, retryable: false })
    expect(error.message).toMatch(
      /STS AssumeRoleWithWebIdentity for aws_web_identity_token: STS answered HTTP 400 InvalidIdentityToken: STS rejected the web identity token/,
    )
    expect(error.message).not.toMatch(/jwt-unknown-to-sts|oidc-caller/)
  })

  it('(AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN) reads the token file and uses AWS_ROLE_SESSION_NAME', async () => {
    const reads: string[] = []
    const got = await chain(
      {
        AWS_ENDPOINT_URL_STS: sts.url,
        AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
        AWS_ROLE_ARN: OIDC_ROLE,
        AWS_ROLE_SESSION_NAME: 'gateway-pod',
      },
      {
        readFile: async (path) => {
          reads.push(path)
          return 'jwt-one\n'
        },
      },
    ).credentials({}, 'claude')
    expect(reads).toEqual(['/var/run/secrets/eks.amazonaws.com/serviceaccount/token'])
    expect(sts.requests[0]?.params).toMatchObject({
      Action: 'AssumeRoleWithWebIdentity',
      RoleArn: OIDC_ROLE,
      RoleSessionName: 'gateway-pod',
      WebIdentityToken: 'jwt-one',
    })
    expect(got).toEqual(sts.issued[0])
  })

  it('(token file) is skipped with a clear error where files cannot be read, and never quotes an unreadable file', async () => {
    const env = {
      AWS_ENDPOINT_URL_STS: sts.url,
      AWS_WEB_IDENTITY_TOKEN_FILE: '/token',
      AWS_ROLE_ARN: OIDC_ROLE,
      AWS_EC2_METADATA_DISABLED: 'true',
    }
    const noFiles = await rejection(chain(env).credentials({}, 'claude'))
    expect(noFiles.status).toBe(500)
    expect(noFiles.message).toMatch(
      /AWS_WEB_IDENTITY_TOKEN_FILE\) was skipped: files cannot be read on this runtime/,
    )

    // Skipped, so the next configured source is used (here the container endpoint).
    const viaContainer = await chain({
      ...env,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: metadata.containerUrl,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-auth-token',
    }).credentials({}, 'claude')
    expect(viaContainer).toEqual(metadata.issued[0])

    const unreadable = await rejection(
      chain(env, {
        readFile: async () => {
          throw new Error('EACCES: permission denied, open /token')
        },
      }).credentials({}, 'claude'),
    )
    expect(unreadable.message).toMatch(/the token file in AWS_WEB_IDENTITY_TOKEN_FILE cannot be read\.$/)
    expect(sts.requests).toHaveLength(0)
  })
})

describe('container credentials (ECS task role, EKS Pod Identity)', () => {
  it('AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: GETs http://169.254.170.2<uri> without Authorization', async () => {
    const seen: string[] = []
    // The link-local ECS address is redirected to the fake: the provider builds it itself.
    const viaFake = (async (input: string | URL | Request, init?: RequestInit) => {
      seen.push(String(input))
      return fetch(String(input).replace('http://169.254.170.2', metadata.url), init)
    }) as typeof fetch
    metadata.containerToken = undefined
    try {
      const got = await chain(
        { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: metadata.containerPath },
        { fetch: viaFake },
      ).credentials({}, 'c')
      expect(seen).toEqual([`http://169.254.170.2${metadata.containerPath}`])
      expect(metadata.requests[0]?.headers.authorization).toBeUndefined()
      expect(got).toEqual(metadata.issued[0])
    } finally {
      metadata.containerToken = 'container-auth-token'
    }
  })

  it('AWS_CONTAINER_CREDENTIALS_FULL_URI: sends the token file (re-read each time) in preference to AWS_CONTAINER_AUTHORIZATION_TOKEN', async () => {
    const env = {
      AWS_CONTAINER_CREDENTIALS_FULL_URI: metadata.containerUrl,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: 'stale-env-token',
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE:
        '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
    }
    const got = await chain(env, { readFile: async () => 'container-auth-token\n' }).credentials({}, 'c')
    expect(metadata.requests[0]?.headers.authorization).toBe('container-auth-token')
    expect(got).toEqual(metadata.issued[0])

    const { AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: _file, ...withEnvToken } = env
    const refused = await rejection(chain(withEnvToken).credentials({}, 'claude'))
    expect(refused).toMatchObject({ status: 500, retryable: false })
    expect(refused.message).toBe(
      'AWS credentials for deployment claude could not be obtained from the container credentials endpoint ' +
        '(AWS_CONTAINER_CREDENTIALS_FULL_URI): the agent refused the request (HTTP 401); check ' +
        'AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE).',
    )
    expect(refused.message).not.toContain('stale-env-token')
  })

  it('accepts only the FULL_URI hosts the AWS SDKs accept', () => {
    for (const ok of [
      'https://credentials.example.com/creds',
      'http://127.0.0.1:51679/creds',
      'http://127.1.2.3/creds',
      'http://2130706433/creds',
      'http://localhost/creds',
      'http://[::1]:8080/creds',
      'http://169.254.170.2/v2/credentials/x',
      'http://169.254.170.23/v1/credentials',
      'http://[fd00:ec2::23]/v1/credentials',
    ])
      expect(isAllowedFullUri(ok), ok).toBe(true)
    for (const bad of [
      'http://example.com/creds',
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/creds',
      'http://128.0.0.1/creds',
      'ftp://127.0.0.1/creds',
      'not a url',
    ])
      expect(isAllowedFullUri(bad), bad).toBe(false)
  })

  it('refuses a disallowed FULL_URI and a token with a line break before any I/O; a failing agent is a 503', async () => {
    const { impl, calls } = recordingFetch()
    const badHost = await rejection(
      chain({ AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://example.com/creds' }, { fetch: impl }).credentials(
        {},
        'c',
      ),
    )
    expect(badHost.message).toMatch(
      /from AWS_CONTAINER_CREDENTIALS_FULL_URI: it must be an https URL, or http on a loopback address/,
    )
    const injected = await rejection(
      chain(
        {
          AWS_CONTAINER_CREDENTIALS_FULL_URI: metadata.containerUrl,
          AWS_CONTAINER_AUTHORIZATION_TOKEN: 'a\r\nX-Evil: 1',
        },
        { fetch: impl },
      ).credentials({}, 'c'),
    )
    expect(injected.message).toMatch(/the token contains a line break/)
    expect(calls).toHaveLength(0)

    metadata.script('container', { type: 'error', status: 500 })
    const down = await rejection(
      chain({
        AWS_CONTAINER_CREDENTIALS_FULL_URI: metadata.containerUrl,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-auth-token',
      }).credentials({}, 'c'),
    )
    expect(down).toMatchObject({ status: 503, type: 'service_unavailable_error' })
    expect(down.message).toMatch(
      /unavailable: the container credentials endpoint \(AWS_CONTAINER_CREDENTIALS_FULL_URI\) answered HTTP 500$/,
    )
  })
})

describe('EC2 instance metadata (IMDSv2)', () => {
  const env = () => ({ AWS_EC2_METADATA_SERVICE_ENDPOINT: metadata.url })

  it('PUTs a session token, then GETs the role and its credentials with it', async () => {
    const got = await chain(env()).credentials({}, 'c')
    expect(metadata.requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ['PUT', '/latest/api/token', 200],
      ['GET', '/latest/meta-data/iam/security-credentials/', 200],
      ['GET', '/latest/meta-data/iam/security-credentials/fake-instance-role', 200],
    ])
    expect(metadata.requests[0]?.headers['x-aws-ec2-metadata-token-ttl-seconds']).toBe('21600')
    expect(metadata.requests[1]?.headers['x-aws-ec2-metadata-token']).toMatch(/^AQAEA/)
    expect(got).toEqual(metadata.issued[0])
  })

  it('uses the IPv6 address with AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6 and the IPv4 one by default', async () => {
    const { impl, calls } = recordingFetch()
    await rejection(
      chain({ AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: 'IPv6' }, { fetch: impl }).credentials({}, 'c'),
    )
    await rejection(chain({}, { fetch: impl }).credentials({}, 'c'))
    expect(calls.map((c) => c.url)).toEqual([
      'http://[fd00:ec2::254]/latest/api/token',
      'http://169.254.169.254/latest/api/token',
    ])
  })

  it('reports an instance without a role as a configuration error', async () => {
    metadata.roleName = undefined
    const error = await rejection(chain(env()).credentials({}, 'claude'))
    expect(error).toMatchObject({ status: 500, retryable: false })
    expect(error.message).toBe(
      'AWS credentials for deployment claude could not be obtained from EC2 instance metadata (IMDSv2): ' +
        'this instance has no IAM role (instance profile) attached.',
    )
  })

  it('treats silence before it ever answered as "not on EC2" (500 listing the options), and an outage after as a 503', async () => {
    metadata.setPlan('imds-token', { type: 'hang' })
    const notOnEc2 = await rejection(chain(env()).credentials({}, 'claude'))
    expect(notOnEc2).toMatchObject({ status: 500, retryable: false })
    expect(notOnEc2.message).toMatch(/default credential chain: none of its sources is available/)
    expect(notOnEc2.message).toMatch(/EC2 instance metadata \(IMDSv2\) did not answer within 0\.3 s/)

    metadata.setPlan('imds-token', undefined)
    let offset = 0
    const aws = credentialChain({ env: env(), fetch, timeouts: TIMEOUTS, clock: () => Date.now() + offset })
    await aws.credentials({}, 'c')
    offset = 2 * 3_600_000 // past the Expiration
    metadata.setPlan('imds-token', { type: 'error', status: 503 })
    const outage = await rejection(aws.credentials({}, 'claude'))
    expect(outage).toMatchObject({ status: 503, type: 'service_unavailable_error', retryable: true })
    expect(outage.message).toBe(
      'AWS credentials for deployment claude are unavailable: EC2 instance metadata (IMDSv2) answered HTTP 503 for the session token (PUT /latest/api/token)',
    )
  })

  it('reports a malformed credential document as unavailable (it answered: not the "not on EC2" case)', async () => {
    for (const body of ['not json', '{"Code":"Success","AccessKeyId":"ASIA"}']) {
      metadata.script('imds-credentials', { type: 'error', status: 200, body })
      const error = await rejection(chain(env()).credentials({}, 'c'))
      expect(error).toMatchObject({ status: 503, type: 'service_unavailable_error' })
      expect(error.message).toMatch(
        /EC2 instance metadata \(IMDSv2\) answered without a readable credential document$/,
      )
    }
  })
})

describe('no secret in any error message', () => {
  it('never quotes keys, session tokens, web identity or container tokens, whatever fails', async () => {
    const secrets = {
      baseSecret: 'base-secret-value-123',
      baseToken: 'base-session-token-456',
      webToken: 'jwt-never-shown-789',
      containerToken: 'container-token-never-shown',
    }
    const base = { aws_access_key_id: 'AKIABASE000000000001', aws_secret_access_key: secrets.baseSecret }
    const stsEnv = { AWS_ENDPOINT_URL_STS: sts.url }
    const failures: Array<() => Promise<unknown>> = [
      () =>
        chain(stsEnv).credentials(
          { ...base, aws_session_token: secrets.baseToken, aws_role_name: ROLE },
          'c',
        ),
      () =>
        chain(stsEnv).credentials(
          { aws_web_identity_token: secrets.webToken, aws_role_name: OIDC_ROLE },
          'c',
        ),
      () => chain(stsEnv).credentials({ aws_web_identity_token: secrets.webToken }, 'c'),
      () => chain(stsEnv).credentials({ aws_secret_access_key: secrets.baseSecret }, 'c'),
      () =>
        chain({
          AWS_CONTAINER_CREDENTIALS_FULL_URI: metadata.containerUrl,
          AWS_CONTAINER_AUTHORIZATION_TOKEN: secrets.containerToken,
        }).credentials({}, 'c'),
      () =>
        chain(
          { ...stsEnv, AWS_WEB_IDENTITY_TOKEN_FILE: '/t', AWS_ROLE_ARN: ROLE },
          {
            readFile: async () => secrets.webToken,
          },
        ).credentials({}, 'c'),
    ]
    const messages: string[] = []
    for (const failure of failures) {
      sts.script({ type: 'error', status: 500, code: 'InternalFailure', message: secrets.webToken })
      messages.push((await rejection(failure())).message)
    }
    expect(messages).toHaveLength(6)
    for (const message of messages)
      for (const secret of Object.values(secrets)) expect(message).not.toContain(secret)
  })
})
