import type { Deployment } from '../providers/types'
import { lookupPrice } from '../spend/prices'
import type { DeploymentStats } from './strategies'

const positiveNumber = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined

/** The deployment's `rpm`/`tpm` (litellm_params, else model_info, as LiteLLM reads them). */
export function limitsOf(deployment: Deployment): { rpm?: number; tpm?: number } {
  const rpm = positiveNumber(deployment.params.rpm) ?? positiveNumber(deployment.modelInfo.rpm)
  const tpm = positiveNumber(deployment.params.tpm) ?? positiveNumber(deployment.modelInfo.tpm)
  return { ...(rpm === undefined ? {} : { rpm }), ...(tpm === undefined ? {} : { tpm }) }
}

export const hasLimits = (deployment: Deployment): boolean => {
  const { rpm, tpm } = limitsOf(deployment)
  return rpm !== undefined || tpm !== undefined
}

/**
 * Usage-, latency- and cost-based routing skip a deployment this call would push over its limits
 * this minute: one more request over `rpm`, or the prompt's tokens over `tpm` (LiteLLM's
 * `item_tpm + input_tokens > tpm or item_rpm + 1 > rpm`).
 */
export function wouldExceed(deployment: Deployment, stats: DeploymentStats, promptTokens: number): boolean {
  const { rpm, tpm } = limitsOf(deployment)
  return (rpm !== undefined && stats.rpm + 1 > rpm) || (tpm !== undefined && stats.tpm + promptTokens > tpm)
}

/** Pre-call checks skip a deployment already at or over its rpm/tpm this minute. */
export function atLimit(deployment: Deployment, stats: DeploymentStats): boolean {
  const { rpm, tpm } = limitsOf(deployment)
  return (rpm !== undefined && stats.rpm >= rpm) || (tpm !== undefined && stats.tpm >= tpm)
}

/**
 * The deployment's context window for pre-call checks: `model_info.max_input_tokens`, else the
 * price map's for `base_model` or the model (undefined when neither knows it: no check, as LiteLLM).
 */
export function contextWindowOf(deployment: Deployment): number | undefined {
  const configured = positiveNumber(deployment.modelInfo.max_input_tokens)
  if (configured !== undefined) return configured
  const base = deployment.modelInfo.base_model ?? deployment.params.base_model
  const match =
    (typeof base === 'string' ? lookupPrice(base) : undefined) ?? lookupPrice(deployment.params.model)
  return positiveNumber(match?.entry.max_input_tokens)
}

/** Whether the prompt fits (LiteLLM: `input_tokens > max_input_tokens` fails the check). */
export const fitsContext = (deployment: Deployment, promptTokens: number): boolean => {
  const window = contextWindowOf(deployment)
  return window === undefined || promptTokens <= window
}
