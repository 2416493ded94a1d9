import { GatewayError } from '../errors'
import { pythonLiteralsToJson } from './python-literals'

/**
 * Reads a JSON request body with a hard size cap, without buffering more than the cap.
 *
 * Strict JSON first; if that fails, a second try with Python literals rewritten (see
 * python-literals.ts). Anything else is a 400 that says where parsing failed.
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const text = await readText(request, maxBytes)
  if (text.trim() === '') throw invalidJson('Request body is empty; expected a JSON object.')
  const body = parse(text)
  if (exceedsDepth(body, MAX_DEPTH))
    throw invalidJson(`Request body is nested too deeply (more than ${MAX_DEPTH} levels).`)
  return body
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (strictError) {
    try {
      return JSON.parse(pythonLiteralsToJson(text))
    } catch {
      throw invalidJson(`Request body is not valid JSON: ${(strictError as Error).message}`)
    }
  }
}

/**
 * JSON.parse copes with deep nesting, but everything after it that recurses (JSON.stringify of tool
 * parameters, schema conversion) overflows the stack: 20 000 nested `[` fit in 40 KB and ended as a
 * RangeError → 500. No real request nests anywhere near this deep.
 */
const MAX_DEPTH = 64

/**
 * Iterative on purpose: a recursive walk would overflow on exactly the input it guards against.
 * Only objects and arrays are visited; strings and numbers cost nothing.
 */
function exceedsDepth(root: unknown, maxDepth: number): boolean {
  const stack: [value: object, depth: number][] = []
  if (typeof root === 'object' && root !== null) stack.push([root, 1])
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const [value, depth] = entry
    if (depth > maxDepth) return true
    const children: unknown[] = Array.isArray(value) ? value : Object.values(value)
    for (const child of children)
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1])
  }
  return false
}

async function readText(request: Request, maxBytes: number): Promise<string> {
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes)
  // With a Content-Length the runtime cannot deliver more than it declared, so the fast path is safe.
  if (declared !== null || request.body === null) return request.text()
  const reader = request.body.getReader()
  const decoder = new TextDecoder()
  let size = 0
  let text = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return text + decoder.decode()
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel()
      throw tooLarge(maxBytes)
    }
    text += decoder.decode(value, { stream: true })
  }
}

const invalidJson = (message: string) => new GatewayError({ status: 400, message, origin: 'client' })

const tooLarge = (maxBytes: number) =>
  new GatewayError({
    status: 413,
    message: `Request body is larger than the limit of ${maxBytes} bytes (general_settings.max_request_size_mb).`,
    origin: 'client',
  })
