import { GatewayError } from '../../errors'
import type { LitellmParams } from '../types'
import type { SagemakerOperation } from './endpoint'

/**
 * HTTP headers of an InvokeEndpoint(WithResponseStream) call (protocols.md 3.2). SageMaker strips
 * every other header before the container sees the request.
 *
 * - `model_id` (LiteLLM's name) → `X-Amzn-SageMaker-Inference-Component`, for endpoints hosting
 *   inference components; such endpoints refuse calls without it.
 * - `custom_attributes` (boto3's `CustomAttributes`; LiteLLM has no key for it) →
 *   `X-Amzn-SageMaker-Custom-Attributes`, forwarded verbatim to the container. Meta Llama
 *   JumpStart endpoints need `accept_eula=true` here.
 */

const ACCEPT: Record<SagemakerOperation, string> = {
  invocations: 'application/json',
  'invocations-response-stream': 'application/vnd.amazon.eventstream',
}

/** SageMaker's limits: inference component names ≤ 63 chars, custom attributes ≤ 1024 visible ASCII. */
const INFERENCE_COMPONENT = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/
const CUSTOM_ATTRIBUTES = /^[\x20-\x7e]{1,1024}$/

const misconfigured = (message: string): GatewayError =>
  new GatewayError({ status: 500, message, type: 'api_error', origin: 'gateway', retryable: false })

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined

export function sagemakerHeaders(
  params: LitellmParams,
  operation: SagemakerOperation,
): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: ACCEPT[operation] }
  const component = text(params.model_id)
  if (component !== undefined) {
    if (!INFERENCE_COMPONENT.test(component)) {
      throw misconfigured(
        'litellm_params.model_id must be a SageMaker inference component name (letters, digits and hyphens, at most 63 characters).',
      )
    }
    headers['x-amzn-sagemaker-inference-component'] = component
  }
  const attributes = text(params.custom_attributes)
  if (attributes !== undefined) {
    if (!CUSTOM_ATTRIBUTES.test(attributes)) {
      throw misconfigured(
        'litellm_params.custom_attributes must be at most 1024 visible ASCII characters (e.g. accept_eula=true).',
      )
    }
    headers['x-amzn-sagemaker-custom-attributes'] = attributes
  }
  return headers
}
