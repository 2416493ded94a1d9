import { badRequest, type GatewayError } from '../../errors'
import type { Deployment } from '../types'
import { bedrockBaseModel } from './model-id'

/**
 * LiteLLM's UnsupportedParamsError (400) for OpenAI parameters a Bedrock route cannot honour, with
 * the list in Python repr (`['n', 'seed']`) so clients matching on LiteLLM's wording keep working.
 * Shared by the Converse and Invoke mappings.
 */
export function unsupportedParamsError(unsupported: readonly string[], deployment: Deployment): GatewayError {
  const list = `[${unsupported.map((name) => `'${name}'`).join(', ')}]`
  return badRequest(
    `litellm.UnsupportedParamsError: bedrock does not support parameters: ${list}, for model=${bedrockBaseModel(deployment)}. ` +
      'To drop these, set litellm.drop_params=True (drop_params: true in litellm_settings, the deployment or the request).',
    unsupported[0] ?? null,
  )
}
