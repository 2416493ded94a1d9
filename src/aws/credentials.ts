import type { Env } from '../env'
import { GatewayError } from '../errors'

export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

/** The `litellm_params` keys that choose AWS credentials. */
export interface AwsCredentialParams {
  aws_access_key_id?: unknown
  aws_secret_access_key?: unknown
  aws_session_token?: unknown
  aws_role_name?: unknown
  aws_profile_name?: unknown
  aws_web_identity_token?: unknown
  aws_sts_endpoint?: unknown
}

const nonEmpty = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined

/** Python truthiness, as LiteLLM tests these keys (`if aws_role_name:`); a blank env reference is unset. */
const isSet = (value: unknown): boolean =>
  typeof value === 'string' ? value.trim() !== '' : value !== undefined && value !== null && value !== false

/**
 * A deployment's credential setup is the operator's, not the client's: a 401 would make OpenAI SDKs
 * report the *client's* API key as wrong. So it is a 500 from the gateway, not retried (no other
 * attempt on this deployment can succeed), and it names keys and variables, never values.
 */
const misconfigured = (message: string): GatewayError =>
  new GatewayError({ status: 500, message, type: 'api_error', origin: 'gateway', retryable: false })

/**
 * LiteLLM credential sources (`BaseAWSLLM.get_credentials`) that need STS or a shared config file,
 * which this gateway does not implement yet. Each wins over static keys and the default chain in
 * LiteLLM, so ignoring it would call Bedrock as a different principal than the operator chose.
 * `aws_sts_endpoint` only matters together with a role, which `aws_role_name` already catches.
 */
const UNSUPPORTED: ReadonlyArray<readonly [keyof AwsCredentialParams, string]> = [
  ['aws_web_identity_token', 'web identity federation (AssumeRoleWithWebIdentity) is'],
  ['aws_role_name', 'assuming roles is'],
  ['aws_profile_name', 'AWS profiles are'],
]

/**
 * Static credentials: the deployment's `litellm_params` first (as LiteLLM), else the standard
 * environment variables (what Lambda injects for the execution role). A key pair is never mixed
 * across the two sources, so an env session token is not attached to configured long-term keys.
 * Async because the container, instance-metadata and STS providers that come later are.
 *
 * `deploymentName` (the model group) only labels configuration errors.
 */
export async function resolveAwsCredentials(
  params: AwsCredentialParams,
  env: Env,
  deploymentName: string,
): Promise<AwsCredentials> {
  // Fail closed: never fall back to env credentials when the deployment asked for another principal.
  for (const [key, what] of UNSUPPORTED) {
    if (isSet(params[key])) {
      throw misconfigured(
        `${key} is set on deployment ${deploymentName} but ${what} not supported yet; ` +
          'refusing to fall back to other credentials.',
      )
    }
  }
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
    throw misconfigured(
      `AWS credentials are incomplete on deployment ${deploymentName}: litellm_params sets ${set} but not ${unset}.`,
    )
  }
  const envKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID)
  const envSecret = nonEmpty(env.AWS_SECRET_ACCESS_KEY)
  if (envKeyId && envSecret) {
    const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN)
    return sessionToken
      ? { accessKeyId: envKeyId, secretAccessKey: envSecret, sessionToken }
      : { accessKeyId: envKeyId, secretAccessKey: envSecret }
  }
  throw misconfigured(
    `No AWS credentials found for deployment ${deploymentName}: set aws_access_key_id and aws_secret_access_key ` +
      '(and aws_session_token for temporary credentials) in its litellm_params, or AWS_ACCESS_KEY_ID and ' +
      'AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the gateway environment.',
  )
}
