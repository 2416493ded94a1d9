/**
 * Local fake of Amazon SageMaker Runtime (protocols.md 3): SigV4-verified (service `sagemaker`,
 * ±5 min), InvokeEndpoint and InvokeEndpointWithResponseStream on the raw path, and per endpoint
 * name a scriptable model container:
 * - `tgi`: Hugging Face TGI's generate API (`{inputs, parameters, stream}` → `[{"generated_text"}]`,
 *   SSE `data:{"token":…}` streams), with TGI's input validation answered as SageMaker's 424 ModelError;
 * - `lmi`: DJL LMI's rolling-batch schema (bare `{"generated_text"}` object, JSON Lines streams);
 * - `messages`: an OpenAI Messages-API container (TGI Messages / LMI / vLLM), tools included.
 * Streams are real event-stream `PayloadPart` frames whose payload bytes cut the container's lines
 * mid-line and mid-UTF-8 character, written to the socket in awkward pieces again.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec'
import { fromUtf8, toUtf8 } from '@smithy/util-utf8'
import { AWKWARD_PATTERN, concatBytes, splitAwkwardly } from './event-stream'
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

export type ContainerKind = 'tgi' | 'lmi' | 'messages'
export type SagemakerOperation = 'invocations' | 'invocations-response-stream'

export interface FakeEndpoint {
  kind: ContainerKind
  /** The answer text; default: `You said: <last user text>` (messages) or a fixed greeting (tgi/lmi). */
  reply?: string | ((body: Record<string, unknown>) => string)
  /** Endpoint hosts inference components: the header is required and must name one of these. */
  inferenceComponents?: string[]
  /** Wait this long before answering (every call). */
  delayMs?: number
  /** Messages containers: `tgi` speaks TGI's dialect (finish `eos_token`, tool arguments as objects). */
  dialect?: 'openai' | 'tgi'
}

/** A fixed TGI answer with multi-byte characters, so split PayloadParts cut UTF-8 sequences. */
export const DEFAULT_TGI_REPLY = 'Hello! Ça va? Grüße aus Köln 👋🏽 — 你好。'

export type FakeSagemakerPlan = { delayMs?: number } & (
  | { type: 'default' }
  /** A SageMaker error answered over HTTP (`x-amzn-ErrorType`, `{"Message"}`). */
  | { type: 'error'; errorType: string; status?: number; message?: string; extra?: Record<string, unknown> }
  /** 424 ModelError wrapping the container's own error. */
  | { type: 'model-error'; originalStatus: number; originalMessage: string }
  /** Stream: after this many PayloadParts, an exception frame, then the body ends. */
  | {
      type: 'stream-exception'
      afterParts: number
      exception: 'ModelStreamError' | 'InternalStreamFailure'
      message: string
      errorCode?: string
    }
  /** Stream: the container's raw bytes as given (still framed and split). */
  | { type: 'stream-raw'; payload: string }
  | { type: 'hang' }
)

export type PlanStep = FakeSagemakerPlan | ((req: RecordedRequest) => FakeSagemakerPlan | undefined)

export interface RecordedRequest {
  method: string
  rawPath: string
  endpoint?: string
  operation?: SagemakerOperation
  headers: Record<string, string>
  rawBody: string
  body: unknown
  region?: string
  accessKeyId?: string
  auth: { ok: true } | { ok: false; code: string; message: string }
  inferenceComponent?: string
  customAttributes?: string
  status?: number
  receivedAt: number
}

export interface FakeSagemakerOptions {
  endpoints: Record<string, FakeEndpoint>
  /** Default `us-west-2`; the credential scope must name it unless `anyRegion`. */
  region?: string
  anyRegion?: boolean
  credentials?: FakeCredentials[]
  maxSkewMs?: number
  /** PayloadPart sizes in bytes, cycled (default cuts lines and characters). */
  payloadSplit?: readonly number[]
  /** Socket write sizes; `false` writes whole frames. Default AWKWARD_PATTERN. */
  split?: readonly number[] | false
}

export interface FakeSagemaker extends FakeAwsControls<RecordedRequest, PlanStep, FakeSagemakerPlan> {
  url: string
  port: number
  region: string
  endpoints: Record<string, FakeEndpoint>
  close(): Promise<void>
}

const ACCOUNT = '123456789012'
const DEFAULT_PAYLOAD_SPLIT: readonly number[] = [5, 17, 3, 31, 1, 11, 2, 23]

const DEFAULT_CREDENTIALS: FakeCredentials = {
  accessKeyId: 'AKIAFAKESAGEMAKER001',
  secretAccessKey: 'fakeSagemakerSecret/Key+0001/wJalrXUtnF',
}
const DEFAULT_TEMP_CREDENTIALS: Required<FakeCredentials> = {
  accessKeyId: 'ASIAFAKESAGEMAKER002',
  secretAccessKey: 'fakeSagemakerTempSecret/Key+0002/K7MDEN',
  sessionToken: 'IQoJb3JpZ2luX2VjEFAKE//sagemaker+session/token==',
}

const ERROR_STATUS: Record<string, number> = {
  ValidationError: 400,
  ModelError: 424,
  ModelNotReadyException: 429,
  ThrottlingException: 429,
  AccessDeniedException: 403,
  InternalFailure: 500,
  ServiceUnavailable: 503,
  InternalDependencyException: 530,
}

const codec = new EventStreamCodec(toUtf8, fromUtf8)
const str = (value: string) => ({ type: 'string' as const, value })
const encodeFrame = (headers: MessageHeaders, body: Uint8Array): Uint8Array => codec.encode({ headers, body })

/** `PayloadPart` event: the container's raw bytes, no JSON wrapping, no base64. */
export function payloadPartFrame(bytes: Uint8Array): Uint8Array {
  return encodeFrame(
    {
      ':event-type': str('PayloadPart'),
      ':content-type': str('application/octet-stream'),
      ':message-type': str('event'),
    },
    bytes,
  )
}

/** `ModelStreamError` / `InternalStreamFailure` exception frame with SageMaker's capitalised members. */
export function sagemakerExceptionFrame(type: string, message: string, errorCode?: string): Uint8Array {
  return encodeFrame(
    {
      ':exception-type': str(type),
      ':content-type': str('application/json'),
      ':message-type': str('exception'),
    },
    fromUtf8(
      JSON.stringify(
        errorCode === undefined ? { Message: message } : { Message: message, ErrorCode: errorCode },
      ),
    ),
  )
}

/** Splits bytes into pieces whose sizes cycle through `pattern`. */
export function splitBytes(bytes: Uint8Array, pattern: readonly number[]): Uint8Array[] {
  return splitAwkwardly(bytes, pattern)
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** Word-ish pieces keeping their leading whitespace: the fake's "tokens". */
export function tokenPieces(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? []
}

function messageText(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    return content.map((p) => (isRecord(p) && typeof p.text === 'string' ? p.text : '')).join('')
  }
  return ''
}

const words = (text: string): number => text.split(/\s+/).filter(Boolean).length

interface Generated {
  text: string
  finish: 'eos_token' | 'length' | 'stop_sequence'
  tokens: number
}

/** TGI's generation limits applied to a reply: stop sequences, then max_new_tokens. */
function generate(reply: string, parameters: Record<string, unknown>): Generated {
  let text = reply
  let finish: Generated['finish'] = 'eos_token'
  for (const stop of Array.isArray(parameters.stop) ? parameters.stop : []) {
    if (typeof stop !== 'string' || stop === '') continue
    const at = text.indexOf(stop)
    if (at !== -1) {
      text = text.slice(0, at + stop.length)
      finish = 'stop_sequence'
    }
  }
  const max = parameters.max_new_tokens
  const pieces = tokenPieces(text)
  if (typeof max === 'number' && pieces.length > max) {
    text = pieces.slice(0, max).join('')
    finish = 'length'
  }
  return { text, finish, tokens: Math.min(pieces.length, typeof max === 'number' ? max : pieces.length) }
}

/** TGI's input validation (router/src/validation.rs), as the 422 it answers with. */
function tgiValidation(body: Record<string, unknown>): string | undefined {
  if (typeof body.inputs !== 'string')
    return 'Failed to deserialize the JSON body into the target type: missing field `inputs`'
  if (body.inputs === '') return 'Input validation error: `inputs` cannot be empty'
  const p = isRecord(body.parameters) ? body.parameters : {}
  if (p.temperature !== undefined && !(typeof p.temperature === 'number' && p.temperature > 0)) {
    return 'Input validation error: `temperature` must be strictly positive'
  }
  if (p.top_p !== undefined && !(typeof p.top_p === 'number' && p.top_p > 0 && p.top_p < 1)) {
    return 'Input validation error: `top_p` must be > 0.0 and < 1.0'
  }
  if (p.max_new_tokens !== undefined && !(typeof p.max_new_tokens === 'number' && p.max_new_tokens >= 1)) {
    return 'Input validation error: `max_new_tokens` must be strictly positive'
  }
  if (Array.isArray(p.stop) && p.stop.length > 4) {
    return 'Input validation error: `stop` supports up to 4 stop sequences. Given: 5'
  }
  return undefined
}

function lastUserText(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : []
  const user = [...messages].reverse().find((m) => m.role === 'user')
  return messageText(user?.content)
}

interface MessagesAnswer {
  text: string | null
  toolCalls: Array<{ id: string; name: string; arguments: unknown }>
  finish: string
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number }
}

/** What the Messages-API fake answers (same rules as the Bedrock fake's default reply). */
function messagesAnswer(endpoint: FakeEndpoint, body: Record<string, unknown>): MessagesAnswer {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : []
  const last = messages[messages.length - 1]
  const tools = Array.isArray(body.tools) ? body.tools.filter(isRecord) : []
  const firstTool = tools
    .map((t) => (isRecord(t.function) ? t.function : undefined))
    .find((f) => typeof f?.name === 'string')
  const tgi = endpoint.dialect === 'tgi'
  let text: string | null
  let toolCalls: MessagesAnswer['toolCalls'] = []
  if (endpoint.reply !== undefined) {
    text = typeof endpoint.reply === 'string' ? endpoint.reply : endpoint.reply(body)
  } else if (last?.role === 'tool') {
    text = `Tool result: ${messageText(last.content)}`
  } else if (firstTool && body.tool_choice !== 'none' && /weather/i.test(lastUserText(body))) {
    text = null
    toolCalls = [
      {
        id: tgi ? '0' : `call_${randomUUID().slice(0, 8)}`,
        name: String(firstTool.name),
        arguments: { city: 'Paris' },
      },
    ]
  } else {
    text = `You said: ${lastUserText(body)}`
  }
  let finish = toolCalls.length > 0 ? 'tool_calls' : tgi ? 'eos_token' : 'stop'
  if (text !== null && typeof body.max_tokens === 'number') {
    const pieces = tokenPieces(text)
    if (pieces.length > body.max_tokens) {
      text = pieces.slice(0, body.max_tokens).join('')
      finish = 'length'
    }
  }
  const prompt = messages.reduce((n, m) => n + words(messageText(m.content)), 0)
  const completion =
    (text === null ? 0 : words(text)) + toolCalls.reduce((n, c) => n + words(JSON.stringify(c.arguments)), 0)
  return {
    text,
    toolCalls,
    finish,
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
  }
}

function chatCompletion(
  endpoint: FakeEndpoint,
  model: string,
  answer: MessagesAnswer,
): Record<string, unknown> {
  const tgi = endpoint.dialect === 'tgi'
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: '2.4.0-native',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: answer.text,
          ...(answer.toolCalls.length > 0
            ? {
                tool_calls: answer.toolCalls.map((c) => ({
                  id: c.id,
                  type: 'function',
                  function: tgi
                    ? { description: null, name: c.name, arguments: c.arguments }
                    : { name: c.name, arguments: JSON.stringify(c.arguments) },
                })),
              }
            : {}),
        },
        logprobs: null,
        finish_reason: answer.finish,
      },
    ],
    usage: answer.usage,
  }
}

/** SSE text of a Messages-API stream: role chunk, content/tool chunks, finish, usage, [DONE]. */
function messagesStreamText(
  endpoint: FakeEndpoint,
  model: string,
  answer: MessagesAnswer,
  includeUsage: boolean,
): string {
  const id = `chatcmpl-${randomUUID()}`
  const created = Math.floor(Date.now() / 1000)
  const tgi = endpoint.dialect === 'tgi'
  const chunk = (delta: Record<string, unknown>, finish: string | null, usage?: unknown) =>
    `data: ${JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      system_fingerprint: null,
      choices: usage === undefined ? [{ index: 0, delta, logprobs: null, finish_reason: finish }] : [],
      ...(usage === undefined ? {} : { usage }),
    })}\n\n`
  let out = chunk({ role: 'assistant', content: '' }, null)
  for (const piece of answer.text === null ? [] : tokenPieces(answer.text))
    out += chunk({ content: piece }, null)
  answer.toolCalls.forEach((call, index) => {
    const first = { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }
    out += chunk({ tool_calls: tgi ? first : [first] }, null)
    const json = JSON.stringify(call.arguments)
    for (let i = 0; i < json.length; i += 7) {
      const piece = { index, function: { arguments: json.slice(i, i + 7) } }
      out += chunk({ tool_calls: tgi ? piece : [piece] }, null)
    }
  })
  out += chunk({}, answer.finish)
  if (includeUsage) out += chunk({}, null, answer.usage)
  return `${out}data: [DONE]\n\n`
}

/** TGI's SSE: one event per token (no space after `data:`), the last one the special EOS token with the full text. */
function tgiStreamText(generated: Generated, details: boolean, promptChars: number): string {
  const pieces = tokenPieces(generated.text)
  let out = ''
  pieces.forEach((text, i) => {
    out += `data:${JSON.stringify({ index: i + 1, token: { id: 1000 + i, text, logprob: -0.25, special: false }, generated_text: null, details: null })}\n\n`
  })
  const finalDetails = details
    ? {
        finish_reason: generated.finish,
        generated_tokens: generated.tokens + 1,
        seed: null,
        input_length: Math.ceil(promptChars / 4),
      }
    : null
  out += `data:${JSON.stringify({
    index: pieces.length + 1,
    token: { id: 2, text: '</s>', logprob: 0, special: true },
    generated_text: generated.text,
    details: finalDetails,
  })}\n\n`
  return out
}

/** LMI's JSON Lines stream: `{"token": …}` per line, the last line also with `generated_text`. */
function lmiStreamText(generated: Generated): string {
  const pieces = tokenPieces(generated.text)
  return pieces
    .map((text, i) => {
      const last = i === pieces.length - 1
      return `${JSON.stringify({ token: { id: 1000 + i, text, log_prob: -0.3 }, ...(last ? { generated_text: generated.text } : {}) })}\n`
    })
    .join('')
}

export async function startFakeSagemaker(options: FakeSagemakerOptions): Promise<FakeSagemaker> {
  const region = options.region ?? 'us-west-2'
  const maxSkewMs = options.maxSkewMs ?? 5 * 60_000
  const endpoints = options.endpoints
  const { credentialMap, requests, controls, nextScripted, fromHandler } = fakeAwsState<
    RecordedRequest,
    PlanStep,
    FakeSagemakerPlan
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
    status?: number,
    extra: Record<string, unknown> = {},
  ) => {
    send(
      res,
      record,
      status ?? ERROR_STATUS[code] ?? 400,
      { Message: message, ...extra },
      {
        'x-amzn-errortype': `${code}:http://internal.amazon.com/coral/com.amazon.sagemaker/`,
      },
    )
  }

  const modelError = (
    res: ServerResponse,
    record: RecordedRequest,
    originalStatus: number,
    originalMessage: string,
  ) => {
    sendError(
      res,
      record,
      'ModelError',
      `Received client error (${originalStatus}) from primary with message "${originalMessage}". See https://us-west-2.console.aws.amazon.com/cloudwatch/home?region=us-west-2#logEventViewer:group=/aws/sagemaker/Endpoints/${record.endpoint} in account ${ACCOUNT} for more information.`,
      424,
      {
        ErrorCode: originalStatus < 500 ? 'CLIENT_ERROR_FROM_MODEL' : 'SERVER_ERROR_FROM_MODEL',
        LogStreamArn: `arn:aws:logs:${region}:${ACCOUNT}:log-group:/aws/sagemaker/Endpoints/${record.endpoint}`,
        OriginalMessage: originalMessage,
        OriginalStatusCode: originalStatus,
      },
    )
  }

  const writeStream = async (
    res: ServerResponse,
    record: RecordedRequest,
    containerText: string,
    contentType: string,
    exception?: { afterParts: number; type: string; message: string; errorCode?: string },
  ) => {
    const parts = splitBytes(
      new TextEncoder().encode(containerText),
      options.payloadSplit ?? DEFAULT_PAYLOAD_SPLIT,
    )
    let frames = parts.map(payloadPartFrame)
    if (exception) {
      frames = [
        ...frames.slice(0, exception.afterParts),
        sagemakerExceptionFrame(exception.type, exception.message, exception.errorCode),
      ]
    }
    record.status = 200
    res.writeHead(200, {
      'content-type': 'application/vnd.amazon.eventstream',
      'x-amzn-sagemaker-content-type': contentType,
      'x-amzn-invoked-production-variant': 'AllTraffic',
      'x-amzn-requestid': randomUUID(),
    })
    res.flushHeaders()
    const pieces =
      options.split === false ? frames : splitAwkwardly(concatBytes(frames), options.split ?? AWKWARD_PATTERN)
    for (const piece of pieces) {
      if (isGone(res) || lifecycle.closed) return
      res.write(piece)
      await nextTick()
    }
    if (!isGone(res)) res.end()
  }

  const answer = async (
    res: ServerResponse,
    record: RecordedRequest,
    endpoint: FakeEndpoint,
    body: Record<string, unknown>,
    plan: FakeSagemakerPlan,
  ) => {
    const streaming = record.operation === 'invocations-response-stream'
    if (plan.type === 'error') {
      sendError(
        res,
        record,
        plan.errorType,
        plan.message ?? `${plan.errorType} from the fake`,
        plan.status,
        plan.extra,
      )
      return
    }
    if (plan.type === 'model-error') {
      modelError(res, record, plan.originalStatus, plan.originalMessage)
      return
    }
    const exception =
      plan.type === 'stream-exception'
        ? {
            afterParts: plan.afterParts,
            type: plan.exception,
            message: plan.message,
            errorCode: plan.errorCode,
          }
        : undefined
    if (plan.type === 'stream-raw') {
      await writeStream(res, record, plan.payload, 'text/event-stream')
      return
    }
    if (endpoint.kind === 'messages') {
      if (!Array.isArray(body.messages)) {
        modelError(
          res,
          record,
          422,
          '{"error":"Failed to deserialize the JSON body into the target type: missing field `messages`","error_type":"validation"}',
        )
        return
      }
      const model = typeof body.model === 'string' ? body.model : 'tgi'
      const result = messagesAnswer(endpoint, body)
      if (streaming) {
        const options = isRecord(body.stream_options) ? body.stream_options : {}
        await writeStream(
          res,
          record,
          messagesStreamText(endpoint, model, result, options.include_usage === true),
          'text/event-stream',
          exception,
        )
      } else {
        send(res, record, 200, chatCompletion(endpoint, model, result), {
          'x-amzn-invoked-production-variant': 'AllTraffic',
        })
      }
      return
    }
    const problem = tgiValidation(body)
    if (problem !== undefined) {
      modelError(res, record, 422, JSON.stringify({ error: problem, error_type: 'validation' }))
      return
    }
    const parameters = isRecord(body.parameters) ? body.parameters : {}
    const reply =
      endpoint.reply === undefined
        ? DEFAULT_TGI_REPLY
        : typeof endpoint.reply === 'string'
          ? endpoint.reply
          : endpoint.reply(body)
    const generated = generate(reply, parameters)
    const fullText =
      parameters.return_full_text === true ? `${String(body.inputs)}${generated.text}` : generated.text
    if (streaming) {
      if (body.stream !== true) {
        // TGI decides from the body: without "stream": true the whole answer comes as one payload.
        await writeStream(
          res,
          record,
          JSON.stringify([{ generated_text: fullText }]),
          'application/json',
          exception,
        )
      } else if (endpoint.kind === 'lmi') {
        await writeStream(res, record, lmiStreamText(generated), 'application/jsonlines', exception)
      } else {
        await writeStream(
          res,
          record,
          tgiStreamText(generated, parameters.details === true, String(body.inputs).length),
          'text/event-stream',
          exception,
        )
      }
      return
    }
    const details =
      parameters.details === true
        ? { finish_reason: generated.finish, generated_tokens: generated.tokens, seed: null }
        : undefined
    const choice = { generated_text: fullText, ...(details ? { details } : {}) }
    send(res, record, 200, endpoint.kind === 'lmi' ? choice : [choice], {
      'x-amzn-invoked-production-variant': 'AllTraffic',
    })
  }

  const nextPlan = (record: RecordedRequest): FakeSagemakerPlan => {
    const step = nextScripted()
    if (step !== undefined) return (typeof step === 'function' ? step(record) : step) ?? { type: 'default' }
    return fromHandler(record) ?? { type: 'default' }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
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
      receivedAt: Date.now(),
    }
    if (headers['x-amzn-sagemaker-inference-component'] !== undefined) {
      record.inferenceComponent = headers['x-amzn-sagemaker-inference-component']
    }
    if (headers['x-amzn-sagemaker-custom-attributes'] !== undefined) {
      record.customAttributes = headers['x-amzn-sagemaker-custom-attributes']
    }
    requests.push(record)

    const auth = await verifySigV4(
      { method, rawPath, headers, body: bodyBytes },
      {
        service: 'sagemaker',
        ...(options.anyRegion ? {} : { region }),
        credentials: credentialMap,
        maxSkewMs,
      },
    )
    if (auth.accessKeyId !== undefined) record.accessKeyId = auth.accessKeyId
    if (auth.region !== undefined) record.region = auth.region
    if (!auth.ok) {
      record.auth = { ok: false, code: auth.code, message: auth.message }
      sendError(res, record, auth.code, auth.message, auth.status)
      return
    }

    const match = /^\/endpoints\/([^/?]+)\/(invocations|invocations-response-stream)$/.exec(
      rawPath.split('?')[0] ?? '',
    )
    if (method !== 'POST' || !match) {
      sendError(res, record, 'UnknownOperationException', 'Unknown operation', 404)
      return
    }
    const name = decodeURIComponent(match[1] ?? '')
    record.endpoint = name
    record.operation = match[2] as SagemakerOperation
    const endpoint = endpoints[name]
    if (!endpoint) {
      sendError(res, record, 'ValidationError', `Endpoint ${name} of account ${ACCOUNT} not found.`)
      return
    }
    const components = endpoint.inferenceComponents
    if (components && record.inferenceComponent === undefined) {
      sendError(
        res,
        record,
        'ValidationError',
        'Inference Component Name header is required for endpoints to which you plan to deploy inference components. Please include Inference Component Name header or consider using SageMaker models.',
      )
      return
    }
    if (!components && record.inferenceComponent !== undefined) {
      sendError(
        res,
        record,
        'ValidationError',
        'Inference Component Name header is not allowed for endpoints to which you dont plan to deploy inference components. Please remove the Inference Component Name header and try again.',
      )
      return
    }
    if (
      components &&
      record.inferenceComponent !== undefined &&
      !components.includes(record.inferenceComponent)
    ) {
      sendError(
        res,
        record,
        'ValidationError',
        `Inference Component ${record.inferenceComponent} not found for endpoint ${name}.`,
      )
      return
    }
    if (!isRecord(body)) {
      modelError(
        res,
        record,
        422,
        '{"error":"Failed to parse the request body as JSON","error_type":"validation"}',
      )
      return
    }
    const plan = nextPlan(record)
    if (plan.type === 'hang') return
    const delay = (plan.delayMs ?? 0) + (endpoint.delayMs ?? 0)
    if (delay > 0) await lifecycle.sleep(delay)
    if (isGone(res) || lifecycle.closed) return
    await answer(res, record, endpoint, body, plan)
  }

  const started = await listen(handle, lifecycle)
  return { url: started.url, port: started.port, region, endpoints, ...controls, close: started.close }
}
