/**
 * The few Lambda event and result shapes the adapter reads (no `@types/aws-lambda` dependency).
 * Only fields the adapter uses are declared; AWS sends more.
 */

/** Payload format 2.0: HTTP API and Function URL events. */
export interface HttpEventV2 {
  version: '2.0'
  rawPath: string
  rawQueryString?: string
  cookies?: string[]
  headers?: Record<string, string | undefined>
  requestContext: {
    domainName?: string
    stage?: string
    http: { method: string; path?: string; sourceIp?: string }
  }
  body?: string
  isBase64Encoded?: boolean
}

/** API Gateway REST API (and HTTP API payload format 1.0) proxy events. */
export interface HttpEventV1 {
  version?: '1.0'
  httpMethod: string
  path: string
  headers?: Record<string, string | undefined> | null
  multiValueHeaders?: Record<string, string[] | undefined> | null
  queryStringParameters?: Record<string, string | undefined> | null
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null
  requestContext?: { domainName?: string; stage?: string }
  body?: string | null
  isBase64Encoded?: boolean
}

export type HttpEvent = HttpEventV2 | HttpEventV1

export interface HttpResultV2 {
  statusCode: number
  headers: Record<string, string>
  cookies?: string[]
  body: string
  isBase64Encoded: boolean
}

export interface HttpResultV1 {
  statusCode: number
  headers: Record<string, string>
  multiValueHeaders?: Record<string, string[]>
  body: string
  isBase64Encoded: boolean
}

/** The part of the Lambda context object the adapter uses. */
export interface LambdaContext {
  awsRequestId?: string
}

export function isEventV2(event: unknown): event is HttpEventV2 {
  if (!isRecord(event) || event.version !== '2.0' || typeof event.rawPath !== 'string') return false
  const ctx = event.requestContext
  return isRecord(ctx) && isRecord(ctx.http) && typeof ctx.http.method === 'string'
}

export function isEventV1(event: unknown): event is HttpEventV1 {
  return isRecord(event) && typeof event.httpMethod === 'string' && typeof event.path === 'string'
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
