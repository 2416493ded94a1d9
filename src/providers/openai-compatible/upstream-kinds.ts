/**
 * The LiteLLM model prefixes that mean "an OpenAI-compatible HTTP server", and where each one takes
 * its base URL and key from when `litellm_params` does not set them (LiteLLM's
 * `_get_openai_compatible_provider_info` and the `openai` branch of `completion()`).
 */
export interface UpstreamKind {
  /** Provider name in error messages, as LiteLLM's exception mapping builds it. */
  exceptionName: string
  /** Environment variables read for the base URL, in order, when `api_base` is not set. */
  baseEnv: readonly string[]
  /** Used when neither `api_base` nor `baseEnv` gives a base; without it `api_base` is required. */
  defaultBase?: string
  /** Environment variables read for the key, in order, when `api_key` is not set. */
  keyEnv: readonly string[]
  /** Whether a call without any key is a configuration error (only OpenAI itself always needs one). */
  keyRequired: boolean
  /** Environment variables read for `OpenAI-Organization` when `organization` is not set. */
  organizationEnv: readonly string[]
}

/** LiteLLM capitalises only the first letter of other providers: `Hosted_vllmException`. */
const exceptionName = (prefix: string): string =>
  `${prefix.charAt(0).toUpperCase()}${prefix.slice(1)}Exception`

/**
 * Keys are never taken from another provider's variables: LiteLLM sends `OPENAI_API_KEY` to any
 * `openai_compatible_providers` host that lacks a key, which hands an OpenAI secret to whatever server
 * `api_base` names. Only `openai/` itself falls back to it.
 */
export const UPSTREAM_KINDS: Readonly<Record<string, UpstreamKind>> = {
  openai: {
    exceptionName: 'OpenAIException',
    baseEnv: ['OPENAI_BASE_URL', 'OPENAI_API_BASE'],
    defaultBase: 'https://api.openai.com/v1',
    keyEnv: ['OPENAI_API_KEY'],
    keyRequired: true,
    organizationEnv: ['OPENAI_ORGANIZATION'],
  },
  // vLLM's server needs a key only when started with --api-key; LiteLLM then sends a placeholder.
  hosted_vllm: {
    exceptionName: exceptionName('hosted_vllm'),
    baseEnv: ['HOSTED_VLLM_API_BASE'],
    keyEnv: ['HOSTED_VLLM_API_KEY'],
    keyRequired: false,
    organizationEnv: [],
  },
  // Another LiteLLM-compatible proxy (this gateway included) in front of this one.
  litellm_proxy: {
    exceptionName: exceptionName('litellm_proxy'),
    baseEnv: ['LITELLM_PROXY_API_BASE'],
    keyEnv: ['LITELLM_PROXY_API_KEY'],
    keyRequired: false,
    organizationEnv: [],
  },
  // LiteLLM's generic "OpenAI-compatible server at api_base" prefixes.
  custom_openai: {
    exceptionName: exceptionName('custom_openai'),
    baseEnv: [],
    keyEnv: [],
    keyRequired: false,
    organizationEnv: [],
  },
  openai_like: {
    exceptionName: exceptionName('openai_like'),
    baseEnv: [],
    keyEnv: [],
    keyRequired: false,
    organizationEnv: [],
  },
}

/** The kind of a deployment's prefix; an unknown prefix (a bare `model: gpt-4o`) is treated as OpenAI. */
export function upstreamKind(provider: string): UpstreamKind {
  return UPSTREAM_KINDS[provider] ?? (UPSTREAM_KINDS.openai as UpstreamKind)
}
