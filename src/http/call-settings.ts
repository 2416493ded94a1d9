import type { ChatRequest } from '../openai/chat-request'
import type { Deployment } from '../providers/types'
import type { CallTimeouts } from './call-signal'
import type { Gateway } from './context'

export interface CallSettings {
  timeouts: CallTimeouts
  dropParams: boolean
}

/**
 * Per-call settings in LiteLLM's precedence: the request, then the deployment's litellm_params,
 * then router_settings, then litellm_settings, then the environment.
 */
export function callSettings(body: ChatRequest, deployment: Deployment, gw: Gateway): CallSettings {
  const { params } = deployment
  const configured = positive(params.timeout) ?? gw.defaultTimeoutSeconds
  const requested = positive(body.timeout)
  const timeout = requested ?? configured
  const streamTimeout = positive(params.stream_timeout) ?? positive(gw.config.routerSettings.stream_timeout)
  return {
    timeouts: {
      firstByteSeconds: body.stream ? (streamTimeout ?? timeout) : timeout,
      idleSeconds: timeout,
      callerShortened: requested !== undefined && requested < configured,
    },
    dropParams: dropParams(body, deployment, gw),
  }
}

function dropParams(body: ChatRequest, deployment: Deployment, gw: Gateway): boolean {
  for (const value of [
    body.drop_params,
    deployment.params.drop_params,
    gw.config.litellmSettings.drop_params,
  ]) {
    if (typeof value === 'boolean') return value
  }
  return /^true$/i.test(gw.env.LITELLM_DROP_PARAMS ?? '')
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && value > 0 ? value : undefined
}
