import type { ChatRequest, Tool } from '../../openai/chat-request'

/**
 * `response_format` json_object / json_schema on Converse, as LiteLLM's `_translate_response_format_param`:
 * Converse has no JSON mode, so the schema becomes a single tool named `json_tool_call`
 * (`RESPONSE_FORMAT_TOOL_NAME`) that the model is forced to call, and the call's input comes back as
 * `message.content` (a JSON string) instead of a tool call.
 */

export const JSON_TOOL_NAME = 'json_tool_call'

/** What LiteLLM sends for `json_object` without a schema: any object (Anthropic rejects `properties: null`). */
const ANY_OBJECT: Record<string, unknown> = { type: 'object', additionalProperties: true, properties: {} }

export interface JsonMode {
  /** The schema the answer follows; undefined when the caller gave none or it is not known here. */
  schema?: Record<string, unknown>
  description?: string
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** A response_format Converse can follow: none, text, or one of the two JSON types. */
export function knownResponseFormat(req: ChatRequest): boolean {
  const format = req.response_format
  return !isRecord(format) || ['text', 'json_object', 'json_schema'].includes(String(format.type))
}

/** The JSON mode a request asks for; undefined for none or `{type: "text"}`. */
export function jsonModeOf(req: ChatRequest): JsonMode | undefined {
  const format = req.response_format
  if (!isRecord(format) || format.type === 'text') return undefined
  if (format.type === 'json_schema' && isRecord(format.json_schema)) {
    const { schema, description } = format.json_schema
    return {
      ...(isRecord(schema) ? { schema } : {}),
      ...(typeof description === 'string' && description !== '' ? { description } : {}),
    }
  }
  if (format.type === 'json_object')
    return isRecord(format.response_schema) ? { schema: format.response_schema } : {}
  return undefined
}

/** The tool that carries the schema (an OpenAI tool, mapped to a toolSpec like any other). */
export function jsonTool(mode: JsonMode): Tool {
  return {
    type: 'function',
    function: {
      name: JSON_TOOL_NAME,
      ...(mode.description !== undefined ? { description: mode.description } : {}),
      parameters: mode.schema ?? ANY_OBJECT,
    },
  }
}

/**
 * Models sometimes answer a schema-shaped tool with the values wrapped in `{"properties": …}`;
 * LiteLLM unwraps a lone `properties` member. It is left alone when the schema itself declares a
 * top-level `properties` member, which makes the wrapper a legitimate answer.
 */
export function unwrapsProperties(mode: JsonMode): boolean {
  const declared = mode.schema?.properties
  return !(isRecord(declared) && 'properties' in declared)
}

/** The tool input as the message content. */
export function jsonContent(input: unknown, mode: JsonMode): string {
  if (unwrapsProperties(mode) && isRecord(input)) {
    const keys = Object.keys(input)
    if (keys.length === 1 && keys[0] === 'properties' && isRecord(input.properties)) {
      return JSON.stringify(input.properties)
    }
  }
  return JSON.stringify(input ?? {})
}

/**
 * What the response mappers need to know about the request. Without it (a caller that does not pass
 * one), a lone `json_tool_call` tool call is read as JSON mode, since that name is LiteLLM's own.
 */
export interface ConverseOutputOptions {
  jsonMode?: JsonMode
}

export const converseOutputOptions = (req: ChatRequest): ConverseOutputOptions => {
  const jsonMode = jsonModeOf(req)
  return jsonMode === undefined ? {} : { jsonMode }
}

export const jsonModeFor = (options: ConverseOutputOptions | undefined): JsonMode | undefined =>
  options === undefined ? {} : options.jsonMode
