import { z } from 'zod'

/**
 * The OpenAI chat-completions request, validated at the edge of the gateway.
 *
 * Only what a provider mapping reads is typed strictly; every other member passes through
 * (`.loose()`), because OpenAI adds parameters often and LiteLLM forwards unknown ones.
 */

const textPart = z.object({ type: z.literal('text'), text: z.string() }).loose()
const imagePart = z
  .object({
    type: z.literal('image_url'),
    image_url: z.union([z.string(), z.object({ url: z.string(), detail: z.string().optional() }).loose()]),
  })
  .loose()
const otherPart = z.object({ type: z.string() }).loose()
export const contentPartSchema = z.union([textPart, imagePart, otherPart])

const content = z.union([z.string(), z.array(contentPartSchema)]).nullable()

export const toolCallSchema = z
  .object({
    id: z.string(),
    type: z.literal('function').default('function'),
    function: z.object({ name: z.string(), arguments: z.string() }).loose(),
  })
  .loose()

const systemMessage = z
  .object({ role: z.enum(['system', 'developer']), content, name: z.string().optional() })
  .loose()
const userMessage = z.object({ role: z.literal('user'), content, name: z.string().optional() }).loose()
/**
 * Extended-thinking blocks of an earlier answer, as LiteLLM returns them in `thinking_blocks`.
 * Clients send them back so a thinking model can continue a tool-use turn (the signature is checked).
 */
export const thinkingBlockSchema = z.union([
  z.object({ type: z.literal('thinking'), thinking: z.string(), signature: z.string().optional() }).loose(),
  z.object({ type: z.literal('redacted_thinking'), data: z.string() }).loose(),
])

const assistantMessage = z
  .object({
    role: z.literal('assistant'),
    content: content.optional(),
    tool_calls: z.array(toolCallSchema).nullable().optional(),
    name: z.string().optional(),
    thinking_blocks: z.array(thinkingBlockSchema).nullable().optional(),
  })
  .loose()
const toolMessage = z.object({ role: z.literal('tool'), content, tool_call_id: z.string() }).loose()
/** Legacy `function` role (OpenAI's pre-tools API); mapped like a tool result named by `name`. */
const functionMessage = z.object({ role: z.literal('function'), content, name: z.string() }).loose()

export const chatMessageSchema = z.discriminatedUnion('role', [
  systemMessage,
  userMessage,
  assistantMessage,
  toolMessage,
  functionMessage,
])

export const toolSchema = z
  .object({
    type: z.literal('function'),
    function: z
      .object({
        name: z.string().min(1),
        description: z.string().optional(),
        parameters: z.record(z.string(), z.unknown()).optional(),
        strict: z.boolean().nullable().optional(),
      })
      .loose(),
  })
  .loose()

export const toolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }).loose(),
])

const positiveInt = z.number().int().positive()

/**
 * OpenAI's `response_format`. `json_schema.name` is required by OpenAI but unused by providers that
 * emulate structured output with a tool (LiteLLM names that tool itself), so it is optional here.
 * `response_schema` is LiteLLM's (Vertex-style) alternative spelling of the schema. Other types
 * (vLLM's `regex`, `structural_tag` …) pass validation: whether a provider takes them is its call.
 */
export const responseFormatSchema = z.union([
  z.object({ type: z.literal('text') }).loose(),
  z
    .object({ type: z.literal('json_object'), response_schema: z.record(z.string(), z.unknown()).optional() })
    .loose(),
  z
    .object({
      type: z.literal('json_schema'),
      json_schema: z
        .object({
          name: z.string().optional(),
          description: z.string().optional(),
          schema: z.record(z.string(), z.unknown()).optional(),
          strict: z.boolean().nullable().optional(),
        })
        .loose(),
    })
    .loose(),
  z.object({ type: z.string() }).loose(),
])

/** Anthropic's extended-thinking switch (`{type: "enabled", budget_tokens}`), which LiteLLM accepts on any route. */
export const thinkingSchema = z
  .object({ type: z.string(), budget_tokens: z.number().int().positive().optional() })
  .loose()

/**
 * The end user's id (LiteLLM's `end_user`, a spend-log column with an index). OpenAI documents it
 * as an identifier; ids longer than this are refused rather than stored.
 */
export const MAX_USER_CHARS = 256

export const chatRequestSchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(chatMessageSchema).min(1),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullable().optional(),
    max_tokens: positiveInt.nullable().optional(),
    max_completion_tokens: positiveInt.nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    n: z.number().int().min(1).nullable().optional(),
    stop: z
      .union([z.string(), z.array(z.string())])
      .nullable()
      .optional(),
    tools: z.array(toolSchema).nullable().optional(),
    tool_choice: toolChoiceSchema.nullable().optional(),
    response_format: responseFormatSchema.nullable().optional(),
    /** `minimal`/`low`/`medium`/`high`/`none`; which values a model takes is the provider mapping's call. */
    reasoning_effort: z.string().nullable().optional(),
    thinking: thinkingSchema.nullable().optional(),
    /** Bedrock's guardrail block, passed through as LiteLLM does (`guardrailIdentifier`, `guardrailVersion` …). */
    guardrailConfig: z.record(z.string(), z.unknown()).optional(),
    user: z
      .string()
      .max(MAX_USER_CHARS, `string too long: expected at most ${MAX_USER_CHARS} characters`)
      .optional(),
    /** LiteLLM extras, stripped before the provider call. */
    mock_response: z.string().optional(),
    timeout: z.number().positive().optional(),
    drop_params: z.boolean().optional(),
  })
  .loose()

export type ChatRequest = z.infer<typeof chatRequestSchema>
export type ChatMessage = z.infer<typeof chatMessageSchema>
export type ContentPart = z.infer<typeof contentPartSchema>
export type Tool = z.infer<typeof toolSchema>
export type ToolChoice = z.infer<typeof toolChoiceSchema>
