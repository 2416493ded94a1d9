import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/config-error'
import { type ConfigSource, loadConfigText, parseS3Url, resolveConfigSource } from '../../src/config/load'
import { parseConfig } from '../../src/config/parse'
import { encodeS3Key, getS3Object } from '../../src/config/s3'
import { type FakeS3, startFakeS3 } from '../fakes/s3'

const SEED = readFileSync(new URL('../fixtures/seed-proxy_config.yaml', import.meta.url), 'utf8')

describe('resolveConfigSource', () => {
  it('returns undefined when nothing is configured (the caller uses the embedded demo)', () => {
    expect(resolveConfigSource({}, {})).toBeUndefined()
  })

  it('reads --config, then CONFIG_FILE_PATH', () => {
    expect(
      resolveConfigSource({ configPath: 'proxy_config.yaml' }, { CONFIG_FILE_PATH: 'other.yaml' }),
    ).toEqual({
      kind: 'file',
      path: 'proxy_config.yaml',
    })
    expect(resolveConfigSource({}, { CONFIG_FILE_PATH: '/app/config.yaml' })).toEqual({
      kind: 'file',
      path: '/app/config.yaml',
    })
  })

  it('turns s3:// paths into s3 sources', () => {
    expect(resolveConfigSource({ configPath: 's3://my-bucket/litellm/proxy_config.yaml' }, {})).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      key: 'litellm/proxy_config.yaml',
    })
    expect(resolveConfigSource({}, { CONFIG_FILE_PATH: 's3://b/k.yaml' })).toEqual({
      kind: 's3',
      bucket: 'b',
      key: 'k.yaml',
    })
  })

  it("uses LiteLLM's bucket variables, ahead of CONFIG_FILE_PATH but not of --config", () => {
    const env = {
      LITELLM_CONFIG_BUCKET_NAME: 'cfg-bucket',
      LITELLM_CONFIG_BUCKET_OBJECT_KEY: 'litellm/proxy_config.yaml',
      CONFIG_FILE_PATH: 'local.yaml',
    }
    expect(resolveConfigSource({}, env)).toEqual({
      kind: 's3',
      bucket: 'cfg-bucket',
      key: 'litellm/proxy_config.yaml',
    })
    expect(resolveConfigSource({}, { ...env, LITELLM_CONFIG_BUCKET_TYPE: 'S3' })).toMatchObject({
      kind: 's3',
    })
    expect(resolveConfigSource({ configPath: 'cli.yaml' }, env)).toEqual({ kind: 'file', path: 'cli.yaml' })
  })

  it('rejects other bucket types and a missing object key', () => {
    const env = { LITELLM_CONFIG_BUCKET_NAME: 'b', LITELLM_CONFIG_BUCKET_OBJECT_KEY: 'k' }
    expect(() => resolveConfigSource({}, { ...env, LITELLM_CONFIG_BUCKET_TYPE: 'gcs' })).toThrow(
      'LITELLM_CONFIG_BUCKET_TYPE: "gcs": only s3 is supported',
    )
    expect(() => resolveConfigSource({}, { LITELLM_CONFIG_BUCKET_NAME: 'b' })).toThrow(
      /^LITELLM_CONFIG_BUCKET_OBJECT_KEY: is not set/,
    )
  })
})

describe('parseS3Url / encodeS3Key', () => {
  it('splits bucket and key', () => {
    expect(parseS3Url('s3://b/a/b/c.yaml')).toEqual({ bucket: 'b', key: 'a/b/c.yaml' })
    expect(() => parseS3Url('s3://bucket-only')).toThrow('s3://bucket-only: expected s3://bucket/key')
    expect(() => parseS3Url('s3:///key')).toThrow(ConfigError)
  })

  it("encodes each segment, including !'()*", () => {
    expect(encodeS3Key("prefix/my config (v2)/gateway é!*'.yaml")).toBe(
      'prefix/my%20config%20%28v2%29/gateway%20%C3%A9%21%2A%27.yaml',
    )
  })
})

describe('loadConfigText: text and file sources', () => {
  const deps = { env: {}, fetch }

  it('returns inline text as is', async () => {
    expect(await loadConfigText({ kind: 'text', text: 'model_list: []' }, deps)).toBe('model_list: []')
  })

  it('reads files through the injected reader', async () => {
    const read: string[] = []
    const readFile = async (path: string) => {
      read.push(path)
      return SEED
    }
    expect(await loadConfigText({ kind: 'file', path: 'proxy_config.yaml' }, { ...deps, readFile })).toBe(
      SEED,
    )
    expect(read).toEqual(['proxy_config.yaml'])
  })

  it('explains when the runtime cannot read files, or the read fails', async () => {
    const source: ConfigSource = { kind: 'file', path: 'proxy_config.yaml' }
    await expect(loadConfigText(source, deps)).rejects.toThrow(
      /^proxy_config.yaml: config files cannot be read/,
    )
    const readFile = async () => {
      throw new Error("ENOENT: no such file or directory, open 'proxy_config.yaml'")
    }
    await expect(loadConfigText(source, { ...deps, readFile })).rejects.toThrow(
      "proxy_config.yaml: cannot read the config file: ENOENT: no such file or directory, open 'proxy_config.yaml'",
    )
  })
})

describe('loadConfigText: S3 (against the local fake S3, signatures verified)', () => {
  let s3: FakeS3
  const KEY = 'litellm/proxy_config.yaml'

  beforeAll(async () => {
    s3 = await startFakeS3({ region: 'us-west-2' })
  })
  afterAll(async () => {
    await s3.close()
  })
  beforeEach(() => {
    s3.reset()
  })

  const envFor = (creds = s3.credentials): Record<string, string> => ({
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    ...(creds.sessionToken ? { AWS_SESSION_TOKEN: creds.sessionToken } : {}),
    AWS_REGION: 'us-west-2',
    AWS_ENDPOINT_URL_S3: s3.url,
  })

  it('fetches the seed config with a path-style, SigV4-signed GET and parses it', async () => {
    s3.putObject('seed-bucket', KEY, SEED)
    const env = envFor()
    const source = resolveConfigSource({ configPath: `s3://seed-bucket/${KEY}` }, env)
    if (!source) throw new Error('expected a source')
    const text = await loadConfigText(source, { env, fetch })
    expect(text).toBe(SEED)

    const [request] = s3.requests
    expect(request?.method).toBe('GET')
    expect(request?.rawPath).toBe('/seed-bucket/litellm/proxy_config.yaml')
    expect(request?.auth).toEqual({ ok: true })
    expect(request?.headers.authorization).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${s3.credentials.accessKeyId}/\\d{8}/us-west-2/s3/aws4_request, ` +
          'SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$',
      ),
    )
    const config = await parseConfig(text, { ...env, LITELLM_MASTER_KEY: 'sk-1' })
    expect(config.deployments).toHaveLength(4)
  })

  it('uses the bucket variables, temporary credentials and keys that need encoding', async () => {
    const key = 'configs/my config (v2)/proxy é.yaml'
    s3.putObject('cfg.bucket', key, 'model_list: []\n')
    const env = {
      ...envFor(s3.tempCredentials),
      LITELLM_CONFIG_BUCKET_NAME: 'cfg.bucket',
      LITELLM_CONFIG_BUCKET_OBJECT_KEY: key,
    }
    const source = resolveConfigSource({}, env)
    if (!source) throw new Error('expected a source')
    expect(await loadConfigText(source, { env, fetch })).toBe('model_list: []\n')
    expect(s3.requests[0]?.rawPath).toBe('/cfg.bucket/configs/my%20config%20%28v2%29/proxy%20%C3%A9.yaml')
    expect(s3.requests[0]?.auth).toEqual({ ok: true })
    expect(s3.requests[0]?.headers['x-amz-security-token']).toBe(s3.tempCredentials.sessionToken)
  })

  it('accepts injected credentials (static or a provider) instead of the environment', async () => {
    s3.putObject('b', 'k.yaml', 'x: 1\n')
    const env = { AWS_REGION: 'us-west-2', AWS_ENDPOINT_URL: `${s3.url}/` }
    expect(await getS3Object('b', 'k.yaml', { env, fetch, credentials: s3.credentials })).toBe('x: 1\n')
    expect(
      await getS3Object('b', 'k.yaml', { env, fetch, credentials: async () => s3.tempCredentials }),
    ).toBe('x: 1\n')
    expect(s3.requests.map((r) => r.auth.ok)).toEqual([true, true])
  })

  it("reports S3's error code and message with the s3:// location, never the credentials", async () => {
    s3.createBucket('seed-bucket')
    const env = envFor()
    const error = await getS3Object('seed-bucket', 'missing.yaml', { env, fetch }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).message).toBe(
      's3://seed-bucket/missing.yaml: NoSuchKey: The specified key does not exist.',
    )

    const wrongSecret = { ...env, AWS_SECRET_ACCESS_KEY: 'not-the-secret' }
    const denied = await getS3Object('seed-bucket', 'missing.yaml', { env: wrongSecret, fetch }).catch(
      (e: unknown) => e,
    )
    const message = (denied as ConfigError).message
    expect(message).toMatch(/^s3:\/\/seed-bucket\/missing.yaml: SignatureDoesNotMatch: /)
    expect(message).not.toContain('not-the-secret')
    expect(message).not.toContain(env.AWS_ACCESS_KEY_ID)
  })

  it('reports 5xx errors without retrying', async () => {
    s3.putObject('b', 'k.yaml', 'x: 1\n')
    s3.script({ type: 'error', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' })
    await expect(getS3Object('b', 'k.yaml', { env: envFor(), fetch })).rejects.toThrow(
      's3://b/k.yaml: SlowDown: Please reduce your request rate.',
    )
    expect(s3.requests).toHaveLength(1)
  })

  it('explains missing credentials and network failures', async () => {
    await expect(getS3Object('b', 'k', { env: {}, fetch })).rejects.toThrow(
      's3://b/k: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    )
    const env = { ...envFor(), AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1' }
    await expect(getS3Object('b', 'k', { env, fetch })).rejects.toThrow(
      /^s3:\/\/b\/k: request to 127\.0\.0\.1:1 failed/,
    )
  })
})
