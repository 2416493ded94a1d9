import type { HttpResultV1, HttpResultV2 } from './events'

/**
 * Web Responses → buffered Lambda results. Text bodies (text/*, JSON, XML, SSE) travel as UTF-8
 * strings; anything else, or any compressed body, is base64 with `isBase64Encoded: true`.
 */

/** Payload format 2.0: each `Set-Cookie` goes into `cookies`, which Lambda turns back into headers. */
export async function resultV2FromResponse(response: Response): Promise<HttpResultV2> {
  const { headers, cookies } = splitHeaders(response.headers)
  const result: HttpResultV2 = { statusCode: response.status, headers, ...(await encodeBody(response)) }
  if (cookies.length > 0) result.cookies = cookies
  return result
}

/** REST API (payload format 1.0): repeated `Set-Cookie` headers need `multiValueHeaders`. */
export async function resultV1FromResponse(response: Response): Promise<HttpResultV1> {
  const { headers, cookies } = splitHeaders(response.headers)
  const result: HttpResultV1 = { statusCode: response.status, headers, ...(await encodeBody(response)) }
  if (cookies.length > 0) result.multiValueHeaders = { 'set-cookie': cookies }
  return result
}

/** Header map without `set-cookie` (repeated values are already comma-joined by Headers) + the cookies. */
export function splitHeaders(source: Headers): { headers: Record<string, string>; cookies: string[] } {
  const headers: Record<string, string> = {}
  for (const [name, value] of source) if (name !== 'set-cookie') headers[name] = value
  return { headers, cookies: source.getSetCookie() }
}

async function encodeBody(response: Response): Promise<{ body: string; isBase64Encoded: boolean }> {
  if (!response.body) return { body: '', isBase64Encoded: false }
  const bytes = Buffer.from(await response.arrayBuffer())
  if (isText(response.headers)) return { body: bytes.toString('utf8'), isBase64Encoded: false }
  return { body: bytes.toString('base64'), isBase64Encoded: true }
}

function isText(headers: Headers): boolean {
  const encoding = headers.get('content-encoding')
  if (encoding && encoding.toLowerCase() !== 'identity') return false
  const type = (headers.get('content-type') ?? '').toLowerCase()
  if (/charset=(?!"?utf-?8)/.test(type)) return false
  return (
    type.startsWith('text/') ||
    type.includes('json') ||
    type.includes('xml') ||
    type.includes('javascript') ||
    type.startsWith('application/x-www-form-urlencoded')
  )
}
