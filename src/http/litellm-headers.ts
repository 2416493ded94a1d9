import type { Deployment } from '../providers/types'
import { VERSION } from '../version'

export interface CallHeaders {
  callId: string
  deployment?: Deployment
  apiBase?: string
  overheadMs?: number
  responseMs?: number
}

/**
 * LiteLLM's `x-litellm-*` response headers (`get_custom_headers`). Empty values are omitted, as
 * LiteLLM does; the api base loses its query string so no signed URL or token can leak.
 */
export function litellmHeaders(call: CallHeaders): Headers {
  const h = new Headers()
  h.set('x-litellm-call-id', call.callId)
  h.set('x-litellm-version', VERSION)
  if (call.deployment) {
    h.set('x-litellm-model-id', call.deployment.id)
    h.set('x-litellm-model-group', call.deployment.modelName)
  }
  if (call.apiBase) h.set('x-litellm-model-api-base', call.apiBase.split('?')[0]!)
  if (call.overheadMs !== undefined) h.set('x-litellm-overhead-duration-ms', call.overheadMs.toFixed(3))
  if (call.responseMs !== undefined) h.set('x-litellm-response-duration-ms', call.responseMs.toFixed(3))
  return h
}
