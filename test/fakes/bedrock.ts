/**
 * Local fake of Amazon Bedrock Runtime (protocols.md 1.2–1.9): SigV4-verified (service `bedrock`,
 * ±5 min), routes on the raw path, answers Converse / ConverseStream, InvokeModel /
 * InvokeModelWithResponseStream for Claude (bedrock-invoke.ts) and InvokeModel for the Titan and
 * Cohere embedding models (bedrock-embeddings.ts) like the real service, and lets tests script
 * errors, mid-stream exceptions, truncation, delays and hangs.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { embeddingAnswer, embeddingKind } from './bedrock-embeddings'
import {
  anthropicResponseBody,
  anthropicStreamEvents,
  converseShapeOf,
  invokeHeaders,
  isAnthropicModel,
  validateAnthropicBody,
  withAnthropicIds,
} from './bedrock-invoke'
import {
  AWKWARD_PATTERN,
  chunkFrame,
  concatBytes,
  errorFrame,
  eventFrame,
  exceptionFrame,
  splitAwkwardly,
} from './event-stream'
import {
  type FakeAwsControls,
  type FakeCredentials,
  fakeAwsState,
  flatHeaders,
  isGone,
  Lifecycle,
  listen,
  nextTick,
  readBody,
} from './http-util'
import { verifySigV4 } from './sigv4-verifier'

export type { FakeCredentials } from './http-util'

export type BedrockOperation = 'converse' | 'converse-stream' | 'invoke' | 'invoke-with-response-stream'

const OPERATIONS: ReadonlySet<string> = new Set([
  'converse',
  'converse-stream',
  'invoke',
  'invoke-with-response-stream',
])

export interface BedrockUsage {
  inputTokens: number
  outputTokens: number
  totalTokens: number
  cacheReadInputTokens?: number
  cacheWriteInputTokens?: number
}

export interface FakeToolUse {
  /** Default: a fresh `tooluse_…` id. */
  toolUseId?: string
  name: string
  input: unknown
}

/** Content of an assistant answer; any field left out is derived from the request. */
export interface FakeReply {
  text?: string
  toolUses?: FakeToolUse[]
  stopReason?: string
  usage?: Partial<BedrockUsage>
}

export interface ResolvedReply {
  text: string | undefined
  toolUses: Required<FakeToolUse>[]
  stopReason: string
  usage: BedrockUsage
}

/** One item of a scripted event stream. */
export type StreamItem =
  | { event: string; payload: Record<string, unknown> }
  /** InvokeModelWithResponseStream: a `chunk` event whose `bytes` is base64 of this JSON. */
  | { chunk: Record<string, unknown> }
  | { exception: string; message: string; extra?: Record<string, unknown> }
  | { error: string; message: string }
  | { raw: Uint8Array }

interface Delayed {
  /** Wait this long before sending anything (status line included). */
  delayMs?: number
}

export interface StreamPlan extends Delayed {
  type: 'stream'
  /** Explicit events; default: the real event sequence for `reply` (or the derived answer). */
  events?: StreamItem[]
  reply?: FakeReply
  /** After this many events, send an exception frame (default `throttlingException`) and end. */
  exceptionAfter?: number
  exception?: { type: string; message: string; extra?: Record<string, unknown> }
  /** After this many events, send an `error` frame and end. */
  errorAfter?: number
  error?: { code: string; message: string }
  /** After this many events, send half of the next frame, then end the body (`end`) or kill the socket (`destroy`). */
  truncateAfter?: number
  truncateMode?: 'end' | 'destroy'
  /** After this many events, stop writing and keep the connection open until the client gives up. */
  hangAfter?: number
  /** Extra pause whenever a frame boundary has been written (default: only a setImmediate between pieces). */
  eventGapMs?: number
  /** Piece sizes for splitting the byte stream; `false` writes whole frames. Default: AWKWARD_PATTERN. */
  split?: readonly number[] | false
  headers?: Record<string, string>
}

export type FakeBedrockPlan =
  | (Delayed & { type: 'default' })
  | (Delayed & { type: 'reply' } & FakeReply)
  | (Delayed & { type: 'json'; status?: number; body: unknown; headers?: Record<string, string> })
  | (Delayed & {
      type: 'error'
      /** `ThrottlingException`, or a full `x-amzn-ErrorType` value (with `:` suffix) used verbatim. */
      errorType: string
      /** Default: the modeled status for `errorType` (protocols.md 1.8), else 400. */
      status?: number
      message?: string
      /** Extra body members (`originalStatusCode`, …). */
      extra?: Record<string, unknown>
      headers?: Record<string, string>
      omitErrorTypeHeader?: boolean
    })
  | StreamPlan
  /** Never answer (no status line). */
  | { type: 'hang' }
  /** Destroy the connection without an answer. */
  | (Delayed & { type: 'reset' })

export type PlanStep = FakeBedrockPlan | ((req: RecordedRequest) => FakeBedrockPlan | undefined)

export interface RecordedRequest {
  method: string
  /** Request target exactly as received (percent-encoded, with query). */
  rawPath: string
  /** Decoded model id (ARNs contain `/`), when the path matched the route. */
  modelId?: string
  operation?: BedrockOperation
  headers: Record<string, string>
  rawBody: string
  /** Parsed JSON body; undefined when empty or not JSON. */
  body: unknown
  /** From the credential scope (also for rejected requests, when parseable). */
  region?: string
  accessKeyId?: string
  /** Header names the verified SigV4 signature covers (lower case), for SigV4-accepted requests. */
  signedHeaders?: string[]
  auth: { ok: true } | { ok: false; code: string; message: string }
  /** HTTP status the fake answered with (unset for hangs/resets). */
  status?: number
  receivedAt: number
}

export interface FakeBedrockOptions {
  /** Default `us-east-1`; the credential scope must name it unless `anyRegion`. */
  region?: string
  anyRegion?: boolean
  /** Extra credential sets accepted besides the built-in long-term and temporary ones. */
  credentials?: FakeCredentials[]
  /** Default 5 minutes. */
  maxSkewMs?: number
  now?: () => number
  /** Default: every id not containing `unknown`. */
  isKnownModel?: (modelId: string) => boolean
  /** Validate Converse bodies like Bedrock (roles alternate, blank text, tool pairing…). Default true. */
  validate?: boolean
}

/** `script()` queues responses for the next routed requests (SigV4-verified, on a known route). */
export interface FakeBedrock extends FakeAwsControls<RecordedRequest, PlanStep, FakeBedrockPlan> {
  url: string
  port: number
  region: string
  close(): Promise<void>
}

const ERROR_STATUS: Record<string, number> = {
  ValidationException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ModelErrorException: 424,
  ModelStreamErrorException: 424,
  ThrottlingException: 429,
  ModelNotReadyException: 429,
  ServiceQuotaExceededException: 400,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
  UnrecognizedClientException: 403,
  ExpiredTokenException: 403,
  InvalidSignatureException: 403,
}

const ERROR_MESSAGE: Record<string, string> = {
  ThrottlingException: 'Too many requests, please wait before trying again.',
  ServiceUnavailableException: 'Bedrock is unable to process your request.',
  ModelTimeoutException: 'Model has timed out in processing the request. Try your request again.',
  AccessDeniedException: "You don't have access to the model with the specified model ID.",
  ExpiredTokenException: 'The security token included in the request is expired',
}

const AUTH_ERRORS: ReadonlySet<string> = new Set([
  'MissingAuthenticationTokenException',
  'IncompleteSignatureException',
  'InvalidSignatureException',
  'UnrecognizedClientException',
  'ExpiredTokenException',
])

/** `x-amzn-ErrorType` value: `Code:http://internal.amazon.com/coral/<namespace>/`. */
export function errorTypeHeader(code: string): string {
  if (code.includes(':')) return code
  const ns = AUTH_ERRORS.has(code)
    ? 'com.amazon.coral.service'
    : code === 'ThrottlingException'
      ? 'com.amazon.coral.availability'
      : 'com.amazon.bedrock'
  return `${code}:http://internal.amazon.com/coral/${ns}/`
}

export function countWords(text: string): number {
  return text.split(/\s+/).filter((w) => w.length > 0).length
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}

function toolResultText(block: Record<string, unknown>): string {
  const result = block.toolResult
  if (!isObject(result)) return ''
  return asArray(result.content)
    .map((item) => {
      if (!isObject(item)) return ''
      if (typeof item.text === 'string') return item.text
      if ('json' in item) return JSON.stringify(item.json)
      return ''
    })
    .filter((s) => s.length > 0)
    .join(' ')
}

/** Every word the model "reads": system texts, text blocks, tool results and tool inputs. */
export function countInputWords(body: unknown): number {
  if (!isObject(body)) return 0
  let words = 0
  for (const block of asArray(body.system)) {
    if (isObject(block) && typeof block.text === 'string') words += countWords(block.text)
  }
  for (const message of asArray(body.messages)) {
    if (!isObject(message)) continue
    for (const block of asArray(message.content)) {
      if (!isObject(block)) continue
      if (typeof block.text === 'string') words += countWords(block.text)
      if ('toolResult' in block) words += countWords(toolResultText(block))
      if (isObject(block.toolUse)) words += countWords(JSON.stringify(block.toolUse.input ?? {}))
    }
  }
  return words
}

function newToolUseId(): string {
  return `tooluse_${randomBytes(16)
    .toString('base64')
    .replace(/[^a-zA-Z0-9]/g, '')
    .slice(0, 22)}`
}

/**
 * What the fake answers by default, derived from a Converse body:
 * - last user message has tool results → text `Tool result: <result texts>`;
 * - tools configured and the last user text mentions "weather" → toolUse of the first tool with
 *   input `{"city":"Paris"}`, stopReason `tool_use`, no text;
 * - otherwise text `You said: <last user text>` (text blocks joined with a space).
 * Then a stop sequence found in the text cuts it (`stop_sequence`), and `inferenceConfig.maxTokens`
 * below the word count keeps that many words (`max_tokens`).
 * Usage: inputTokens = countInputWords(body), outputTokens = words of the text + words of each tool
 * input JSON, cache counters 0.
 */
export function defaultReplyFor(body: unknown, override?: FakeReply): ResolvedReply {
  const request = isObject(body) ? body : {}
  const messages = asArray(request.messages).filter(isObject)
  const lastUser = [...messages].reverse().find((m) => m.role === 'user')
  const blocks = asArray(lastUser?.content).filter(isObject)
  const userText = blocks
    .map((b) => (typeof b.text === 'string' ? b.text : ''))
    .filter((s) => s.length > 0)
    .join(' ')
  const toolResults = blocks.filter((b) => 'toolResult' in b)
  const toolConfig = isObject(request.toolConfig) ? request.toolConfig : undefined
  const firstTool = asArray(toolConfig?.tools)
    .filter(isObject)
    .map((t) => (isObject(t.toolSpec) ? t.toolSpec : undefined))
    .find((spec) => typeof spec?.name === 'string')

  let text: string | undefined
  let toolUses: Required<FakeToolUse>[] = []
  let stopReason = 'end_turn'
  if (override?.text !== undefined || override?.toolUses !== undefined) {
    text = override.text
    toolUses = (override.toolUses ?? []).map((t) => ({ ...t, toolUseId: t.toolUseId ?? newToolUseId() }))
    stopReason = toolUses.length > 0 ? 'tool_use' : 'end_turn'
  } else if (toolResults.length > 0) {
    text = `Tool result: ${toolResults.map(toolResultText).join(' ')}`
  } else if (firstTool && /weather/i.test(userText)) {
    toolUses = [{ toolUseId: newToolUseId(), name: String(firstTool.name), input: { city: 'Paris' } }]
    stopReason = 'tool_use'
  } else {
    text = `You said: ${userText}`
  }

  if (override?.text === undefined && text !== undefined) {
    const inference = isObject(request.inferenceConfig) ? request.inferenceConfig : {}
    for (const stop of asArray(inference.stopSequences)) {
      if (typeof stop !== 'string' || stop.length === 0) continue
      const at = text.indexOf(stop)
      if (at !== -1) {
        text = text.slice(0, at)
        stopReason = 'stop_sequence'
      }
    }
    const maxTokens = inference.maxTokens
    if (typeof maxTokens === 'number' && countWords(text) > maxTokens) {
      text = text.split(/\s+/).filter(Boolean).slice(0, maxTokens).join(' ')
      stopReason = 'max_tokens'
    }
  }

  const inputTokens = countInputWords(body)
  const outputTokens =
    (text === undefined ? 0 : countWords(text)) +
    toolUses.reduce((n, t) => n + countWords(JSON.stringify(t.input)), 0)
  const usage: BedrockUsage = {
    inputTokens,
    outputTokens,
    totalTokens: inputTokens + outputTokens,
    cacheReadInputTokens: 0,
    cacheWriteInputTokens: 0,
    ...override?.usage,
  }
  if (override?.usage?.totalTokens === undefined) usage.totalTokens = usage.inputTokens + usage.outputTokens
  return { text, toolUses, stopReason: override?.stopReason ?? stopReason, usage }
}

/** Converse response body (protocols.md 1.5). */
export function converseResponseBody(reply: ResolvedReply, latencyMs: number): Record<string, unknown> {
  const content: Record<string, unknown>[] = []
  if (reply.text !== undefined && (reply.text.length > 0 || reply.toolUses.length === 0)) {
    content.push({ text: reply.text })
  }
  for (const t of reply.toolUses)
    content.push({ toolUse: { toolUseId: t.toolUseId, name: t.name, input: t.input } })
  return {
    output: { message: { role: 'assistant', content } },
    stopReason: reply.stopReason,
    usage: reply.usage,
    metrics: { latencyMs },
  }
}

/** Splits text into word-ish deltas that keep their leading whitespace: `You`, ` said:`, ` hi`. */
export function textDeltas(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? []
}

/**
 * ConverseStream events in real Bedrock order (protocols.md 1.6): messageStart; text deltas with no
 * contentBlockStart; contentBlockStop; per tool contentBlockStart + input string fragments (the first
 * one empty, as Anthropic models send) + contentBlockStop; messageStop; metadata (usage) last.
 */
export function converseStreamEvents(reply: ResolvedReply, latencyMs: number): StreamItem[] {
  const events: StreamItem[] = [{ event: 'messageStart', payload: { role: 'assistant' } }]
  let index = 0
  const pieces = reply.text === undefined ? [] : textDeltas(reply.text)
  if (pieces.length > 0) {
    for (const text of pieces) {
      events.push({ event: 'contentBlockDelta', payload: { contentBlockIndex: index, delta: { text } } })
    }
    events.push({ event: 'contentBlockStop', payload: { contentBlockIndex: index } })
    index++
  }
  for (const tool of reply.toolUses) {
    events.push({
      event: 'contentBlockStart',
      payload: {
        contentBlockIndex: index,
        start: { toolUse: { toolUseId: tool.toolUseId, name: tool.name } },
      },
    })
    const json = JSON.stringify(tool.input)
    const fragments = ['']
    for (let i = 0; i < json.length; i += 10) fragments.push(json.slice(i, i + 10))
    for (const input of fragments) {
      events.push({
        event: 'contentBlockDelta',
        payload: { contentBlockIndex: index, delta: { toolUse: { input } } },
      })
    }
    events.push({ event: 'contentBlockStop', payload: { contentBlockIndex: index } })
    index++
  }
  events.push({ event: 'messageStop', payload: { stopReason: reply.stopReason } })
  events.push({ event: 'metadata', payload: { usage: reply.usage, metrics: { latencyMs } } })
  return events
}

export function encodeStreamItem(item: StreamItem): Uint8Array {
  if ('raw' in item) return item.raw
  if ('event' in item) return eventFrame(item.event, item.payload)
  if ('chunk' in item) return chunkFrame(item.chunk)
  if ('exception' in item) return exceptionFrame(item.exception, item.message, item.extra)
  return errorFrame(item.error, item.message)
}

const ALTERNATE =
  'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.'

/** Bedrock-style validation of a Converse body; returns the ValidationException message or undefined. */
export function validateConverseBody(body: unknown): string | undefined {
  if (!isObject(body)) return 'Malformed input request, please reformat your input and try again.'
  const messages = body.messages
  if (!Array.isArray(messages) || messages.length === 0) {
    return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.'
  }
  if (body.system !== undefined && !Array.isArray(body.system)) {
    return 'Malformed input request: #/system: expected type: JSONArray, please reformat your input and try again.'
  }
  let usesTools = false
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i]
    if (!isObject(message)) return `Malformed input request: #/messages/${i}: expected type: JSONObject`
    const role = message.role
    if (role !== 'user' && role !== 'assistant') {
      return `1 validation error detected: Value '${String(role)}' at 'messages.${i + 1}.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]`
    }
    if (i === 0 && role !== 'user') {
      return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.'
    }
    const previous: unknown = messages[i - 1]
    if (i > 0 && isObject(previous) && previous.role === role) return ALTERNATE
    const content = message.content
    if (!Array.isArray(content) || content.length === 0) {
      return `The content field in the Message object at messages.${i}.content is empty. Add a ContentBlock object to the content field and try again.`
    }
    for (let j = 0; j < content.length; j++) {
      const block: unknown = content[j]
      if (!isObject(block) || Object.keys(block).length !== 1) {
        return `Malformed input request: ContentBlock at messages.${i}.content.${j} must set exactly one member, please reformat your input and try again.`
      }
      if ('text' in block) {
        if (typeof block.text !== 'string') {
          return `Malformed input request: #/messages/${i}/content/${j}/text: expected type: String, please reformat your input and try again.`
        }
        if (block.text.trim() === '') {
          return `The text field in the ContentBlock object at messages.${i}.content.${j} is blank. Add text to the text field, and try again.`
        }
      }
      if ('toolUse' in block || 'toolResult' in block) usesTools = true
    }
  }
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] as Record<string, unknown>
    const ids = (key: 'toolUse' | 'toolResult', m: unknown): string[] =>
      asArray(isObject(m) ? m.content : undefined)
        .filter(isObject)
        .map((b) => b[key])
        .filter(isObject)
        .map((t) => String(t.toolUseId))
    const uses = ids('toolUse', message)
    const next: unknown = messages[i + 1]
    if (uses.length > 0 && next !== undefined) {
      const results = ids('toolResult', next)
      const missing = uses.filter((id) => !results.includes(id))
      if (missing.length > 0) {
        return `Expected toolResult blocks at messages.${i + 1}.content for the following Ids: ${missing.join(', ')}`
      }
    }
    const results = ids('toolResult', message)
    if (results.length > 0) {
      const prior = ids('toolUse', messages[i - 1])
      if (results.some((id) => !prior.includes(id))) {
        return `The number of toolResult blocks at messages.${i}.content exceeds the number of toolUse blocks of previous turn.`
      }
    }
  }
  const toolConfig = body.toolConfig
  if (usesTools && toolConfig === undefined) {
    return 'The toolConfig field must be defined when using toolUse and toolResult content blocks.'
  }
  if (toolConfig !== undefined) {
    if (!isObject(toolConfig) || !Array.isArray(toolConfig.tools) || toolConfig.tools.length === 0) {
      return "1 validation error detected: Value '[]' at 'toolConfig.tools' failed to satisfy constraint: Member must have length greater than or equal to 1"
    }
  }
  const inference = body.inferenceConfig
  if (inference !== undefined) {
    if (!isObject(inference)) return 'Malformed input request: #/inferenceConfig: expected type: JSONObject'
    const { maxTokens, temperature, topP } = inference
    if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || (maxTokens as number) < 1)) {
      return `1 validation error detected: Value '${String(maxTokens)}' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1`
    }
    for (const [name, value] of [
      ['temperature', temperature],
      ['topP', topP],
    ] as const) {
      if (value !== undefined && (typeof value !== 'number' || value < 0 || value > 1)) {
        return `1 validation error detected: Value '${String(value)}' at 'inferenceConfig.${name}' failed to satisfy constraint: Member must have value less than or equal to 1`
      }
    }
  }
  return undefined
}

const DEFAULT_CREDENTIALS: FakeCredentials = {
  accessKeyId: 'AKIAFAKEBEDROCK00001',
  secretAccessKey: 'fakeBedrockSecret/Key+0001/wJalrXUtnFEMI',
}

const DEFAULT_TEMP_CREDENTIALS: Required<FakeCredentials> = {
  accessKeyId: 'ASIAFAKEBEDROCK00002',
  secretAccessKey: 'fakeBedrockTempSecret/Key+0002/K7MDENG',
  sessionToken: 'IQoJb3JpZ2luX2VjEFAKE//session+token/for/tests==',
}

export async function startFakeBedrock(options: FakeBedrockOptions = {}): Promise<FakeBedrock> {
  const region = options.region ?? 'us-east-1'
  const maxSkewMs = options.maxSkewMs ?? 5 * 60_000
  const validate = options.validate ?? true
  const isKnownModel = options.isKnownModel ?? ((id: string) => !id.includes('unknown'))
  const { credentialMap, requests, controls, nextScripted, fromHandler } = fakeAwsState<
    RecordedRequest,
    PlanStep,
    FakeBedrockPlan
  >({ credentials: DEFAULT_CREDENTIALS, tempCredentials: DEFAULT_TEMP_CREDENTIALS }, options.credentials)
  const lifecycle = new Lifecycle()

  const send = (
    res: ServerResponse,
    record: RecordedRequest,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    record.status = status
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-amzn-requestid': randomUUID(),
      ...headers,
    })
    res.end(JSON.stringify(body))
  }

  const sendError = (
    res: ServerResponse,
    record: RecordedRequest,
    code: string,
    message: string,
    opts: {
      status?: number
      extra?: Record<string, unknown>
      headers?: Record<string, string>
      omitHeader?: boolean
    } = {},
  ) => {
    const bare = code.split(':')[0] ?? code
    const status = opts.status ?? ERROR_STATUS[bare] ?? 400
    send(
      res,
      record,
      status,
      { message, ...opts.extra },
      {
        ...(opts.omitHeader ? {} : { 'x-amzn-errortype': errorTypeHeader(code) }),
        ...opts.headers,
      },
    )
  }

  const writeStream = async (
    res: ServerResponse,
    record: RecordedRequest,
    items: StreamItem[],
    plan: StreamPlan,
  ) => {
    let frames = items.map(encodeStreamItem)
    let ending: 'end' | 'destroy' | 'hang' = 'end'
    if (plan.exceptionAfter !== undefined) {
      const ex = plan.exception ?? {
        type: 'throttlingException',
        message: 'Too many requests, please wait before trying again.',
      }
      frames = [...frames.slice(0, plan.exceptionAfter), exceptionFrame(ex.type, ex.message, ex.extra)]
    } else if (plan.errorAfter !== undefined) {
      const er = plan.error ?? { code: 'InternalFailure', message: 'An internal error occurred.' }
      frames = [...frames.slice(0, plan.errorAfter), errorFrame(er.code, er.message)]
    }
    if (plan.truncateAfter !== undefined) {
      const n = Math.min(plan.truncateAfter, frames.length - 1)
      const victim = frames[n] ?? eventFrame('messageStart', { role: 'assistant' })
      frames = [...frames.slice(0, n), victim.slice(0, Math.floor(victim.byteLength / 2))]
      ending = plan.truncateMode ?? 'end'
    } else if (plan.hangAfter !== undefined) {
      frames = frames.slice(0, plan.hangAfter)
      ending = 'hang'
    }

    record.status = 200
    res.writeHead(200, {
      'content-type': 'application/vnd.amazon.eventstream',
      'x-amzn-requestid': randomUUID(),
      ...plan.headers,
    })
    res.flushHeaders()

    // Byte offsets where each frame ends, to pause after whole events when eventGapMs is set.
    const frameEnds: number[] = []
    for (const f of frames) frameEnds.push((frameEnds.at(-1) ?? 0) + f.byteLength)
    const pieces =
      plan.split === false ? frames : splitAwkwardly(concatBytes(frames), plan.split ?? AWKWARD_PATTERN)
    let written = 0
    let nextEnd = 0
    for (const piece of pieces) {
      if (isGone(res) || lifecycle.closed) return
      res.write(piece)
      written += piece.byteLength
      await nextTick()
      let crossed = false
      while (nextEnd < frameEnds.length && (frameEnds[nextEnd] ?? 0) <= written) {
        nextEnd++
        crossed = true
      }
      if (crossed && plan.eventGapMs !== undefined && plan.eventGapMs > 0)
        await lifecycle.sleep(plan.eventGapMs)
    }
    if (isGone(res) || lifecycle.closed) return
    if (ending === 'end') res.end()
    else if (ending === 'destroy') res.destroy()
  }

  const perform = async (
    req: IncomingMessage,
    res: ServerResponse,
    record: RecordedRequest,
    plan: FakeBedrockPlan,
    started: number,
  ) => {
    if (plan.type === 'hang') return
    if (plan.delayMs !== undefined) await lifecycle.sleep(plan.delayMs)
    if (isGone(res) || lifecycle.closed) return
    const op = record.operation
    const streaming = op === 'converse-stream' || op === 'invoke-with-response-stream'
    switch (plan.type) {
      case 'reset':
        req.socket.destroy()
        return
      case 'error':
        sendError(
          res,
          record,
          plan.errorType,
          plan.message ?? ERROR_MESSAGE[plan.errorType.split(':')[0] ?? ''] ?? 'Error',
          {
            ...(plan.status === undefined ? {} : { status: plan.status }),
            ...(plan.extra === undefined ? {} : { extra: plan.extra }),
            ...(plan.headers === undefined ? {} : { headers: plan.headers }),
            ...(plan.omitErrorTypeHeader ? { omitHeader: true } : {}),
          },
        )
        return
      case 'json':
        send(res, record, plan.status ?? 200, plan.body, plan.headers)
        return
      case 'stream': {
        const latencyMs = Date.now() - started
        const items =
          plan.events ??
          (op === 'invoke-with-response-stream'
            ? anthropicStreamEvents(
                withAnthropicIds(defaultReplyFor(converseShapeOf(record.body), plan.reply)),
                latencyMs,
              ).map((chunk) => ({ chunk }))
            : converseStreamEvents(defaultReplyFor(record.body, plan.reply), latencyMs))
        await writeStream(res, record, items, plan)
        return
      }
      case 'default':
      case 'reply': {
        if (op === 'invoke' || op === 'invoke-with-response-stream') {
          await invoke(res, record, plan.type === 'reply' ? plan : undefined, started)
          return
        }
        const reply = defaultReplyFor(record.body, plan.type === 'reply' ? plan : undefined)
        const latencyMs = Math.max(1, Date.now() - started)
        if (streaming)
          await writeStream(res, record, converseStreamEvents(reply, latencyMs), { type: 'stream' })
        else send(res, record, 200, converseResponseBody(reply, latencyMs))
        return
      }
    }
  }

  /** InvokeModel(WithResponseStream): Claude's Messages API, or an embedding model (not streamed). */
  const invoke = async (
    res: ServerResponse,
    record: RecordedRequest,
    override: FakeReply | undefined,
    started: number,
  ) => {
    const modelId = record.modelId ?? ''
    const streaming = record.operation === 'invoke-with-response-stream'
    const kind = embeddingKind(modelId)
    if (kind !== undefined) {
      if (streaming) {
        sendError(res, record, 'ValidationException', 'The model is unsupported for streaming.')
        return
      }
      const answer = embeddingAnswer(kind, record.body)
      if ('error' in answer) {
        sendError(res, record, 'ValidationException', answer.error)
        return
      }
      send(res, record, 200, answer.body, {
        'x-amzn-bedrock-input-token-count': String(answer.inputTokens),
        'x-amzn-bedrock-invocation-latency': String(Math.max(1, Date.now() - started)),
      })
      return
    }
    if (!isAnthropicModel(modelId)) {
      sendError(
        res,
        record,
        'ValidationException',
        'Malformed input request: this model family is not implemented by the fake, please reformat your input and try again.',
      )
      return
    }
    const reply = withAnthropicIds(defaultReplyFor(converseShapeOf(record.body), override))
    const latencyMs = Math.max(1, Date.now() - started)
    if (streaming) {
      const items = anthropicStreamEvents(reply, latencyMs).map((chunk) => ({ chunk }))
      await writeStream(res, record, items, {
        type: 'stream',
        headers: { 'x-amzn-bedrock-content-type': 'application/json' },
      })
    } else {
      send(res, record, 200, anthropicResponseBody(reply, modelId), invokeHeaders(reply, latencyMs))
    }
  }

  const nextPlan = (record: RecordedRequest): FakeBedrockPlan => {
    const step = nextScripted()
    if (step !== undefined) {
      const plan = typeof step === 'function' ? step(record) : step
      return plan ?? { type: 'default' }
    }
    return fromHandler(record) ?? { type: 'default' }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const started = Date.now()
    const rawPath = req.url ?? '/'
    const method = req.method ?? 'GET'
    const bodyBytes = await readBody(req)
    const headers = flatHeaders(req)
    const rawBody = Buffer.from(bodyBytes).toString('utf8')
    let body: unknown
    try {
      body = rawBody.length > 0 ? JSON.parse(rawBody) : undefined
    } catch {
      body = undefined
    }
    const record: RecordedRequest = {
      method,
      rawPath,
      headers,
      rawBody,
      body,
      auth: { ok: true },
      receivedAt: started,
    }
    requests.push(record)

    const auth = await verifySigV4(
      { method, rawPath, headers, body: bodyBytes },
      {
        service: 'bedrock',
        ...(options.anyRegion ? {} : { region }),
        credentials: credentialMap,
        maxSkewMs,
        ...(options.now ? { now: options.now } : {}),
      },
    )
    if (auth.accessKeyId !== undefined) record.accessKeyId = auth.accessKeyId
    if (auth.region !== undefined) record.region = auth.region
    if (!auth.ok) {
      record.auth = { ok: false, code: auth.code, message: auth.message }
      sendError(res, record, auth.code, auth.message, { status: auth.status })
      return
    }
    record.signedHeaders = auth.signedHeaders

    const segments = (rawPath.split('?')[0] ?? '').split('/')
    const [lead, model, encodedId, operation] = segments
    if (
      method !== 'POST' ||
      segments.length !== 4 ||
      lead !== '' ||
      model !== 'model' ||
      !encodedId ||
      operation === undefined ||
      !OPERATIONS.has(operation)
    ) {
      sendError(res, record, 'UnknownOperationException', 'Unknown operation', { status: 404 })
      return
    }
    let modelId: string
    try {
      modelId = decodeURIComponent(encodedId)
    } catch {
      sendError(res, record, 'ValidationException', 'The provided model identifier is invalid.')
      return
    }
    record.modelId = modelId
    record.operation = operation as BedrockOperation

    if (body === undefined) {
      sendError(
        res,
        record,
        'ValidationException',
        'Malformed input request, please reformat your input and try again.',
      )
      return
    }
    if (!isKnownModel(modelId)) {
      sendError(res, record, 'ValidationException', 'The provided model identifier is invalid.')
      return
    }
    if (validate && (operation === 'converse' || operation === 'converse-stream')) {
      const problem = validateConverseBody(body)
      if (problem !== undefined) {
        sendError(res, record, 'ValidationException', problem)
        return
      }
    }
    if (validate && operation.startsWith('invoke') && isAnthropicModel(modelId)) {
      const problem = validateAnthropicBody(body)
      if (problem !== undefined) {
        sendError(res, record, 'ValidationException', problem)
        return
      }
    }
    await perform(req, res, record, nextPlan(record), started)
  }

  const started = await listen(handle, lifecycle)
  return { url: started.url, port: started.port, region, ...controls, close: started.close }
}
