import { isMetadataUrl } from '../../aws/metadata-hosts'
import { regionFromArn as arnRegion, awsRegion } from '../../aws/region'
import type { Env } from '../../env'
import { GatewayError } from '../../errors'
import type { LitellmParams } from '../types'

const nonEmpty = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined

/** Region in `arn:<partition>:bedrock:<region>:<account>:<resource>`, if the id is such an ARN. */
export const regionFromArn = (modelId: string): string | undefined => arnRegion(modelId, 'bedrock')

/** LiteLLM's region order (see `awsRegion`), with the region of a model ARN second. */
export function bedrockRegion(params: LitellmParams, modelId: string, env: Env): string {
  return awsRegion(params, env, regionFromArn(modelId))
}

/**
 * Base URL of Bedrock Runtime without a trailing slash. Overrides (VPC endpoints, fakes in tests):
 * the deployment's `aws_bedrock_runtime_endpoint` or `api_base`, LiteLLM's `AWS_BEDROCK_RUNTIME_ENDPOINT`,
 * then the AWS SDK's service-specific and global `AWS_ENDPOINT_URL_*` variables.
 *
 * An override that is not an absolute http(s) URL is the operator's mistake: it fails as a named
 * configuration error here rather than as a bare `TypeError: Invalid URL` from `fetch`. A query or
 * fragment is refused too, because `/model/{id}/converse` is appended to the base.
 */
export function bedrockRuntimeBase(params: LitellmParams, env: Env, region: string): string {
  const sources: Array<[string, unknown]> = [
    ['aws_bedrock_runtime_endpoint', params.aws_bedrock_runtime_endpoint],
    ['api_base', params.api_base],
    ['AWS_BEDROCK_RUNTIME_ENDPOINT', env.AWS_BEDROCK_RUNTIME_ENDPOINT],
    ['AWS_ENDPOINT_URL_BEDROCK_RUNTIME', env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME],
    ['AWS_ENDPOINT_URL', env.AWS_ENDPOINT_URL],
  ]
  for (const [key, value] of sources) {
    const base = nonEmpty(value)
    if (base !== undefined) return checkedBase(key, base.replace(/\/+$/, ''))
  }
  return `https://bedrock-runtime.${region}.amazonaws.com`
}

function checkedBase(key: string, base: string): string {
  let url: URL | undefined
  try {
    url = new URL(base)
  } catch {
    url = undefined
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || /[?#]/.test(base)) {
    // The value is not echoed: it is configuration, and a URL may carry userinfo.
    throw new GatewayError({
      status: 500,
      message: `The Bedrock runtime endpoint set in ${key} is not a valid http(s) URL without query or fragment (e.g. https://bedrock-runtime.us-east-1.amazonaws.com).`,
      type: 'api_error',
      origin: 'gateway',
      retryable: false,
    })
  }
  if (isMetadataUrl(url)) {
    // Whoever reaches a metadata address gets the gateway's cloud credentials; only the credential
    // providers in src/aws may call those addresses, on URLs they build themselves.
    throw new GatewayError({
      status: 500,
      message: `The Bedrock runtime endpoint set in ${key} points at a cloud metadata address, which is not allowed.`,
      type: 'api_error',
      origin: 'gateway',
      retryable: false,
    })
  }
  return base
}

/**
 * `{modelId}` is one path label: encode the whole id once, `:` → %3A and `/` → %2F (ARNs), plus the
 * RFC 3986 extras `encodeURIComponent` leaves alone. SigV4 then encodes the path again for the
 * canonical request (aws4fetch does that); encoding twice here would make AWS expect %25253A.
 */
export function encodeModelId(modelId: string): string {
  return encodeURIComponent(modelId).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

export type ConverseOperation = 'converse' | 'converse-stream'

export function converseUrl(base: string, modelId: string, operation: ConverseOperation): string {
  return `${base}/model/${encodeModelId(modelId)}/${operation}`
}
