import type { Deployment } from '../types'

/**
 * The model id Bedrock is called with. `bedrock/converse/<id>` forces the Converse route in LiteLLM,
 * so the `converse/` marker is not part of the id. `litellm_params.model_id` (a provisioned-throughput,
 * custom or imported model ARN) replaces it, as in LiteLLM, while `model` still names the base model.
 */
export function bedrockModelId(deployment: Deployment): string {
  const override = deployment.params.model_id
  if (typeof override === 'string' && override.trim() !== '') return override.trim()
  return deployment.providerModel.replace(/^converse\//, '')
}
