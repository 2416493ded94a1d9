import { GatewayError } from '../../errors'
import type { LitellmParams } from '../types'
import type { PromptTurn, TurnRole } from './prompt-turns'

/**
 * LiteLLM's per-deployment custom prompt template: the `litellm_params` keys `roles`
 * (`{system|user|assistant: {pre_message, post_message}}`), `initial_prompt_value`,
 * `final_prompt_value`, `bos_token` and `eos_token`, rendered as LiteLLM's `custom_prompt`:
 * `bos + initial`, then each turn wrapped in its role's pre/post strings, `eos` after every
 * assistant turn and `bos` again before the next system/user turn, then `final`.
 * (LiteLLM's check for re-opening with `bos` names a role "human" that chat messages never have;
 * this uses `user`, which is what the comment there describes.)
 */

export interface CustomPromptTemplate {
  roles: Partial<Record<TurnRole, { pre_message?: string; post_message?: string }>>
  initialPromptValue: string
  finalPromptValue: string
  bosToken: string
  eosToken: string
}

const KEYS = ['roles', 'initial_prompt_value', 'final_prompt_value', 'bos_token', 'eos_token'] as const

const misconfigured = (message: string): GatewayError =>
  new GatewayError({ status: 500, message, type: 'api_error', origin: 'gateway', retryable: false })

function stringParam(params: LitellmParams, key: string): string {
  const value = params[key]
  if (value === undefined || value === null) return ''
  if (typeof value !== 'string') throw misconfigured(`litellm_params.${key} must be a string.`)
  return value
}

function rolesParam(value: unknown): CustomPromptTemplate['roles'] {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw misconfigured(
      'litellm_params.roles must map system/user/assistant to {pre_message, post_message} strings.',
    )
  }
  const roles: CustomPromptTemplate['roles'] = {}
  for (const [role, wrap] of Object.entries(value)) {
    if (role !== 'system' && role !== 'user' && role !== 'assistant') continue
    if (typeof wrap !== 'object' || wrap === null) {
      throw misconfigured(`litellm_params.roles.${role} must be {pre_message, post_message}.`)
    }
    const entry: { pre_message?: string; post_message?: string } = {}
    for (const key of ['pre_message', 'post_message'] as const) {
      const text: unknown = (wrap as Record<string, unknown>)[key]
      if (text === undefined || text === null) continue
      if (typeof text !== 'string')
        throw misconfigured(`litellm_params.roles.${role}.${key} must be a string.`)
      entry[key] = text
    }
    roles[role] = entry
  }
  return roles
}

/** The deployment's custom template, or undefined when it sets none of LiteLLM's keys. */
export function customPromptTemplate(params: LitellmParams): CustomPromptTemplate | undefined {
  if (!KEYS.some((key) => params[key] !== undefined && params[key] !== null && params[key] !== '')) {
    return undefined
  }
  return {
    roles: rolesParam(params.roles),
    initialPromptValue: stringParam(params, 'initial_prompt_value'),
    finalPromptValue: stringParam(params, 'final_prompt_value'),
    bosToken: stringParam(params, 'bos_token'),
    eosToken: stringParam(params, 'eos_token'),
  }
}

export function renderCustomPrompt(template: CustomPromptTemplate, turns: readonly PromptTurn[]): string {
  let prompt = template.bosToken + template.initialPromptValue
  let bosOpen = true
  for (const turn of turns) {
    if (turn.role !== 'assistant' && !bosOpen) {
      prompt += template.bosToken
      bosOpen = true
    }
    const wrap = template.roles[turn.role] ?? {}
    prompt += (wrap.pre_message ?? '') + turn.content + (wrap.post_message ?? '')
    if (turn.role === 'assistant') {
      prompt += template.eosToken
      bosOpen = false
    }
  }
  return prompt + template.finalPromptValue
}
