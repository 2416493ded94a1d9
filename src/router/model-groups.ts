import { GatewayError } from '../errors'
import type { Deployment } from '../providers/types'

/**
 * Deployments indexed by model group and by deployment id. A client may address a deployment
 * directly by its `model_info.id`, as LiteLLM allows.
 */
export class ModelGroups {
  private readonly groups = new Map<string, Deployment[]>()
  private readonly byId = new Map<string, Deployment>()

  constructor(deployments: readonly Deployment[]) {
    for (const d of deployments) {
      const group = this.groups.get(d.modelName)
      if (group) group.push(d)
      else this.groups.set(d.modelName, [d])
      this.byId.set(d.id, d)
    }
  }

  names(): string[] {
    return [...this.groups.keys()]
  }

  /** The deployments that can serve `model`, or a 400 naming the model (LiteLLM's wording). */
  resolve(model: string): Deployment[] {
    const group = this.groups.get(model)
    if (group) return group
    const direct = this.byId.get(model)
    if (direct) return [direct]
    throw new GatewayError({
      status: 400,
      message: `Invalid model name passed in model=${model}. Call \`/v1/models\` to view available models for your key.`,
      param: 'model',
      origin: 'client',
    })
  }
}
