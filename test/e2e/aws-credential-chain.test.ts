import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeAwsMetadata, startFakeAwsMetadata } from '../fakes/aws-metadata'
import { type FakeBedrock, type FakeCredentials, startFakeBedrock } from '../fakes/bedrock'
import { type FakeSts, startFakeSts } from '../fakes/sts'
import { type GatewayProcess, startGateway, writeConfig } from './helpers/gateway-process'

/**
 * The real Node gateway, driven by the official `openai` client, calling the fake Bedrock with
 * credentials from each link of the chain. The fake Bedrock accepts none of its built-in keys: only
 * the config and env key pairs added below and whatever the fake STS, container agent and IMDS
 * issue (their `onIssue` hands each new set to it). So a successful answer signed by a given key is
 * proof of where the gateway got it.
 */
const MASTER_KEY = 'sk-e2e-credential-chain'
const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0'
const ROLE = 'arn:aws:iam::123456789012:role/bedrock-caller'
const IRSA_ROLE = 'arn:aws:iam::123456789012:role/eks-gateway'
const CONFIG_KEYS: FakeCredentials = {
  accessKeyId: 'AKIAE2ECONFIGKEYS01',
  secretAccessKey: 'e2eConfigSecret/Key+01',
}
const ENV_KEYS: FakeCredentials = {
  accessKeyId: 'AKIAE2EENVKEYS00001',
  secretAccessKey: 'e2eEnvSecret/Key+02',
}
/** Known to STS only: the base credentials for AssumeRole, never accepted by Bedrock. */
const ROLE_BASE_KEYS: FakeCredentials = {
  accessKeyId: 'AKIAE2EROLEBASE0001',
  secretAccessKey: 'e2eRoleBaseSecret/Key+03',
}

let bedrock: FakeBedrock
let sts: FakeSts
let metadata: FakeAwsMetadata
const gateways: GatewayProcess[] = []

const deployment = (name: string, params = '') => `
  - model_name: ${name}
    litellm_params:
      model: bedrock/${MODEL}
      aws_region_name: us-east-1${params}`

function tempFile(name: string, content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'multillm-aws-')), name)
  writeFileSync(path, content)
  return path
}

async function gateway(models: string, env: Record<string, string>): Promise<OpenAI> {
  const config = `model_list:${models}\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n`
  const started = await startGateway(['--config', writeConfig(config)], {
    LITELLM_MASTER_KEY: MASTER_KEY,
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url,
    AWS_ENDPOINT_URL_STS: sts.url,
    ...env,
  })
  gateways.push(started)
  return new OpenAI({ apiKey: MASTER_KEY, baseURL: `${started.url}/v1`, maxRetries: 0 })
}

/** One chat call; returns the key id Bedrock saw (and verified) on it. */
async function chatSignedBy(client: OpenAI, model: string): Promise<string | undefined> {
  const before = bedrock.requests.length
  const completion = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'Hello there' }],
    max_tokens: 20,
  })
  expect(completion.choices[0]?.message.content).toBe('You said: Hello there')
  const calls = bedrock.requests.slice(before)
  expect(calls).toHaveLength(1)
  expect(calls[0]?.auth).toEqual({ ok: true })
  return calls[0]?.accessKeyId
}

let keys: OpenAI
let webIdentity: OpenAI
let container: OpenAI
let instance: OpenAI

beforeAll(async () => {
  bedrock = await startFakeBedrock()
  bedrock.removeCredentials(bedrock.credentials.accessKeyId)
  bedrock.removeCredentials(bedrock.tempCredentials.accessKeyId)
  bedrock.addCredentials(CONFIG_KEYS)
  bedrock.addCredentials(ENV_KEYS)
  sts = await startFakeSts({
    roles: [
      { arn: ROLE, trustedKeys: [ROLE_BASE_KEYS.accessKeyId] },
      { arn: IRSA_ROLE, webIdentityTokens: ['eks-service-account-jwt'] },
    ],
    onIssue: (credentials) => bedrock.addCredentials(credentials),
  })
  sts.addCredentials(ROLE_BASE_KEYS)
  metadata = await startFakeAwsMetadata({
    containerToken: 'eks-pod-identity-token',
    onIssue: (credentials) => bedrock.addCredentials(credentials),
  })

  // One after the other: each start opens its own embedded PGlite, which is CPU-heavy.
  const noImds = { AWS_EC2_METADATA_DISABLED: 'true' }
  const roleBase =
    '\n      aws_access_key_id: os.environ/ROLE_BASE_KEY_ID\n      aws_secret_access_key: os.environ/ROLE_BASE_SECRET'
  keys = await gateway(
    deployment(
      'config-keys',
      '\n      aws_access_key_id: os.environ/CONFIG_KEY_ID\n      aws_secret_access_key: os.environ/CONFIG_SECRET',
    ) +
      deployment('env-keys') +
      deployment(
        'assumed-role',
        `\n      aws_role_name: ${ROLE}\n      aws_session_name: e2e-session${roleBase}`,
      ) +
      deployment(
        'refused-role',
        `\n      aws_role_name: ${ROLE}\n      aws_session_name: refused${roleBase}`,
      ),
    {
      ...noImds,
      CONFIG_KEY_ID: CONFIG_KEYS.accessKeyId,
      CONFIG_SECRET: CONFIG_KEYS.secretAccessKey,
      ROLE_BASE_KEY_ID: ROLE_BASE_KEYS.accessKeyId,
      ROLE_BASE_SECRET: ROLE_BASE_KEYS.secretAccessKey,
      AWS_ACCESS_KEY_ID: ENV_KEYS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ENV_KEYS.secretAccessKey,
    },
  )
  webIdentity = await gateway(deployment('default-chain'), {
    ...noImds,
    AWS_WEB_IDENTITY_TOKEN_FILE: tempFile('token', 'eks-service-account-jwt\n'),
    AWS_ROLE_ARN: IRSA_ROLE,
    AWS_ROLE_SESSION_NAME: 'gateway-pod',
  })
  container = await gateway(deployment('default-chain'), {
    ...noImds,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: metadata.containerUrl,
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tempFile('pod-identity-token', 'eks-pod-identity-token'),
  })
  instance = await gateway(deployment('default-chain'), { AWS_EC2_METADATA_SERVICE_ENDPOINT: metadata.url })
}, 240_000)

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()))
  await Promise.all([bedrock?.close(), sts?.close(), metadata?.close()])
})

describe('Bedrock chat signed with credentials from each link of the chain', () => {
  it('config keys (aws_access_key_id / aws_secret_access_key from os.environ/)', async () => {
    expect(await chatSignedBy(keys, 'config-keys')).toBe(CONFIG_KEYS.accessKeyId)
  })

  it('environment keys (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)', async () => {
    expect(await chatSignedBy(keys, 'env-keys')).toBe(ENV_KEYS.accessKeyId)
  })

  it('STS AssumeRole (aws_role_name), signed with the deployment keys, session cached', async () => {
    const before = sts.count('AssumeRole')
    const signer = await chatSignedBy(keys, 'assumed-role')
    const assume = sts.requests.filter((r) => r.action === 'AssumeRole').at(-1)
    expect(assume).toMatchObject({ accessKeyId: ROLE_BASE_KEYS.accessKeyId, auth: { ok: true } })
    expect(assume?.params).toMatchObject({ RoleArn: ROLE, RoleSessionName: 'e2e-session' })
    expect(signer).toBe(assume?.issued?.accessKeyId)
    expect(signer).toMatch(/^ASIA/)
    // The session is reused by later calls.
    expect(await chatSignedBy(keys, 'assumed-role')).toBe(signer)
    expect(sts.count('AssumeRole')).toBe(before + 1)
  })

  it('web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, EKS IRSA)', async () => {
    const signer = await chatSignedBy(webIdentity, 'default-chain')
    const exchange = sts.requests.filter((r) => r.action === 'AssumeRoleWithWebIdentity').at(-1)
    expect(exchange?.headers.authorization).toBeUndefined()
    expect(exchange?.params).toMatchObject({
      RoleArn: IRSA_ROLE,
      RoleSessionName: 'gateway-pod',
      WebIdentityToken: 'eks-service-account-jwt',
    })
    expect(signer).toBe(exchange?.issued?.accessKeyId)
  })

  it('the container endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI + authorization token file)', async () => {
    const signer = await chatSignedBy(container, 'default-chain')
    const fetched = metadata.requests.filter((r) => r.route === 'container').at(-1)
    expect(fetched?.headers.authorization).toBe('eks-pod-identity-token')
    expect(fetched?.status).toBe(200)
    expect(signer).toBe(fetched?.issued?.accessKeyId)
  })

  it('EC2 instance metadata (IMDSv2), fetched once for concurrent calls', async () => {
    const before = { imds: metadata.count('imds-credentials'), bedrock: bedrock.requests.length }
    const answers = await Promise.all(
      [1, 2, 3, 4].map(() =>
        instance.chat.completions.create({
          model: 'default-chain',
          messages: [{ role: 'user', content: 'Hello there' }],
        }),
      ),
    )
    expect(answers.map((a) => a.choices[0]?.message.content)).toEqual(Array(4).fill('You said: Hello there'))
    expect(metadata.count('imds-credentials')).toBe(before.imds + 1)
    const fetched = metadata.requests.filter((r) => r.route === 'imds-credentials').at(-1)
    const calls = bedrock.requests.slice(before.bedrock)
    expect(calls.map((c) => [c.auth.ok, c.accessKeyId])).toEqual(
      Array(4).fill([true, fetched?.issued?.accessKeyId]),
    )
    const token = metadata.requests.filter((r) => r.route === 'imds-token').at(-1)
    expect(token).toMatchObject({ method: 'PUT', status: 200 })
  })

  it('an STS refusal is a 500 naming the role key, not the role', async () => {
    sts.script({ type: 'error', status: 403, code: 'AccessDenied', message: `not authorized on ${ROLE}` })
    const error = await keys.chat.completions
      .create({ model: 'refused-role', messages: [{ role: 'user', content: 'hi' }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    expect(error).toBeInstanceOf(OpenAI.InternalServerError)
    const apiError = error as InstanceType<typeof OpenAI.InternalServerError>
    expect(apiError.status).toBe(500)
    expect(apiError.message).toMatch(/STS AssumeRole for aws_role_name: STS answered HTTP 403 AccessDenied/)
    expect(apiError.message).not.toContain(ROLE)
    expect(apiError.message).not.toContain(ROLE_BASE_KEYS.secretAccessKey)
  })
})
