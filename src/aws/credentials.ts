import type { Env } from '../env'
import { GatewayError } from '../errors'

export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

/** The `litellm_params` keys that choose AWS credentials (LiteLLM's `BaseAWSLLM.get_credentials`). */
export interface AwsCredentialParams {
  aws_access_key_id?: unknown
  aws_secret_access_key?: unknown
  aws_session_token?: unknown
  aws_region_name?: unknown
  aws_role_name?: unknown
  aws_session_name?: unknown
  aws_external_id?: unknown
  aws_profile_name?: unknown
  aws_web_identity_token?: unknown
  aws_sts_endpoint?: unknown
}

export const nonEmpty = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined

/** Python truthiness, as LiteLLM tests these keys (`if aws_role_name:`); a blank env reference is unset. */
export const isSet = (value: unknown): boolean =>
  typeof value === 'string' ? value.trim() !== '' : value !== undefined && value !== null && value !== false

/**
 * A deployment's credential setup is the operator's, not the client's: a 401 would make OpenAI SDKs
 * report the *client's* API key as wrong. So it is a 500 from the gateway, not retried (no other
 * attempt on this deployment can succeed), and it names keys and variables, never values.
 */
export const misconfigured = (message: string): GatewayError =>
  new GatewayError({ status: 500, message, type: 'api_error', origin: 'gateway', retryable: false })

/**
 * `aws_access_key_id` + `aws_secret_access_key` (+ `aws_session_token`) from litellm_params, or
 * undefined when neither key is set. Half a pair is a configuration error: silently using another
 * principal instead would be worse. `subject` names the deployment in the error.
 */
export function explicitKeys(params: AwsCredentialParams, subject: string): AwsCredentials | undefined {
  const accessKeyId = nonEmpty(params.aws_access_key_id)
  const secretAccessKey = nonEmpty(params.aws_secret_access_key)
  if (accessKeyId && secretAccessKey) {
    const sessionToken = nonEmpty(params.aws_session_token)
    return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey }
  }
  if (!accessKeyId && !secretAccessKey) return undefined
  const [set, unset] = accessKeyId
    ? ['aws_access_key_id', 'aws_secret_access_key']
    : ['aws_secret_access_key', 'aws_access_key_id']
  throw misconfigured(
    `AWS credentials are incomplete on ${subject}: litellm_params sets ${set} but not ${unset}.`,
  )
}

/**
 * AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN): the first link of every AWS SDK's
 * default chain, and what Lambda injects for the execution role. Read on every call, never cached,
 * so credentials a runtime rotates in its environment are seen at once.
 */
export function environmentKeys(env: Env): AwsCredentials | undefined {
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID)
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY)
  if (!accessKeyId || !secretAccessKey) return undefined
  const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN)
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey }
}

/**
 * Sources that need STS or a shared config file, which the I/O-free resolver below cannot use. Each
 * wins over static keys and the default chain in LiteLLM, so ignoring it would call Bedrock as a
 * different principal than the operator chose.
 */
const NEEDS_IO: ReadonlyArray<readonly [keyof AwsCredentialParams, string]> = [
  ['aws_web_identity_token', 'web identity federation (AssumeRoleWithWebIdentity) is'],
  ['aws_role_name', 'assuming roles is'],
  ['aws_profile_name', 'AWS profiles are'],
]

/**
 * Static credentials only, without any I/O: the deployment's `litellm_params` first (as LiteLLM),
 * else the standard environment variables. A key pair is never mixed across the two sources, so an
 * env session token is not attached to configured long-term keys. The gateway itself uses the full
 * chain (credential-chain.ts); this resolver serves tests and callers that must not do I/O, and it
 * fails closed on every source it cannot honour.
 *
 * `deploymentName` (the model group) only labels configuration errors.
 */
export async function resolveAwsCredentials(
  params: AwsCredentialParams,
  env: Env,
  deploymentName: string,
): Promise<AwsCredentials> {
  for (const [key, what] of NEEDS_IO) {
    if (isSet(params[key])) {
      throw misconfigured(
        `${key} is set on deployment ${deploymentName} but ${what} not supported yet; ` +
          'refusing to fall back to other credentials.',
      )
    }
  }
  const credentials = explicitKeys(params, `deployment ${deploymentName}`) ?? environmentKeys(env)
  if (credentials) return credentials
  throw misconfigured(
    `No AWS credentials found for deployment ${deploymentName}: set aws_access_key_id and aws_secret_access_key ` +
      '(and aws_session_token for temporary credentials) in its litellm_params, or AWS_ACCESS_KEY_ID and ' +
      'AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the gateway environment.',
  )
}
