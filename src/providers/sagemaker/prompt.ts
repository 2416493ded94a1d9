import type { ChatMessage } from '../../openai/chat-request'
import type { Deployment } from '../types'
import { detectFamily, TEMPLATES, type TemplateFamily } from './chat-templates'
import { customPromptTemplate, renderCustomPrompt } from './custom-prompt'
import { promptTurns } from './prompt-turns'

/**
 * Which template a `sagemaker/` deployment uses, first match wins:
 * 1. a custom template in `litellm_params` (LiteLLM's `roles` / `initial_prompt_value` /
 *    `final_prompt_value` / `bos_token` / `eos_token`);
 * 2. the family named by `litellm_params.hf_model_name` (LiteLLM's key for "format the prompt like
 *    this Hugging Face model"), e.g. `meta-llama/Meta-Llama-3-8B-Instruct`, or a family name:
 *    `llama2`, `llama3`, `mistral`, `chatml`, `default`);
 * 3. the family of `model_info.base_model`;
 * 4. the family in the endpoint name;
 * 5. the plain labelled transcript.
 */
export type PromptChoice = { kind: 'custom' } | { kind: 'family'; family: TemplateFamily }

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined

export function promptChoice(deployment: Deployment): PromptChoice {
  if (customPromptTemplate(deployment.params) !== undefined) return { kind: 'custom' }
  for (const name of [
    text(deployment.params.hf_model_name),
    text(deployment.modelInfo.base_model),
    deployment.providerModel,
  ]) {
    const family = name === undefined ? undefined : detectFamily(name)
    if (family !== undefined) return { kind: 'family', family }
  }
  return { kind: 'family', family: 'default' }
}

/** The prompt string sent as TGI's `inputs`. */
export function buildPrompt(messages: readonly ChatMessage[], deployment: Deployment): string {
  const turns = promptTurns(messages)
  const custom = customPromptTemplate(deployment.params)
  if (custom !== undefined) return renderCustomPrompt(custom, turns)
  const choice = promptChoice(deployment)
  return TEMPLATES[choice.kind === 'family' ? choice.family : 'default'](turns)
}
