import type { Logger } from '../observability/logger'
import type { Deployment } from '../providers/types'
import { priceFor } from './cost'

/**
 * Deployments spend tracking cannot price: each of their calls records $0, so no budget ever
 * triggers for them. Mock deployments cost nothing by design and are left out.
 */
export function unpricedDeployments(deployments: readonly Deployment[]): Deployment[] {
  return deployments.filter((d) => d.provider !== 'mock' && priceFor(d) === undefined)
}

/**
 * One warning per unpriced deployment when spend tracking starts, so an operator learns it from the
 * start-up log rather than from a budget that never fires. (Each model is warned about again, once,
 * at its first call: see spend-hook.)
 */
export function warnUnpricedDeployments(
  deployments: readonly Deployment[],
  logger: Pick<Logger, 'warn'>,
): void {
  for (const deployment of unpricedDeployments(deployments)) {
    logger.warn('no price for model: its calls will record spend 0 and never count against budgets', {
      model_group: deployment.modelName,
      model: deployment.params.model,
      model_id: deployment.id,
      hint: 'set model_info.base_model, or input_cost_per_token / output_cost_per_token (input_cost_per_second for SageMaker)',
    })
  }
}
