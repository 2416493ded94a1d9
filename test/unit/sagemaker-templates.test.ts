import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { type ChatMessage, chatRequestSchema } from '../../src/openai/chat-request'
import {
  chatmlPrompt,
  detectFamily,
  llama2Prompt,
  llama3Prompt,
  mistralPrompt,
  plainPrompt,
} from '../../src/providers/sagemaker/chat-templates'
import { customPromptTemplate, renderCustomPrompt } from '../../src/providers/sagemaker/custom-prompt'
import { buildPrompt, promptChoice } from '../../src/providers/sagemaker/prompt'
import { type PromptTurn, promptTurns } from '../../src/providers/sagemaker/prompt-turns'
import type { Deployment } from '../../src/providers/types'

const messages = (list: unknown[]): ChatMessage[] =>
  chatRequestSchema.parse({ model: 'm', messages: list }).messages

const deployment = (
  endpoint: string,
  params: Record<string, unknown> = {},
  modelInfo: Record<string, unknown> = {},
): Deployment => ({
  id: 'd',
  modelName: 'group',
  provider: 'sagemaker',
  providerModel: endpoint,
  params: { model: `sagemaker/${endpoint}`, ...params },
  modelInfo,
})

const conversation: PromptTurn[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: 'Name a colour.' },
]

describe('promptTurns', () => {
  it('maps roles, merges neighbours, shows tool results as user turns and drops empty messages', () => {
    const turns = promptTurns(
      messages([
        { role: 'developer', content: 'Rule 1' },
        { role: 'system', content: [{ type: 'text', text: 'Rule 2' }] },
        { role: 'user', content: 'What is 2+2?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'calc', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'c', content: '4' },
        { role: 'user', content: 'Thanks' },
      ]),
    )
    expect(turns).toEqual([
      { role: 'system', content: 'Rule 1\n\nRule 2' },
      { role: 'user', content: 'What is 2+2?\n\n4\n\nThanks' },
    ])
  })

  it('refuses images (400 naming the part) and a conversation without user text', () => {
    const image = () =>
      promptTurns(
        messages([
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AA' } }] },
        ]),
      )
    expect(image).toThrow(GatewayError)
    try {
      image()
    } catch (error) {
      expect((error as GatewayError).status).toBe(400)
      expect((error as GatewayError).param).toBe('messages[0].content[0]')
    }
    expect(() => promptTurns(messages([{ role: 'system', content: 'only system' }]))).toThrow(
      /at least one user message/,
    )
  })
})

describe('chat templates', () => {
  it('Llama 2: system inside the first [INST] in <<SYS>>, </s><s> between exchanges, no leading BOS', () => {
    expect(llama2Prompt(conversation)).toBe(
      '[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Name a colour. [/INST]',
    )
  })

  it('Llama 3: header tokens, <|eot_id|> after each turn, ends with the assistant header', () => {
    expect(llama3Prompt(conversation)).toBe(
      '<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nName a colour.<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    )
  })

  it('Mistral: system leads the first user turn, </s> closes answered exchanges', () => {
    expect(mistralPrompt(conversation)).toBe(
      '[INST] Be brief.\n\nHi [/INST]Hello!</s>[INST] Name a colour. [/INST]',
    )
  })

  it('ChatML (Yi, Qwen): <|im_start|>role … <|im_end|>, ends with an open assistant turn', () => {
    expect(chatmlPrompt(conversation)).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n' +
        '<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n',
    )
  })

  it('default: a labelled transcript ending in "Assistant:"', () => {
    expect(plainPrompt(conversation)).toBe(
      'Be brief.\n\nUser: Hi\nAssistant: Hello!\nUser: Name a colour.\nAssistant:',
    )
  })

  it('a final assistant turn stays open (prefill) in every template', () => {
    const prefill: PromptTurn[] = [
      { role: 'user', content: 'List three' },
      { role: 'assistant', content: '1.' },
    ]
    expect(llama2Prompt(prefill)).toBe('[INST] List three [/INST] 1.')
    expect(llama3Prompt(prefill).endsWith('<|start_header_id|>assistant<|end_header_id|>\n\n1.')).toBe(true)
    expect(mistralPrompt(prefill)).toBe('[INST] List three [/INST]1.')
    expect(chatmlPrompt(prefill).endsWith('<|im_start|>assistant\n1.')).toBe(true)
    expect(plainPrompt(prefill)).toBe('User: List three\nAssistant: 1.')
  })
})

describe('detectFamily', () => {
  it.each([
    ['jumpstart-dft-hf-llm-yi-1-5-9b-chat-20241009-070517', 'chatml'],
    ['Qwen/Qwen2-7B-Instruct', 'chatml'],
    ['teknium/OpenHermes-2.5-Mistral-7B', 'chatml'],
    ['jumpstart-dft-meta-textgeneration-llama-3-8b-instruct', 'llama3'],
    ['meta-llama/Meta-Llama-3.1-70B-Instruct', 'llama3'],
    ['jumpstart-dft-meta-textgeneration-llama-2-7b-f', 'llama2'],
    ['meta-llama/Llama-2-13b-chat-hf', 'llama2'],
    ['codellama-13b-instruct', 'llama2'],
    ['hf-llm-mistral-7b-instruct', 'mistral'],
    ['mixtral-8x7b-instruct-v01', 'mistral'],
    ['chatml', 'chatml'],
    ['default', 'default'],
  ])('%s → %s', (name, family) => {
    expect(detectFamily(name)).toBe(family)
  })

  it('does not take words that merely contain "yi" for Yi', () => {
    expect(detectFamily('my-yield-model')).toBeUndefined()
    expect(detectFamily('falcon-7b')).toBeUndefined()
  })
})

describe('template choice per deployment', () => {
  it('endpoint name, then model_info.base_model, then hf_model_name win in rising order', () => {
    expect(promptChoice(deployment('my-llama-2-endpoint'))).toEqual({ kind: 'family', family: 'llama2' })
    expect(
      promptChoice(
        deployment('my-llama-2-endpoint', {}, { base_model: 'meta-llama/Meta-Llama-3-8B-Instruct' }),
      ),
    ).toEqual({
      kind: 'family',
      family: 'llama3',
    })
    expect(
      promptChoice(
        deployment(
          'my-llama-2-endpoint',
          { hf_model_name: 'mistralai/Mistral-7B-Instruct-v0.2' },
          { base_model: 'llama-3' },
        ),
      ),
    ).toEqual({ kind: 'family', family: 'mistral' })
    expect(promptChoice(deployment('prod-endpoint-7'))).toEqual({ kind: 'family', family: 'default' })
  })

  it("LiteLLM's custom template keys win over everything and render like LiteLLM's custom_prompt", () => {
    const d = deployment('llama-3-endpoint', {
      roles: {
        system: { pre_message: '<<SYS>>', post_message: '<</SYS>>\n' },
        user: { pre_message: '[U] ', post_message: '\n' },
        assistant: { pre_message: '[A] ', post_message: '\n' },
      },
      initial_prompt_value: 'BEGIN\n',
      final_prompt_value: '[A] ',
      bos_token: '<s>',
      eos_token: '</s>',
    })
    expect(promptChoice(d)).toEqual({ kind: 'custom' })
    expect(
      buildPrompt(
        messages([
          { role: 'system', content: 'S' },
          { role: 'user', content: 'Q1' },
          { role: 'assistant', content: 'A1' },
          { role: 'user', content: 'Q2' },
        ]),
        d,
      ),
    ).toBe('<s>BEGIN\n<<SYS>>S<</SYS>>\n[U] Q1\n[A] A1\n</s><s>[U] Q2\n[A] ')
  })

  it('a custom template with only final_prompt_value leaves the turns unwrapped', () => {
    const template = customPromptTemplate({ model: 'sagemaker/x', final_prompt_value: '\nAnswer:' })
    expect(template).toBeDefined()
    expect(renderCustomPrompt(template!, [{ role: 'user', content: 'Why?' }])).toBe('Why?\nAnswer:')
  })

  it('a malformed roles value is a named configuration error (500), not a crash', () => {
    expect(() => customPromptTemplate({ model: 'sagemaker/x', roles: 'chatml' })).toThrow(
      /litellm_params.roles must map/,
    )
    expect(() => customPromptTemplate({ model: 'sagemaker/x', roles: { user: { pre_message: 3 } } })).toThrow(
      /roles.user.pre_message must be a string/,
    )
  })

  it('the seed endpoint (Yi 1.5 chat on JumpStart) gets the ChatML prompt', () => {
    expect(
      buildPrompt(
        messages([{ role: 'user', content: 'Hello' }]),
        deployment('jumpstart-dft-hf-llm-yi-1-5-9b-chat-20241009-070517'),
      ),
    ).toBe('<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n')
  })
})
