import { GatewayError } from '../errors'
import type { VirtualKey } from '../keys/virtual-key'

/**
 * LiteLLM's route groups (`LiteLLMRoutes` in `litellm/proxy/_types.py`), as far as a key's
 * `allowed_routes` can name them (`key_type` stores one: `llm_api` → `llm_api_routes`, `read_only`
 * → `info_routes`, `management` → `management_routes`). Entries are exact paths, `{param}`
 * patterns (one path segment) or `prefix*` wildcards, as in LiteLLM. Routes this gateway does not
 * serve are listed anyway, so a key's groups mean the same here as in LiteLLM.
 */
const OPENAI_ROUTES = [
  '/engines/{model}/chat/completions',
  '/openai/deployments/{model}/chat/completions',
  '/chat/completions',
  '/v1/chat/completions',
  '/engines/{model}/completions',
  '/openai/deployments/{model}/completions',
  '/completions',
  '/v1/completions',
  '/engines/{model}/embeddings',
  '/openai/deployments/{model}/embeddings',
  '/embeddings',
  '/v1/embeddings',
  '/images/generations',
  '/v1/images/generations',
  '/images/edits',
  '/v1/images/edits',
  '/audio/transcriptions',
  '/v1/audio/transcriptions',
  '/audio/speech',
  '/v1/audio/speech',
  '/moderations',
  '/v1/moderations',
  '/batches',
  '/v1/batches',
  '/files',
  '/v1/files',
  '/fine_tuning/jobs',
  '/v1/fine_tuning/jobs',
  '/assistants',
  '/v1/assistants',
  '/threads',
  '/v1/threads',
  '/models',
  '/v1/models',
  '/utils/token_counter',
  '/utils/transform_request',
  '/rerank',
  '/v1/rerank',
  '/v2/rerank',
  '/realtime',
  '/v1/realtime',
  '/responses',
  '/v1/responses',
  '/responses/{response_id}',
  '/v1/responses/{response_id}',
  '/vector_stores',
  '/v1/vector_stores',
]

const ANTHROPIC_ROUTES = ['/v1/messages', '/v1/messages/count_tokens']

const PASS_THROUGH_PREFIXES = [
  '/bedrock',
  '/vertex-ai',
  '/vertex_ai',
  '/cohere',
  '/gemini',
  '/anthropic',
  '/langfuse',
  '/azure',
  '/openai',
  '/assemblyai',
  '/vllm',
  '/mistral',
]

const INFO_ROUTES = [
  '/key/info',
  '/key/health',
  '/team/info',
  '/team/list',
  '/v2/team/list',
  '/organization/list',
  '/team/available',
  '/user/info',
  '/v2/user/info',
  '/model/info',
  '/v1/model/info',
  '/v2/model/info',
  '/v2/key/info',
  '/model_group/info',
  '/health',
  '/health/services',
  '/key/list',
  '/models',
  '/v1/models',
]

const KEY_MANAGEMENT_ROUTES = [
  '/key/generate',
  '/key/update',
  '/key/delete',
  '/key/info',
  '/key/regenerate',
  '/key/service-account/generate',
  '/key/{key_id}/regenerate',
  '/key/list',
  '/key/block',
  '/key/unblock',
  '/key/bulk_update',
  '/team/daily/activity',
  '/spend/logs',
  '/key/{key_id}/reset_spend',
  '/key/aliases',
]

const MANAGEMENT_ROUTES = [
  '/user/new',
  '/user/update',
  '/user/bulk_update',
  '/user/delete',
  '/user/info',
  '/user/list',
  '/user/daily/activity',
  '/team/new',
  '/team/update',
  '/team/delete',
  '/team/list',
  '/v2/team/list',
  '/team/info',
  '/team/block',
  '/team/unblock',
  '/team/available',
  '/team/permissions_list',
  '/team/permissions_update',
  '/team/daily/activity',
  '/model/new',
  '/model/update',
  '/model/delete',
  '/model/info',
  '/organization/new',
  '/organization/update',
  '/organization/delete',
  '/organization/member_add',
  '/organization/info',
  '/organization/list',
  '/budget/new',
  '/budget/update',
  '/budget/delete',
  '/budget/info',
  '/budget/list',
  '/customer/new',
  '/customer/update',
  '/customer/delete',
  '/customer/info',
  '/customer/list',
  ...KEY_MANAGEMENT_ROUTES,
]

const SPEND_TRACKING_ROUTES = [
  '/spend/keys',
  '/spend/users',
  '/spend/tags',
  '/spend/calculate',
  '/spend/logs',
]

const GLOBAL_SPEND_TRACKING_ROUTES = [
  '/global/spend/logs',
  '/global/spend',
  '/global/spend/keys',
  '/global/spend/teams',
  '/global/spend/end_users',
  '/global/spend/models',
  '/global/predict/spend/logs',
  '/global/spend/report',
  '/global/spend/provider',
  '/global/spend/tags',
]

export const ROUTE_GROUPS: Readonly<Record<string, readonly string[]>> = {
  openai_routes: OPENAI_ROUTES,
  anthropic_routes: ANTHROPIC_ROUTES,
  mapped_pass_through_routes: PASS_THROUGH_PREFIXES,
  llm_api_routes: [
    ...OPENAI_ROUTES,
    ...ANTHROPIC_ROUTES,
    ...PASS_THROUGH_PREFIXES,
    ...PASS_THROUGH_PREFIXES.map((prefix) => `${prefix}/*`),
  ],
  info_routes: INFO_ROUTES,
  key_management_routes: KEY_MANAGEMENT_ROUTES,
  management_routes: MANAGEMENT_ROUTES,
  spend_tracking_routes: SPEND_TRACKING_ROUTES,
  global_spend_tracking_routes: GLOBAL_SPEND_TRACKING_ROUTES,
}

/** `prefix*` matches every route starting with `prefix`; anything else only itself. */
function matchesWildcard(route: string, pattern: string): boolean {
  return pattern.endsWith('*') ? route.startsWith(pattern.slice(0, -1)) : route === pattern
}

/** `/threads/{thread_id}` matches `/threads/abc` (one segment per placeholder), anchored. */
function matchesPattern(route: string, pattern: string): boolean {
  if (!pattern.includes('{')) return false
  const parts = pattern.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${parts.join('[^/]+')}$`).test(route)
}

/** LiteLLM's `check_route_access`: exact, wildcard or placeholder match against a group's routes. */
function inGroup(route: string, routes: readonly string[]): boolean {
  return routes.some(
    (allowed) =>
      allowed === route ||
      (allowed.endsWith('*') && matchesWildcard(route, allowed)) ||
      matchesPattern(route, allowed),
  )
}

/**
 * LiteLLM's `is_virtual_key_allowed_to_call_route`: each entry of `allowed_routes` allows a path
 * exactly or as a prefix (`/a` allows `/a/b`, not `/ab`), a route group by its name, or a `*`
 * wildcard. No entries = every route.
 */
export function isRouteAllowed(allowedRoutes: readonly string[] | undefined, route: string): boolean {
  if (!allowedRoutes || allowedRoutes.length === 0) return true
  return allowedRoutes.some((allowed) => {
    if (route === allowed || route.startsWith(`${allowed}/`)) return true
    const group = Object.hasOwn(ROUTE_GROUPS, allowed) ? ROUTE_GROUPS[allowed] : undefined
    if (group && inGroup(route, group)) return true
    return matchesWildcard(route, allowed)
  })
}

/**
 * Refuses a virtual key on a route outside its `allowed_routes`, with LiteLLM's message (its older
 * releases answer 401 `auth_error` with the "Authentication Error, " prefix, as for every other
 * auth failure; newer ones send 403).
 */
export function checkRouteAccess(key: VirtualKey, route: string): void {
  const allowed = key.allowedRoutes
  if (isRouteAllowed(allowed, route)) return
  const list = `[${(allowed ?? []).map((r) => `'${r}'`).join(', ')}]`
  throw new GatewayError({
    status: 401,
    message: `Authentication Error, Virtual key is not allowed to call this route. Only allowed to call routes: ${list}. Tried to call route: ${route}`,
    type: 'auth_error',
    param: 'None',
    origin: 'client',
  })
}
