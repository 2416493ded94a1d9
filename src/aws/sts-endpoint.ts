import type { Env } from '../env'
import { configProblem } from './credential-errors'
import { nonEmpty } from './credentials'
import { isMetadataUrl } from './metadata-hosts'

/** Where STS calls go and the region their signature is scoped to. */
export interface StsTarget {
  /** Base URL without a trailing slash; the Query API is POSTed to `${endpoint}/`. */
  endpoint: string
  region: string
}

/** `sts.eu-west-1.amazonaws.com`, `sts-fips.us-east-1.amazonaws.com`, `vpce-….sts.eu-west-1.vpce.amazonaws.com`. */
const REGIONAL_HOST = /(?:^|\.)sts(?:-fips)?\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/

/**
 * STS endpoint, first set of: the deployment's `aws_sts_endpoint` (LiteLLM), `AWS_ENDPOINT_URL_STS`
 * then `AWS_ENDPOINT_URL` (the AWS SDKs' endpoint variables, for GovCloud/VPC endpoints and for local
 * fakes), else the regional endpoint `https://sts.<region>.amazonaws.com` (`.com.cn` in China), as
 * the current SDKs use instead of the legacy global one.
 *
 * The signing region is the one an explicit regional host names (LiteLLM's
 * `_parse_sts_region_from_endpoint`), else `region` (the deployment's, see region.ts).
 * An endpoint that is not an http(s) URL, or that points at a cloud metadata address, is refused as
 * a configuration error naming the key, never the value.
 */
export function stsTarget(explicit: string | undefined, env: Env, region: string): StsTarget {
  const sources: Array<[string, string | undefined]> = [
    ['aws_sts_endpoint', nonEmpty(explicit)],
    ['AWS_ENDPOINT_URL_STS', nonEmpty(env.AWS_ENDPOINT_URL_STS)],
    ['AWS_ENDPOINT_URL', nonEmpty(env.AWS_ENDPOINT_URL)],
  ]
  for (const [key, value] of sources) {
    if (value === undefined) continue
    const endpoint = checkedEndpoint(key, value.replace(/\/+$/, ''))
    const named = REGIONAL_HOST.exec(new URL(endpoint).hostname)?.[1]
    return { endpoint, region: named ?? region }
  }
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'
  return { endpoint: `https://sts.${region}.${suffix}`, region }
}

function checkedEndpoint(key: string, value: string): string {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    url = undefined
  }
  const source = `the STS endpoint in ${key}`
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || /[?#]/.test(value))
    throw configProblem(
      source,
      'it is not an http(s) URL without query or fragment (e.g. https://sts.us-east-1.amazonaws.com).',
    )
  if (isMetadataUrl(url))
    throw configProblem(
      source,
      'it points at a cloud metadata address, which only the built-in credential providers may call.',
    )
  return value
}
