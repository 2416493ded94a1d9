import { AwsClient } from 'aws4fetch'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeBedrock, type FakeCredentials, startFakeBedrock } from '../fakes/bedrock'
import { type FakeS3, s3ObjectUrl, startFakeS3 } from '../fakes/s3'
import { formatAmzDate, parseAmzDate, verifySigV4 } from '../fakes/sigv4-verifier'

const ARN =
  'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0'
const BODY = { messages: [{ role: 'user', content: [{ text: 'Hello there' }] }] }

function bedrockClient(creds: FakeCredentials, service = 'bedrock'): AwsClient {
  return new AwsClient({ ...creds, service, region: 'us-east-1', retries: 0 })
}

async function errorOf(res: Response): Promise<{ status: number; type: string | null; message: string }> {
  const body = (await res.json()) as { message: string }
  return { status: res.status, type: res.headers.get('x-amzn-errortype'), message: body.message }
}

describe('verifySigV4 against the official AWS SigV4 test suite vectors', () => {
  const credentials = new Map([
    ['AKIDEXAMPLE', { secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }],
  ])
  const opts = {
    service: 'service',
    region: 'us-east-1',
    credentials,
    maxSkewMs: 5 * 60_000,
    now: () => Date.UTC(2015, 7, 30, 12, 36, 0),
  }
  const scope = 'Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request'

  it('accepts get-vanilla', async () => {
    const result = await verifySigV4(
      {
        method: 'GET',
        rawPath: '/',
        headers: {
          host: 'example.amazonaws.com',
          'x-amz-date': '20150830T123600Z',
          authorization: `AWS4-HMAC-SHA256 ${scope}, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31`,
        },
        body: new Uint8Array(0),
      },
      opts,
    )
    expect(result).toMatchObject({ ok: true, accessKeyId: 'AKIDEXAMPLE', region: 'us-east-1' })
  })

  it('accepts post-x-www-form-urlencoded (signed content-type, body hash)', async () => {
    const req = {
      method: 'POST',
      rawPath: '/',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        host: 'example.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
        authorization: `AWS4-HMAC-SHA256 ${scope}, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a`,
      },
      body: new TextEncoder().encode('Param1=value1'),
    }
    expect((await verifySigV4(req, opts)).ok).toBe(true)
    const tampered = await verifySigV4({ ...req, body: new TextEncoder().encode('Param1=value2') }, opts)
    expect(tampered).toMatchObject({
      ok: false,
      status: 403,
      code: 'InvalidSignatureException',
      reason: 'signature',
    })
    if (!tampered.ok) expect(tampered.canonicalRequest).toContain('content-type;host;x-amz-date')
  })

  it('parses and formats x-amz-date strictly', () => {
    expect(parseAmzDate('20150830T123600Z')).toBe(Date.UTC(2015, 7, 30, 12, 36, 0))
    expect(parseAmzDate('20150230T123600Z')).toBeUndefined()
    expect(parseAmzDate('2015-08-30T12:36:00Z')).toBeUndefined()
    expect(formatAmzDate(Date.UTC(2015, 7, 30, 12, 36, 0))).toBe('20150830T123600Z')
  })
})

describe('fake Bedrock SigV4 (aws4fetch client, smithy verifier)', () => {
  let fake: FakeBedrock
  const url = () => `${fake.url}/model/${encodeURIComponent(ARN)}/converse`

  beforeAll(async () => {
    fake = await startFakeBedrock()
  })
  afterAll(async () => {
    await fake.close()
  })

  it('accepts a request signed with service bedrock and an ARN model id in the path', async () => {
    fake.reset()
    const res = await bedrockClient(fake.credentials).fetch(url(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(BODY),
    })
    expect(res.status).toBe(200)
    const recorded = fake.requests[0]!
    expect(recorded.rawPath).toContain('inference-profile%2Fus.anthropic')
    expect(recorded).toMatchObject({
      modelId: ARN,
      operation: 'converse',
      region: 'us-east-1',
      accessKeyId: fake.credentials.accessKeyId,
      auth: { ok: true },
      status: 200,
      body: BODY,
    })
    expect(recorded.headers.authorization).toContain('SignedHeaders=accept;host;x-amz-date')
  })

  it('accepts temporary credentials with their session token', async () => {
    const res = await bedrockClient(fake.tempCredentials).fetch(url(), {
      method: 'POST',
      body: JSON.stringify(BODY),
    })
    expect(res.status).toBe(200)
    expect(fake.requests.at(-1)?.headers['x-amz-security-token']).toBe(fake.tempCredentials.sessionToken)
  })

  it('rejects a wrong session token with UnrecognizedClientException', async () => {
    const creds = { ...fake.tempCredentials, sessionToken: 'not-the-token' }
    const res = await bedrockClient(creds).fetch(url(), { method: 'POST', body: JSON.stringify(BODY) })
    expect(await errorOf(res)).toEqual({
      status: 403,
      type: 'UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.coral.service/',
      message: 'The security token included in the request is invalid.',
    })
  })

  it('rejects a tampered body with InvalidSignatureException', async () => {
    const signed = await bedrockClient(fake.credentials).sign(url(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(BODY),
    })
    const tampered = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'Hello thera' }] }] })
    const res = await fetch(signed.url, { method: 'POST', headers: signed.headers, body: tampered })
    const err = await errorOf(res)
    expect(err.status).toBe(403)
    expect(err.type).toMatch(/^InvalidSignatureException:/)
    expect(err.message).toMatch(
      /^The request signature we calculated does not match the signature you provided\. /,
    )
    expect(fake.requests.at(-1)?.auth).toMatchObject({ ok: false, code: 'InvalidSignatureException' })
  })

  it('rejects a path signed single-encoded (a known client bug)', async () => {
    const signed = await bedrockClient(fake.credentials).sign(url(), {
      method: 'POST',
      body: JSON.stringify(BODY),
      aws: { singleEncode: true },
    })
    const res = await fetch(signed.url, {
      method: 'POST',
      headers: signed.headers,
      body: JSON.stringify(BODY),
    })
    expect((await errorOf(res)).type).toMatch(/^InvalidSignatureException:/)
  })

  it('rejects a signature 6 minutes old with "Signature expired" but accepts 4 minutes', async () => {
    const client = bedrockClient(fake.credentials)
    const old = formatAmzDate(Date.now() - 6 * 60_000)
    const res = await client.fetch(url(), {
      method: 'POST',
      body: JSON.stringify(BODY),
      aws: { datetime: old },
    })
    const err = await errorOf(res)
    expect(err.status).toBe(403)
    expect(err.type).toMatch(/^InvalidSignatureException:/)
    expect(err.message).toMatch(
      new RegExp(
        `^Signature expired: ${old} is now earlier than \\d{8}T\\d{6}Z \\(\\d{8}T\\d{6}Z - 5 min\\.\\)$`,
      ),
    )

    const fixed = await client.fetch(url(), {
      method: 'POST',
      body: JSON.stringify(BODY),
      aws: { datetime: '20200101T000000Z' },
    })
    expect((await errorOf(fixed)).message).toMatch(/^Signature expired: 20200101T000000Z is now earlier than/)

    const recent = formatAmzDate(Date.now() - 4 * 60_000)
    const ok = await client.fetch(url(), {
      method: 'POST',
      body: JSON.stringify(BODY),
      aws: { datetime: recent },
    })
    expect(ok.status).toBe(200)
  })

  it('rejects a signature from the future with "Signature not yet current"', async () => {
    const future = formatAmzDate(Date.now() + 6 * 60_000)
    const res = await bedrockClient(fake.credentials).fetch(url(), {
      method: 'POST',
      body: JSON.stringify(BODY),
      aws: { datetime: future },
    })
    expect((await errorOf(res)).message).toMatch(
      new RegExp(`^Signature not yet current: ${future} is still later than`),
    )
  })

  it('rejects the bedrock-runtime service scope (aws4fetch host guess)', async () => {
    const res = await bedrockClient(fake.credentials, 'bedrock-runtime').fetch(url(), {
      method: 'POST',
      body: JSON.stringify(BODY),
    })
    expect(await errorOf(res)).toEqual({
      status: 403,
      type: 'InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/',
      message: "Credential should be scoped to correct service: 'bedrock'. ",
    })
  })

  it('rejects a wrong region scope', async () => {
    const client = new AwsClient({ ...fake.credentials, service: 'bedrock', region: 'eu-west-1', retries: 0 })
    const res = await client.fetch(url(), { method: 'POST', body: JSON.stringify(BODY) })
    const err = await errorOf(res)
    expect(err.status).toBe(403)
    expect(err.message).toMatch(/^Credential should be scoped to a valid region/)
  })

  it('rejects an unknown access key with UnrecognizedClientException', async () => {
    const res = await bedrockClient({ accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' }).fetch(
      url(),
      {
        method: 'POST',
        body: JSON.stringify(BODY),
      },
    )
    expect(await errorOf(res)).toMatchObject({
      status: 403,
      message: 'The security token included in the request is invalid.',
    })
    expect(fake.requests.at(-1)?.auth).toMatchObject({ ok: false, code: 'UnrecognizedClientException' })
  })

  it('rejects a wrong secret with InvalidSignatureException', async () => {
    const res = await bedrockClient({ ...fake.credentials, secretAccessKey: 'wrong' }).fetch(url(), {
      method: 'POST',
      body: JSON.stringify(BODY),
    })
    expect((await errorOf(res)).type).toMatch(/^InvalidSignatureException:/)
  })

  it('answers an unsigned request with MissingAuthenticationTokenException', async () => {
    const res = await fetch(url(), { method: 'POST', body: JSON.stringify(BODY) })
    expect(await errorOf(res)).toEqual({
      status: 403,
      type: 'MissingAuthenticationTokenException:http://internal.amazon.com/coral/com.amazon.coral.service/',
      message: 'Missing Authentication Token',
    })
  })

  it('accepts credentials added at runtime and forgets removed ones', async () => {
    const extra = { accessKeyId: 'AKIAEXTRA00000000001', secretAccessKey: 'extra/secret+key' }
    fake.addCredentials(extra)
    expect(
      (await bedrockClient(extra).fetch(url(), { method: 'POST', body: JSON.stringify(BODY) })).status,
    ).toBe(200)
    fake.removeCredentials(extra.accessKeyId)
    expect(
      (await bedrockClient(extra).fetch(url(), { method: 'POST', body: JSON.stringify(BODY) })).status,
    ).toBe(403)
  })
})

describe('fake S3 GetObject SigV4', () => {
  let s3: FakeS3
  const KEY = 'prefix/my config (v2)/gateway é.yaml'
  const YAML = 'model_list:\n  - model_name: claude\n'
  const client = (creds: FakeCredentials = s3.credentials) =>
    new AwsClient({ ...creds, service: 's3', region: 'us-east-1', retries: 0 })

  beforeAll(async () => {
    s3 = await startFakeS3()
    s3.putObject('config-bucket', KEY, YAML, { contentType: 'application/x-yaml' })
  })
  afterAll(async () => {
    await s3.close()
  })

  it('verifies a key with spaces, parentheses and unicode and returns the object', async () => {
    const objectUrl = s3ObjectUrl(s3.url, 'config-bucket', KEY)
    expect(objectUrl).toContain('/config-bucket/prefix/my%20config%20%28v2%29/gateway%20%C3%A9.yaml')
    const res = await client().fetch(objectUrl)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(YAML)
    expect(res.headers.get('content-type')).toBe('application/x-yaml')
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/)
    expect(s3.requests.at(-1)).toMatchObject({
      bucket: 'config-bucket',
      key: KEY,
      status: 200,
      region: 'us-east-1',
    })
    expect(s3.requests.at(-1)?.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD')
  })

  it('also verifies when the URL carries raw parentheses (S3 canonicalises the path)', async () => {
    const res = await client().fetch(`${s3.url}/config-bucket/${KEY}`)
    expect(res.status).toBe(200)
    expect(s3.requests.at(-1)?.rawPath).toContain('(v2)')
  })

  it('accepts temporary credentials and a hex x-amz-content-sha256 of the empty body', async () => {
    const res = await client(s3.tempCredentials).fetch(s3ObjectUrl(s3.url, 'config-bucket', KEY), {
      headers: { 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
    })
    expect(res.status).toBe(200)
  })

  it('answers If-None-Match with the current ETag with 304', async () => {
    const first = await client().fetch(s3ObjectUrl(s3.url, 'config-bucket', KEY))
    const etag = first.headers.get('etag')!
    await first.arrayBuffer()
    const res = await client().fetch(s3ObjectUrl(s3.url, 'config-bucket', KEY), {
      headers: { 'if-none-match': etag },
    })
    expect(res.status).toBe(304)
    expect(res.headers.get('etag')).toBe(etag)
    const changed = await client().fetch(s3ObjectUrl(s3.url, 'config-bucket', KEY), {
      headers: { 'if-none-match': '"0000"' },
    })
    expect(changed.status).toBe(200)
  })

  it('returns NoSuchKey as XML 404', async () => {
    const res = await client().fetch(s3ObjectUrl(s3.url, 'config-bucket', 'prefix/missing.yaml'))
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toBe('application/xml')
    const xml = await res.text()
    expect(xml).toContain('<Code>NoSuchKey</Code>')
    expect(xml).toContain('<Message>The specified key does not exist.</Message>')
    expect(xml).toContain('<Key>prefix/missing.yaml</Key>')
  })

  it('returns NoSuchBucket as XML 404', async () => {
    const res = await client().fetch(s3ObjectUrl(s3.url, 'other-bucket', 'a.yaml'))
    expect(res.status).toBe(404)
    expect(await res.text()).toContain('<Code>NoSuchBucket</Code>')
  })

  it('rejects a wrong secret with SignatureDoesNotMatch and an unknown key with AccessDenied', async () => {
    const bad = await client({ ...s3.credentials, secretAccessKey: 'nope' }).fetch(
      s3ObjectUrl(s3.url, 'config-bucket', KEY),
    )
    expect(bad.status).toBe(403)
    expect(bad.headers.get('content-type')).toBe('application/xml')
    expect(await bad.text()).toContain('<Code>SignatureDoesNotMatch</Code>')

    const unknown = await client({ accessKeyId: 'AKIANOBODY0000000000', secretAccessKey: 'x' }).fetch(
      s3ObjectUrl(s3.url, 'config-bucket', KEY),
    )
    expect(unknown.status).toBe(403)
    expect(await unknown.text()).toContain('<Code>AccessDenied</Code>')
  })

  it('rejects a hex x-amz-content-sha256 that does not match the body', async () => {
    const res = await client().fetch(s3ObjectUrl(s3.url, 'config-bucket', KEY), {
      headers: { 'x-amz-content-sha256': 'a'.repeat(64) },
    })
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('<Code>XAmzContentSHA256Mismatch</Code>')
  })

  it('allows 15 minutes of skew, not more', async () => {
    const url = s3ObjectUrl(s3.url, 'config-bucket', KEY)
    const ten = await client().fetch(url, { aws: { datetime: formatAmzDate(Date.now() - 10 * 60_000) } })
    expect(ten.status).toBe(200)
    const sixteen = await client().fetch(url, { aws: { datetime: formatAmzDate(Date.now() - 16 * 60_000) } })
    expect(sixteen.status).toBe(403)
    expect(await sixteen.text()).toContain('<Code>RequestTimeTooSkewed</Code>')
  })

  it('rejects the wrong region with AuthorizationHeaderMalformed', async () => {
    const eu = new AwsClient({ ...s3.credentials, service: 's3', region: 'eu-west-1', retries: 0 })
    const res = await eu.fetch(s3ObjectUrl(s3.url, 'config-bucket', KEY))
    expect(res.status).toBe(400)
    const xml = await res.text()
    expect(xml).toContain('<Code>AuthorizationHeaderMalformed</Code>')
    expect(xml).toContain("the region 'eu-west-1' is wrong; expecting 'us-east-1'")
  })
})
