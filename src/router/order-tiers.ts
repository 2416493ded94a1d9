import type { Deployment } from '../providers/types'

/** A deployment's `order` (litellm_params, else model_info as for models added over the API), if any. */
export function orderOf(deployment: Deployment): number | undefined {
  for (const value of [deployment.params.order, deployment.modelInfo.order]) {
    if (typeof value === 'number' && Number.isFinite(value)) return value
  }
  return undefined
}

/**
 * LiteLLM's `_get_order_filtered_deployments`: only the deployments with the lowest `order` among
 * those passed (the healthy ones), so the next tier is used only once the whole lower tier is
 * unavailable. Deployments without an `order` are dropped whenever any deployment has one: they act
 * as the last tier, reached only when every ordered deployment is unavailable.
 */
export function lowestOrderTier<T extends Deployment>(deployments: readonly T[]): T[] {
  let lowest: number | undefined
  for (const d of deployments) {
    const order = orderOf(d)
    if (order !== undefined && (lowest === undefined || order < lowest)) lowest = order
  }
  if (lowest === undefined) return [...deployments]
  return deployments.filter((d) => orderOf(d) === lowest)
}
