import { isMetadataUrl } from '../../aws/metadata-hosts'
import type { Env } from '../../env'
import { GatewayError } from '../../errors'
import type { Deployment } from '../types'
import { upstreamKind } from './upstream-kinds'

/** Where and how one deployment's upstream is called. */
export interface UpstreamTarget {
  /** The validated base URL (`https://api.openai.com/v1`), without a trailing slash or fragment. */
  base: URL
  /** The bearer key, if any. Never put into a message or log. */
  apiKey: string | undefined
  organization: string | undefined
  /** `OpenAIException`, `Hosted_vllmException` …: the provider name in error messages. */
  exceptionName: string
}

const nonEmpty = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined

/** The first set value among the deployment's own key and the environment variables, with its name. */
function firstSet(
  own: [string, unknown],
  envNames: readonly string[],
  env: Env,
): [string, string] | undefined {
  const ownValue = nonEmpty(own[1])
  if (ownValue !== undefined) return [own[0], ownValue]
  for (const name of envNames) {
    const value = nonEmpty(env[name])
    if (value !== undefined) return [name, value]
  }
  return undefined
}

/** A configuration problem found at call time: a 500 that names the setting, never its value. */
function configError(deployment: Deployment, problem: string): GatewayError {
  return new GatewayError({
    status: 500,
    message: `Deployment of model '${deployment.modelName}' (model=${deployment.params.model}) is misconfigured: ${problem}`,
    type: 'api_error',
    origin: 'gateway',
    retryable: false,
  })
}

/**
 * The base URL in the OpenAI SDK's `base_url` sense: `/chat/completions` and `/embeddings` are
 * appended to its path. Refused, as a configuration error naming the setting (the value may carry a
 * secret): anything but absolute http(s), user info (fetch rejects URLs with credentials; the key
 * belongs in `api_key`), and cloud metadata hosts, which would hand the gateway's own cloud
 * credentials to whoever can make it call them.
 */
export function upstreamBase(deployment: Deployment, env: Env): URL {
  const kind = upstreamKind(deployment.provider)
  const found = firstSet(['api_base', deployment.params.api_base], kind.baseEnv, env)
  if (found === undefined && kind.defaultBase === undefined) {
    const names = ['api_base', ...kind.baseEnv].join(' or ')
    throw configError(deployment, `${deployment.provider}/ deployments need ${names} (the server's /v1 URL).`)
  }
  const [name, raw] = found ?? ['default', kind.defaultBase as string]
  let url: URL | undefined
  try {
    url = new URL(raw)
  } catch {
    url = undefined
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw configError(deployment, `${name} is not an absolute http(s) URL (e.g. http://vllm:8000/v1).`)
  }
  if (url.username !== '' || url.password !== '') {
    throw configError(deployment, `${name} must not contain user info; put the key in api_key.`)
  }
  if (isMetadataUrl(url)) {
    throw configError(
      deployment,
      `${name} points at a cloud metadata endpoint, which the gateway never calls for a model.`,
    )
  }
  url.hash = ''
  url.pathname = url.pathname.replace(/\/+$/, '')
  return url
}

/** `<base>/<path>`, keeping a query string the base may carry (some proxies want one). */
export function upstreamUrl(base: URL, path: 'chat/completions' | 'embeddings'): string {
  const url = new URL(base.href)
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${path}`
  return url.href
}

/** The base as reported in `x-litellm-model-api-base` and spend logs: no query string. */
export function reportedBase(base: URL): string {
  return `${base.origin}${base.pathname}`
}

export function upstreamTarget(deployment: Deployment, env: Env): UpstreamTarget {
  const kind = upstreamKind(deployment.provider)
  const base = upstreamBase(deployment, env)
  const apiKey = firstSet(['api_key', deployment.params.api_key], kind.keyEnv, env)?.[1]
  if (apiKey === undefined && kind.keyRequired) {
    // LiteLLM's words (the OpenAI SDK's), as a 401: the upstream would refuse the call anyway. Another
    // deployment of the group may have a key, so the router may try it.
    throw new GatewayError({
      status: 401,
      message: `litellm.AuthenticationError: AuthenticationError: ${kind.exceptionName} - The api_key client option must be set either by passing api_key to the client or by setting the ${kind.keyEnv.join(' / ')} environment variable`,
      origin: 'gateway',
      retryable: true,
    })
  }
  const organization = firstSet(['organization', deployment.params.organization], kind.organizationEnv, env)
  return { base, apiKey, organization: organization?.[1], exceptionName: kind.exceptionName }
}
