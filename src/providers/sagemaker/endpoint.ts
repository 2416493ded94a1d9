import { isMetadataUrl } from '../../aws/metadata-hosts'
import { awsRegion, regionFromArn } from '../../aws/region'
import type { Env } from '../../env'
import { GatewayError } from '../../errors'
import type { Deployment, LitellmParams } from '../types'

/**
 * Where a SageMaker deployment is called (protocols.md 3.1–3.2): the endpoint name, the region, the
 * runtime base URL (or an override) and the two invocation paths.
 */

export type SagemakerOperation = 'invocations' | 'invocations-response-stream'

const nonEmpty = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined

/** `sagemaker/<endpoint>` and `sagemaker_chat/<endpoint>`: the endpoint name is the rest of the model. */
export function endpointName(deployment: Deployment): string {
  const name = deployment.providerModel.trim()
  if (name === '') {
    throw new GatewayError({
      status: 500,
      message: `Deployment ${deployment.modelName} names no SageMaker endpoint (model: ${deployment.params.model}); use sagemaker/<endpoint-name>.`,
      type: 'api_error',
      origin: 'gateway',
      retryable: false,
    })
  }
  return name
}

/** LiteLLM's region order (`awsRegion`); an endpoint ARN in place of the name carries its own region. */
export function sagemakerRegion(params: LitellmParams, endpoint: string, env: Env): string {
  return awsRegion(params, env, regionFromArn(endpoint, 'sagemaker'))
}

/** China regions live under their own DNS suffix (LiteLLM's `get_aws_dns_suffix`). */
const dnsSuffix = (region: string): string =>
  region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'

/**
 * Base URL of SageMaker Runtime without a trailing slash. Overrides (VPC endpoints, fakes in tests):
 * the deployment's `api_base`, then the AWS SDK's `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME` and
 * `AWS_ENDPOINT_URL`. An override must be an absolute http(s) URL without query or fragment, and
 * never a cloud metadata address: a config value must not turn the gateway's signed call (and its
 * credentials' signature) towards the instance's credential endpoint.
 */
export function sagemakerRuntimeBase(params: LitellmParams, env: Env, region: string): string {
  const sources: Array<[string, unknown]> = [
    ['api_base', params.api_base],
    ['AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME', env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME],
    ['AWS_ENDPOINT_URL', env.AWS_ENDPOINT_URL],
  ]
  for (const [key, value] of sources) {
    const base = nonEmpty(value)
    if (base !== undefined) return checkedUrl(key, base.replace(/\/+$/, ''), false)
  }
  return `https://runtime.sagemaker.${region}.${dnsSuffix(region)}`
}

/**
 * LiteLLM's `sagemaker_base_url`: a complete invocation URL used as given, for streaming and
 * non-streaming calls alike (a proxy in front of the endpoint). Undefined when not set.
 */
export function sagemakerFullUrl(params: LitellmParams): string | undefined {
  const url = nonEmpty(params.sagemaker_base_url)
  return url === undefined ? undefined : checkedUrl('sagemaker_base_url', url, true)
}

function checkedUrl(key: string, value: string, queryAllowed: boolean): string {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    url = undefined
  }
  const badShape =
    !url || (url.protocol !== 'http:' && url.protocol !== 'https:') || (!queryAllowed && /[?#]/.test(value))
  if (badShape || (url && isMetadataUrl(url))) {
    // The value is not echoed: it is configuration, and a URL may carry userinfo.
    throw new GatewayError({
      status: 500,
      message: badShape
        ? `The SageMaker endpoint URL set in ${key} is not a valid http(s) URL${queryAllowed ? '' : ' without query or fragment'} (e.g. https://runtime.sagemaker.us-east-1.amazonaws.com).`
        : `The SageMaker endpoint URL set in ${key} points at a cloud metadata address, which the gateway never calls.`,
      type: 'api_error',
      origin: 'gateway',
      retryable: false,
    })
  }
  return value
}

/**
 * `{EndpointName}` is one path label, encoded once (an ARN's `:` and `/` too); aws4fetch encodes the
 * path again for the canonical request, as SigV4 wants for every service but S3.
 */
export function encodeEndpointName(name: string): string {
  return encodeURIComponent(name).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

export function invocationUrl(base: string, endpoint: string, operation: SagemakerOperation): string {
  return `${base}/endpoints/${encodeEndpointName(endpoint)}/${operation}`
}

/** The URL for one call: `sagemaker_base_url` verbatim, else the runtime base plus the operation path. */
export function sagemakerUrl(deployment: Deployment, env: Env, operation: SagemakerOperation): string {
  const full = sagemakerFullUrl(deployment.params)
  if (full !== undefined) return full
  const endpoint = endpointName(deployment)
  const base = sagemakerRuntimeBase(deployment.params, env, sagemakerRegion(deployment.params, endpoint, env))
  return invocationUrl(base, endpoint, operation)
}
