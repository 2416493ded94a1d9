import type { PromptTurn } from './prompt-turns'

/**
 * Chat templates for text-generation containers (TGI / JumpStart `{inputs, parameters}`), which take
 * one prompt string: the gateway renders the conversation in the model family's own format, as
 * LiteLLM's prompt factory does for `sagemaker/`.
 *
 * No template starts with the BOS token (`<s>`, `<|begin_of_text|>`): TGI and the JumpStart
 * containers tokenize `inputs` with the tokenizer's special tokens, which adds it once already.
 * A conversation that ends with an assistant turn leaves that turn open, so the model continues it
 * (prefill); otherwise the prompt ends where the assistant's answer begins.
 */

export type TemplateFamily = 'llama2' | 'llama3' | 'mistral' | 'chatml' | 'default'

const systemText = (turns: readonly PromptTurn[]): string =>
  turns
    .filter((t) => t.role === 'system')
    .map((t) => t.content)
    .join('\n\n')

const dialogue = (turns: readonly PromptTurn[]): PromptTurn[] => turns.filter((t) => t.role !== 'system')

interface Exchange {
  user: string
  assistant?: string
}

/** user/assistant pairs; an assistant turn without a user turn before it gets an empty user turn. */
function exchanges(turns: readonly PromptTurn[]): Exchange[] {
  const out: Exchange[] = []
  for (const turn of dialogue(turns)) {
    const last = out[out.length - 1]
    if (turn.role === 'user') out.push({ user: turn.content })
    else if (last && last.assistant === undefined) last.assistant = turn.content
    else out.push({ user: '', assistant: turn.content })
  }
  return out
}

/** Meta's Llama 2 chat format: the system prompt sits inside the first `[INST]` in `<<SYS>>`. */
export function llama2Prompt(turns: readonly PromptTurn[]): string {
  const system = systemText(turns)
  const pairs = exchanges(turns)
  return pairs
    .map((pair, i) => {
      const user = i === 0 && system !== '' ? `<<SYS>>\n${system}\n<</SYS>>\n\n${pair.user}` : pair.user
      const open = i === 0 ? '' : '<s>'
      const last = i === pairs.length - 1
      if (pair.assistant === undefined) return `${open}[INST] ${user.trim()} [/INST]`
      return `${open}[INST] ${user.trim()} [/INST] ${pair.assistant.trim()}${last ? '' : ' </s>'}`
    })
    .join('')
}

/** Llama 3 / 3.x instruct: header tokens per turn, `<|eot_id|>` after each. */
export function llama3Prompt(turns: readonly PromptTurn[]): string {
  const header = (role: string) => `<|start_header_id|>${role}<|end_header_id|>\n\n`
  const last = turns[turns.length - 1]
  const body = turns
    .map((turn) => {
      const open = turn === last && turn.role === 'assistant'
      return `${header(turn.role)}${open ? turn.content : `${turn.content.trim()}<|eot_id|>`}`
    })
    .join('')
  return last?.role === 'assistant' ? body : `${body}${header('assistant')}`
}

/** Mistral / Mixtral instruct: no system role, so the system prompt leads the first user turn. */
export function mistralPrompt(turns: readonly PromptTurn[]): string {
  const system = systemText(turns)
  const pairs = exchanges(turns)
  return pairs
    .map((pair, i) => {
      const user = i === 0 && system !== '' ? `${system}\n\n${pair.user}` : pair.user
      const last = i === pairs.length - 1
      if (pair.assistant === undefined) return `[INST] ${user.trim()} [/INST]`
      return `[INST] ${user.trim()} [/INST]${pair.assistant.trim()}${last ? '' : '</s>'}`
    })
    .join('')
}

/** ChatML (`<|im_start|>role … <|im_end|>`): Yi, Qwen, OpenHermes and other fine-tunes. */
export function chatmlPrompt(turns: readonly PromptTurn[]): string {
  const last = turns[turns.length - 1]
  const body = turns
    .map((turn) => {
      const open = turn === last && turn.role === 'assistant'
      return `<|im_start|>${turn.role}\n${open ? turn.content : `${turn.content.trim()}<|im_end|>\n`}`
    })
    .join('')
  return last?.role === 'assistant' ? body : `${body}<|im_start|>assistant\n`
}

/**
 * For models of unknown family: a labelled transcript ending in `Assistant:`, which base and chat
 * models alike continue as the assistant's answer. (LiteLLM's last resort joins the texts with
 * spaces, losing who said what.)
 */
export function plainPrompt(turns: readonly PromptTurn[]): string {
  const system = systemText(turns)
  const label = { user: 'User', assistant: 'Assistant', system: 'System' } as const
  const lines = dialogue(turns).map((turn) => `${label[turn.role]}: ${turn.content.trim()}`)
  const last = turns[turns.length - 1]
  const transcript = last?.role === 'assistant' ? lines.join('\n') : [...lines, 'Assistant:'].join('\n')
  return system === '' ? transcript : `${system}\n\n${transcript}`
}

export const TEMPLATES: Record<TemplateFamily, (turns: readonly PromptTurn[]) => string> = {
  llama2: llama2Prompt,
  llama3: llama3Prompt,
  mistral: mistralPrompt,
  chatml: chatmlPrompt,
  default: plainPrompt,
}

/**
 * The family a model name belongs to, from markers in HF model ids, JumpStart model ids and the
 * endpoint names derived from them (`jumpstart-dft-meta-textgeneration-llama-3-8b-instruct`,
 * `hf-llm-yi-1-5-9b-chat`). ChatML fine-tunes are checked first, because their names often also
 * name the base model (`OpenHermes-2.5-Mistral-7B` speaks ChatML, not Mistral's format).
 */
export function detectFamily(name: string): TemplateFamily | undefined {
  const n = name.toLowerCase()
  if (/chatml|qwen|hermes|(^|[^a-z0-9])yi([^a-z]|$)/.test(n)) return 'chatml'
  if (/llama[-_ .]?3/.test(n)) return 'llama3'
  if (/llama[-_ .]?2|codellama/.test(n)) return 'llama2'
  if (/mistral|mixtral/.test(n)) return 'mistral'
  if (n === 'default' || n === 'plain') return 'default'
  return undefined
}
