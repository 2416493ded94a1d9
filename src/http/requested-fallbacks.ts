import { authorizeCall } from '../keys/authorize-call'
import type { Caller } from '../keys/virtual-key'
import type { ClientFallback } from '../router/call-with-fallbacks'
import { isFallbackList } from '../router/reliability-settings'
import type { Gateway } from './context'

/**
 * Every model group a request names as a fallback (client-side `fallbacks`, or the `[{group: […]}]`
 * lists that override the config's) must be one the caller may use: otherwise a key limited to one
 * group could reach any other by failing on purpose. Groups the config does not know are skipped
 * (the fallback then fails as LiteLLM's does).
 */
export async function authorizeRequestedFallbacks(
  caller: Caller,
  gw: Gateway,
  body: { model: string; [key: string]: unknown },
  clientFallbacks: readonly ClientFallback[] | undefined,
): Promise<void> {
  const named = new Set<string>(clientFallbacks?.map((f) => f.model))
  for (const list of [body.fallbacks, body.context_window_fallbacks, body.content_policy_fallbacks]) {
    if (!isFallbackList(list)) continue
    for (const item of list) for (const groups of Object.values(item)) for (const g of groups) named.add(g)
  }
  for (const model of named) {
    if (model === body.model || !gw.groups.names().includes(model)) continue
    await authorizeCall(caller, model, gw, model)
  }
}
