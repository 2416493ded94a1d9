import type { Env } from '../env'
import { GatewayError } from '../errors'

export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

/** The `litellm_params` keys that carry static AWS credentials. */
export interface AwsCredentialParams {
  aws_access_key_id?: unknown
  aws_secret_access_key?: unknown
  aws_session_token?: unknown
}

const nonEmpty = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined

const missing = (message: string): GatewayError =>
  new GatewayError({
    status: 401,
    message,
    type: 'authentication_error',
    origin: 'gateway',
    retryable: false,
  })

/**
 * Static credentials: the deployment's `litellm_params` first (as LiteLLM), else the standard
 * environment variables (what Lambda injects for the execution role). A key pair is never mixed
 * across the two sources, so an env session token is not attached to configured long-term keys.
 * Async because the container, instance-metadata and STS providers that come later are.
 */
export async function resolveAwsCredentials(params: AwsCredentialParams, env: Env): Promise<AwsCredentials> {
  const accessKeyId = nonEmpty(params.aws_access_key_id)
  const secretAccessKey = nonEmpty(params.aws_secret_access_key)
  if (accessKeyId && secretAccessKey) {
    const sessionToken = nonEmpty(params.aws_session_token)
    return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey }
  }
  if (accessKeyId || secretAccessKey) {
    const [set, unset] = accessKeyId
      ? ['aws_access_key_id', 'aws_secret_access_key']
      : ['aws_secret_access_key', 'aws_access_key_id']
    throw missing(`AWS credentials are incomplete: litellm_params sets ${set} but not ${unset}.`)
  }
  const envKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID)
  const envSecret = nonEmpty(env.AWS_SECRET_ACCESS_KEY)
  if (envKeyId && envSecret) {
    const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN)
    return sessionToken
      ? { accessKeyId: envKeyId, secretAccessKey: envSecret, sessionToken }
      : { accessKeyId: envKeyId, secretAccessKey: envSecret }
  }
  throw missing(
    'No AWS credentials found: set aws_access_key_id and aws_secret_access_key (and aws_session_token for ' +
      'temporary credentials) in the deployment litellm_params, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ' +
      '(and AWS_SESSION_TOKEN) in the environment.',
  )
}
