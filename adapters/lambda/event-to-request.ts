import { type HttpEventV1, type HttpEventV2, isEventV1, isEventV2 } from './events'

/**
 * Lambda HTTP events → web-standard Requests for the portable app. The scheme is always https:
 * Function URLs and API Gateway terminate TLS in front of the function.
 */

/** Payload format 2.0 (HTTP API, Function URL). */
export function requestFromEventV2(event: HttpEventV2, signal?: AbortSignal): Request {
  const headers = new Headers()
  for (const [name, value] of Object.entries(event.headers ?? {}))
    if (value !== undefined) headers.set(name, value)
  // Format 2.0 moves cookies out of the headers into their own array.
  if (event.cookies && event.cookies.length > 0) headers.set('cookie', event.cookies.join('; '))

  const host = headers.get('host') ?? event.requestContext.domainName ?? 'localhost'
  const query = event.rawQueryString ? `?${event.rawQueryString}` : ''
  const url = `https://${host}${stripStage(event.rawPath, event.requestContext.stage)}${query}`
  const method = event.requestContext.http.method.toUpperCase()
  return new Request(url, { method, headers, body: body(method, event.body, event.isBase64Encoded), signal })
}

/** API Gateway REST API proxy events (also HTTP API payload format 1.0). */
export function requestFromEventV1(event: HttpEventV1, signal?: AbortSignal): Request {
  const headers = new Headers()
  for (const [name, value] of Object.entries(event.headers ?? {}))
    if (value !== undefined) headers.set(name, value)
  // multiValueHeaders holds every value of a repeated header; it wins over the single-value map.
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (values === undefined || values.length === 0) continue
    headers.delete(name)
    for (const value of values) headers.append(name, value)
  }

  const query = new URLSearchParams()
  const multi = event.multiValueQueryStringParameters
  if (multi) {
    for (const [name, values] of Object.entries(multi)) for (const v of values ?? []) query.append(name, v)
  } else {
    for (const [name, value] of Object.entries(event.queryStringParameters ?? {}))
      if (value !== undefined) query.append(name, value)
  }

  const host = headers.get('host') ?? event.requestContext?.domainName ?? 'localhost'
  const search = query.toString() ? `?${query}` : ''
  const method = event.httpMethod.toUpperCase()
  return new Request(`https://${host}${event.path}${search}`, {
    method,
    headers,
    body: body(method, event.body ?? undefined, event.isBase64Encoded),
    signal,
  })
}

function body(method: string, text: string | undefined, isBase64: boolean | undefined): BodyInit | undefined {
  if (method === 'GET' || method === 'HEAD' || text === undefined || text === '') return undefined
  return isBase64 ? Buffer.from(text, 'base64') : text
}

/** An HTTP API with a named stage puts it in front of the path; the app's routes do not expect it. */
function stripStage(path: string, stage: string | undefined): string {
  if (!stage || stage === '$default') return path
  const prefix = `/${stage}`
  if (path === prefix) return '/'
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : path
}

/** Any supported HTTP event → Request, plus the payload format the result must use. */
export function requestFromEvent(
  event: unknown,
  signal?: AbortSignal,
): { request: Request; format: 'v1' | 'v2' } {
  if (isEventV2(event)) return { request: requestFromEventV2(event, signal), format: 'v2' }
  if (isEventV1(event)) return { request: requestFromEventV1(event, signal), format: 'v1' }
  throw new TypeError(
    'multillm-proxy: unsupported Lambda event; expected a Function URL, HTTP API (payload 1.0 or 2.0) or REST API proxy event',
  )
}
