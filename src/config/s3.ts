import { AwsClient } from 'aws4fetch'
import type { AwsCredentials } from '../aws/credentials'
import type { Env } from '../env'
import { ConfigError } from './config-error'

/** Static credentials, or a provider (the adapters pass the credential chain) called once per fetch. */
export type CredentialsSource = AwsCredentials | (() => Promise<AwsCredentials>)

export interface S3Deps {
  env: Env
  fetch: typeof fetch
  /** Defaults to AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN from `env`. */
  credentials?: CredentialsSource
}

/**
 * S3 GetObject for the config file (LiteLLM's `get_file_contents_from_s3`), signed with SigV4 by
 * aws4fetch and sent through the injected fetch. Path-style URLs work for dotted bucket names and for
 * local endpoints (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, as in the AWS SDKs).
 * Errors name `s3://bucket/key` and S3's error code, never the credentials.
 */
export async function getS3Object(bucket: string, key: string, deps: S3Deps): Promise<string> {
  const location = `s3://${bucket}/${key}`
  const credentials = await resolveCredentials(deps, location)
  const region = deps.env.AWS_REGION ?? deps.env.AWS_DEFAULT_REGION ?? 'us-east-1'
  const url = `${s3Endpoint(deps.env, region)}/${encodeS3Segment(bucket)}/${encodeS3Key(key)}`
  // retries: 0 — aws4fetch would otherwise retry 5xx ten times and delay startup errors by minutes.
  const client = new AwsClient({ ...credentials, service: 's3', region, retries: 0 })
  const request = await client.sign(url, { method: 'GET' })
  let response: Response
  try {
    response = await deps.fetch(request)
  } catch (error) {
    const reason = errorText(error)
    throw new ConfigError([{ path: location, message: `request to ${new URL(url).host} failed: ${reason}` }])
  }
  if (response.ok) return response.text()
  throw new ConfigError([{ path: location, message: await describeS3Error(response, region) }])
}

/** Node's fetch says only "fetch failed"; the useful part (ECONNREFUSED …) is in `cause`. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message
}

async function resolveCredentials(deps: S3Deps, location: string): Promise<AwsCredentials> {
  const source = deps.credentials
  if (typeof source === 'function') {
    try {
      return await source()
    } catch (error) {
      // The chain's errors name the source that failed (STS, instance metadata), never a secret.
      const message = error instanceof Error ? error.message : String(error)
      throw new ConfigError([{ path: location, message }], { cause: error })
    }
  }
  if (source !== undefined) return source
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = deps.env
  if (!accessKeyId || !secretAccessKey) {
    const message = 'no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY'
    throw new ConfigError([{ path: location, message }])
  }
  const sessionToken = deps.env.AWS_SESSION_TOKEN
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey }
}

function s3Endpoint(env: Env, region: string): string {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || `https://s3.${region}.amazonaws.com`
  return endpoint.replace(/\/+$/, '')
}

/** Each `/`-separated segment percent-encoded (plus `!'()*`), keeping the separators (S3 key rules). */
export const encodeS3Key = (key: string): string => key.split('/').map(encodeS3Segment).join('/')

const encodeS3Segment = (segment: string): string =>
  encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

/** `NoSuchKey: The specified key does not exist.` from S3's XML error body. */
async function describeS3Error(response: Response, region: string): Promise<string> {
  const body = await response.text().catch(() => '')
  const code = xmlElement(body, 'Code') ?? `HTTP ${response.status}`
  const message = xmlElement(body, 'Message')
  let text = message ? `${code}: ${message}` : code
  const bucketRegion = response.headers.get('x-amz-bucket-region')
  if (bucketRegion && bucketRegion !== region) text += ` (the bucket is in ${bucketRegion}; set AWS_REGION)`
  return text
}

function xmlElement(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)
  return match?.[1] === undefined ? undefined : decodeXmlEntities(match[1])
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

const decodeXmlEntities = (text: string): string =>
  text.replace(/&(amp|lt|gt|quot|apos);/g, (entity, name: string) => XML_ENTITIES[name] ?? entity)
