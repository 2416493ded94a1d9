import { GatewayError } from '../../errors'
import type { Deployment } from '../types'
import { bedrockBaseModel, foundationModel } from './model-id'

/**
 * The Bedrock embedding models the gateway speaks, by request format (LiteLLM's
 * `BedrockEmbedding`): Titan Text Embeddings G1/v1 and v2 take one `inputText` per InvokeModel call,
 * Cohere Embed takes a list of `texts`.
 */
export type EmbeddingFamily =
  | { kind: 'titan'; version: 1 | 2 }
  /** `v3`: Embed English/Multilingual v3; `v4`: Embed v4 (which adds `output_dimension`). */
  | { kind: 'cohere'; version: 3 | 4 }

export const SUPPORTED_EMBEDDING_MODELS = [
  'amazon.titan-embed-text-v1',
  'amazon.titan-embed-g1-text-02',
  'amazon.titan-embed-text-v2:0',
  'cohere.embed-english-v3',
  'cohere.embed-multilingual-v3',
  'cohere.embed-v4:0',
]

/** The family of a foundation model id, or undefined for a model that is not an embedding model we know. */
export function familyOf(model: string): EmbeddingFamily | undefined {
  if (model === 'amazon.titan-embed-text-v1' || model.startsWith('amazon.titan-embed-g1-text')) {
    return { kind: 'titan', version: 1 }
  }
  if (model.startsWith('amazon.titan-embed-text-v2')) return { kind: 'titan', version: 2 }
  if (model.startsWith('cohere.embed-')) return { kind: 'cohere', version: model.includes('-v3') ? 3 : 4 }
  return undefined
}

/**
 * The family of a deployment's model (`bedrock/<id>` or `bedrock/invoke/<id>`; a cross-region
 * profile or a foundation-model ARN names the model too). With `model_id` set to an opaque ARN,
 * `model` still names the base model, as for chat.
 */
export function embeddingFamily(deployment: Deployment): EmbeddingFamily {
  const family = familyOf(foundationModel(bedrockBaseModel(deployment)))
  if (family) return family
  throw new GatewayError({
    status: 400,
    message:
      `Model ${deployment.modelName} (model=${deployment.params.model}) is not a Bedrock embedding model this gateway supports. ` +
      `Supported: ${SUPPORTED_EMBEDDING_MODELS.join(', ')}.`,
    param: 'model',
    origin: 'client',
    retryable: false,
  })
}
