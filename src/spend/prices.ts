import { AMAZON_EMBEDDING_PRICES, AMAZON_PRICES } from './prices-bedrock-amazon'
import { ANTHROPIC_PRICES, ANTHROPIC_REGIONAL_PRICES } from './prices-bedrock-anthropic'
import { COHERE_EMBEDDING_PRICES, COHERE_PRICES } from './prices-bedrock-cohere'
import { META_PRICES } from './prices-bedrock-meta'
import { MISTRAL_PRICES } from './prices-bedrock-mistral'
import { OPENAI_EMBEDDING_PRICES, OPENAI_PRICES } from './prices-openai'
import type { PriceEntry } from './prices-types'

export type { PriceEntry } from './prices-types'

/**
 * The bundled price table: Bedrock model id (as LiteLLM keys it) → entry in the format of LiteLLM's
 * `model_prices_and_context_window.json`. Bundled rather than fetched at start-up because the core
 * runs on Workers and Lambda, where a remote fetch per cold start costs latency and can fail; LiteLLM
 * itself falls back to its bundled copy (`LITELLM_LOCAL_MODEL_COST_MAP=True`).
 *
 * A Map, not a plain object, so a model named `constructor` or `__proto__` cannot hit a prototype key.
 */
export const PRICE_MAP: ReadonlyMap<string, Readonly<PriceEntry>> = new Map(
  Object.entries({
    ...ANTHROPIC_PRICES,
    ...ANTHROPIC_REGIONAL_PRICES,
    ...META_PRICES,
    ...MISTRAL_PRICES,
    ...AMAZON_PRICES,
    ...AMAZON_EMBEDDING_PRICES,
    ...COHERE_PRICES,
    ...COHERE_EMBEDDING_PRICES,
  }),
)

/**
 * OpenAI's own models, apart from the Bedrock table: only a model written `openai/<name>` is priced
 * from it. The same name behind another OpenAI-compatible prefix (`hosted_vllm/`, `openai_like/` …)
 * is someone's own server, not OpenAI's bill.
 */
export const OPENAI_PRICE_MAP: ReadonlyMap<string, Readonly<PriceEntry>> = new Map(
  Object.entries({ ...OPENAI_PRICES, ...OPENAI_EMBEDDING_PRICES }),
)

const OPENAI_PREFIX = 'openai/'

/**
 * Cross-region inference-profile prefixes Bedrock puts before a model id. `us-gov.` is listed on its
 * own: it does not start with `us.`.
 */
export const CROSS_REGION_PREFIXES = ['us.', 'eu.', 'apac.', 'global.', 'jp.', 'au.', 'us-gov.'] as const

/** LiteLLM's provider prefix, and the route markers it accepts after it (none changes the price). */
const PROVIDER_PREFIX = 'bedrock/'
const ROUTE_PREFIXES = ['converse/', 'invoke/', 'nova/']

export interface PriceMatch {
  /** The price-map key that matched, e.g. `anthropic.claude-3-haiku-20240307-v1:0`. */
  key: string
  entry: Readonly<PriceEntry>
}

/**
 * The model id inside a Bedrock ARN: the part after the last `/` of a foundation-model or
 * inference-profile ARN (`arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic…`). Provisioned
 * and application-profile ARNs end in an opaque id that matches nothing, so those deployments need
 * `model_info.base_model` or custom prices, as in LiteLLM.
 */
function idFromArn(model: string): string {
  if (!model.startsWith('arn:')) return model
  const slash = model.lastIndexOf('/')
  return slash < 0 ? model : model.slice(slash + 1)
}

/** The model id without `bedrock/`, a route marker or an ARN wrapper. */
export function bareModelId(model: string): string {
  let id = model.trim()
  if (id.startsWith(PROVIDER_PREFIX)) id = id.slice(PROVIDER_PREFIX.length)
  const route = ROUTE_PREFIXES.find((prefix) => id.startsWith(prefix))
  if (route !== undefined) id = id.slice(route.length)
  return idFromArn(id)
}

/** `id` without its cross-region prefix, or undefined when it has none. */
function withoutCrossRegionPrefix(id: string): string | undefined {
  const prefix = CROSS_REGION_PREFIXES.find((p) => id.startsWith(p))
  return prefix === undefined ? undefined : id.slice(prefix.length)
}

/** The base model of a cross-region inference profile id (`us.anthropic…` → `anthropic…`); others unchanged. */
export const stripCrossRegionPrefix = (id: string): string => withoutCrossRegionPrefix(id) ?? id

/**
 * The table entry for a model as written in a config (`bedrock/converse/us.anthropic…`, a bare id,
 * an ARN or a `base_model`). Tries the exact string, then the bare id, then the bare id without its
 * cross-region prefix, so a regional key with its own price wins over the base model's. Undefined
 * for a model the table does not know (SageMaker endpoints, custom ARNs, other providers). An
 * `openai/<name>` model is looked up in OPENAI_PRICE_MAP only.
 */
export function lookupPrice(model: string): PriceMatch | undefined {
  if (model.startsWith(OPENAI_PREFIX)) {
    const key = model.slice(OPENAI_PREFIX.length).trim()
    const entry = OPENAI_PRICE_MAP.get(key)
    return entry === undefined ? undefined : { key, entry }
  }
  const bare = bareModelId(model)
  const regionless = withoutCrossRegionPrefix(bare)
  for (const key of [model, bare, regionless]) {
    if (key === undefined) continue
    const entry = PRICE_MAP.get(key)
    if (entry !== undefined) return { key, entry }
  }
  return undefined
}
