import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { credentialCache } from '../../src/aws/credential-cache'
import { credentialChain } from '../../src/aws/credential-chain'
import type { AwsCredentials } from '../../src/aws/credentials'
import { GatewayError } from '../../src/errors'
import { createLogger } from '../../src/observability/logger'
import { type FakeAwsMetadata, startFakeAwsMetadata } from '../fakes/aws-metadata'
import { type FakeSts, startFakeSts } from '../fakes/sts'

/**
 * Caching of temporary credentials: per source, refreshed 5 minutes before Expiration, one refresh
 * for any number of concurrent callers, stale-but-valid credentials kept when a refresh fails, a
 * clear error once they have expired. The fakes issue real-time Expirations; the chain's clock is
 * moved forward by `offset` (SigV4 itself is signed with the real time, which the fake STS checks).
 */
const ROLE = 'arn:aws:iam::123456789012:role/bedrock-caller'
const MINUTE = 60_000
const HOUR = 60 * MINUTE

let sts: FakeSts
let metadata: FakeAwsMetadata
let offset = 0
const clock = () => Date.now() + offset

beforeAll(async () => {
  sts = await startFakeSts({ roles: [{ arn: ROLE }] })
  metadata = await startFakeAwsMetadata()
})
afterAll(async () => {
  await sts?.close()
  await metadata?.close()
})
beforeEach(() => {
  sts.reset()
  metadata.reset()
  sts.lifetimeMs = HOUR
  offset = 0
})

function gatewayChain() {
  const lines: string[] = []
  const aws = credentialChain({
    env: { AWS_ENDPOINT_URL_STS: sts.url, AWS_EC2_METADATA_SERVICE_ENDPOINT: metadata.url },
    fetch,
    clock,
    logger: createLogger('debug', (line) => lines.push(line)),
    timeouts: { metadataMs: 300, stsMs: 400 },
  })
  return { aws, lines }
}

const roleParams = (extra: Record<string, string> = {}) => ({
  aws_role_name: ROLE,
  aws_access_key_id: sts.credentials.accessKeyId,
  aws_secret_access_key: sts.credentials.secretAccessKey,
  ...extra,
})

const assumeRoleCalls = () => sts.count('AssumeRole')

describe('STS session cache', () => {
  it('reuses a session until 5 minutes before its Expiration, then refreshes it', async () => {
    const { aws } = gatewayChain()
    const first = await aws.credentials(roleParams(), 'claude')
    offset = 54 * MINUTE
    expect(await aws.credentials(roleParams(), 'claude')).toEqual(first)
    expect(assumeRoleCalls()).toBe(1)

    offset = 56 * MINUTE
    const second = await aws.credentials(roleParams(), 'claude')
    expect(assumeRoleCalls()).toBe(2)
    expect(second).not.toEqual(first)
    expect(second).toEqual(sts.issued[1])
  })

  it('keeps one entry per distinct source: every aws_* input is part of the key', async () => {
    const { aws } = gatewayChain()
    await aws.credentials(roleParams(), 'a')
    await aws.credentials(roleParams(), 'b') // another deployment, same settings: shared
    await aws.credentials(roleParams({ aws_session_name: 'team-b' }), 'c')
    await aws.credentials(roleParams({ aws_region_name: 'eu-west-1' }), 'd')
    await aws.credentials(roleParams({ aws_session_token: 'other-base-session' }), 'e').catch(() => undefined)
    expect(assumeRoleCalls()).toBe(4)
  })

  it('makes one STS call for many concurrent callers, first use and refresh alike (single flight)', async () => {
    const { aws } = gatewayChain()
    sts.script({ type: 'default', delayMs: 100 })
    const first = await Promise.all(
      Array.from({ length: 25 }, (_, i) => aws.credentials(roleParams(), `d${i}`)),
    )
    expect(assumeRoleCalls()).toBe(1)
    expect(new Set(first.map((c) => c.accessKeyId)).size).toBe(1)

    offset = 57 * MINUTE
    sts.script({ type: 'default', delayMs: 100 })
    const refreshed = await Promise.all(
      Array.from({ length: 25 }, () => aws.credentials(roleParams(), 'claude')),
    )
    expect(assumeRoleCalls()).toBe(2)
    expect(new Set(refreshed.map((c) => c.accessKeyId))).toEqual(new Set([sts.issued[1]?.accessKeyId]))
  })

  it('keeps serving still-valid credentials when a refresh fails, retries 30 s later, and logs no secret', async () => {
    const { aws, lines } = gatewayChain()
    const first = await aws.credentials(roleParams(), 'claude')
    offset = 56 * MINUTE
    sts.script({ type: 'error', status: 500, code: 'InternalFailure' })
    expect(await aws.credentials(roleParams(), 'claude')).toEqual(first)
    expect(assumeRoleCalls()).toBe(2)
    // Within the back-off: no STS call, no waiting.
    expect(await aws.credentials(roleParams(), 'claude')).toEqual(first)
    expect(assumeRoleCalls()).toBe(2)

    offset = 56 * MINUTE + 31_000
    const second = await aws.credentials(roleParams(), 'claude')
    expect(assumeRoleCalls()).toBe(3)
    expect(second).toEqual(sts.issued[1])

    const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.level === 'warn')
    expect(warning).toMatchObject({
      message: 'AWS credential refresh failed; using the cached credentials until they expire',
      source: 'STS AssumeRole for aws_role_name',
      problem: 'answered HTTP 500 InternalFailure',
    })
    const logged = lines.join('\n')
    for (const secret of [first.secretAccessKey, first.sessionToken ?? '', sts.credentials.secretAccessKey])
      expect(logged).not.toContain(secret)
  })

  it('fails clearly once the credentials have expired and the refresh fails: 503 when STS is down, 500 when it refuses', async () => {
    const { aws } = gatewayChain()
    await aws.credentials(roleParams(), 'claude')
    offset = HOUR + MINUTE
    sts.script({ type: 'hang' })
    const started = Date.now()
    const down = await aws.credentials(roleParams(), 'claude').catch((e: unknown) => e as GatewayError)
    expect(Date.now() - started).toBeLessThan(2000)
    expect(down).toBeInstanceOf(GatewayError)
    expect(down).toMatchObject({ status: 503, type: 'service_unavailable_error', retryable: true })
    expect((down as GatewayError).message).toBe(
      'AWS credentials for deployment claude are unavailable: STS AssumeRole for aws_role_name did not answer within 0.4 s',
    )

    sts.script({ type: 'error', status: 403, code: 'AccessDenied', message: `not authorized on ${ROLE}` })
    const refused = await aws.credentials(roleParams(), 'claude').catch((e: unknown) => e as GatewayError)
    expect(refused).toMatchObject({ status: 500, type: 'api_error', retryable: false })
    expect((refused as GatewayError).message).toMatch(
      /STS answered HTTP 403 AccessDenied: the role in aws_role_name/,
    )
    expect((refused as GatewayError).message).not.toContain(ROLE)

    // And the next call tries again (a failure is not remembered).
    expect(await aws.credentials(roleParams(), 'claude')).toEqual(sts.issued[1])
  })

  it('does not treat credentials within 30 s of Expiration as valid', async () => {
    const { aws } = gatewayChain()
    await aws.credentials(roleParams(), 'claude')
    offset = HOUR - 20_000
    sts.script({ type: 'error', status: 503, code: 'ServiceUnavailable' })
    await expect(aws.credentials(roleParams(), 'claude')).rejects.toMatchObject({ status: 503 })
  })
})

describe('instance metadata cache', () => {
  it('makes one token/role/credentials round for many concurrent callers and reuses it', async () => {
    const { aws } = gatewayChain()
    metadata.script('imds-token', { type: 'default', delayMs: 100 })
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => aws.credentials({}, `d${i}`)))
    expect([
      metadata.count('imds-token'),
      metadata.count('imds-role'),
      metadata.count('imds-credentials'),
    ]).toEqual([1, 1, 1])
    expect(new Set(all.map((c) => c.accessKeyId))).toEqual(new Set([metadata.issued[0]?.accessKeyId]))
    await aws.credentials({}, 'again')
    expect(metadata.count('imds-credentials')).toBe(1)

    offset = 56 * MINUTE
    expect(await aws.credentials({}, 'later')).toEqual(metadata.issued[1])
    expect(metadata.count('imds-credentials')).toBe(2)
  })

  it('keeps the instance credentials through an IMDS outage until they expire', async () => {
    const { aws } = gatewayChain()
    const first = await aws.credentials({}, 'c')
    metadata.setPlan('imds-token', { type: 'hang' })
    offset = 58 * MINUTE
    expect(await aws.credentials({}, 'c')).toEqual(first)
    offset = HOUR
    await expect(aws.credentials({}, 'c')).rejects.toMatchObject({
      status: 503,
      message:
        'AWS credentials for deployment c are unavailable: EC2 instance metadata (IMDSv2) did not answer within 0.3 s',
    })
  })
})

describe('credentialCache (the policy alone)', () => {
  const keys = (n: number): AwsCredentials => ({
    accessKeyId: `K${n}`,
    secretAccessKey: 's',
    sessionToken: 't',
  })

  it('does not refetch short-lived credentials on every call (refreshes at half their remaining life)', async () => {
    let now = 0
    let fetched = 0
    const cache = credentialCache(() => now)
    const fetcher = async () => ({ credentials: keys(++fetched), expiresAt: now + 4 * MINUTE })
    await cache.get('k', fetcher)
    now = MINUTE
    await cache.get('k', fetcher)
    expect(fetched).toBe(1)
    now = 2 * MINUTE
    expect(await cache.get('k', fetcher)).toEqual(keys(2))
  })

  it('re-reads credentials without Expiration every 10 minutes', async () => {
    let now = 0
    let fetched = 0
    const cache = credentialCache(() => now)
    const fetcher = async () => ({ credentials: keys(++fetched) })
    await cache.get('k', fetcher)
    now = 9 * MINUTE
    await cache.get('k', fetcher)
    expect(fetched).toBe(1)
    now = 10 * MINUTE + 1
    expect(await cache.get('k', fetcher)).toEqual(keys(2))
  })

  it('settles callers even when the fetcher throws synchronously, and forgets a source that never worked', async () => {
    const cache = credentialCache(() => 0)
    const boom = () => {
      throw new Error('boom')
    }
    await expect(cache.get('k', boom)).rejects.toThrow('boom')
    await expect(cache.get('k', async () => ({ credentials: keys(1) }))).resolves.toEqual(keys(1))
  })
})
