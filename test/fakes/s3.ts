/**
 * Local fake of S3 GetObject / HeadObject, path-style (`/{bucket}/{key}`), for config loading
 * (protocols.md 6). SigV4-verified with service `s3` (single-encoded path, ±15 min), checks
 * `x-amz-content-sha256`, answers errors in S3's XML dialect.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  type FakeAwsControls,
  type FakeCredentials,
  fakeAwsState,
  flatHeaders,
  isGone,
  Lifecycle,
  listen,
  readBody,
} from './http-util'
import { rfc3986, type SigV4Failure, sha256Hex, verifySigV4 } from './sigv4-verifier'

export type { FakeCredentials } from './http-util'

export interface FakeS3Options {
  /** Default `us-east-1`; the credential scope must name it. */
  region?: string
  /** Extra credential sets accepted besides the built-in long-term and temporary ones. */
  credentials?: FakeCredentials[]
  /** Default 15 minutes (S3's 900,000 ms). */
  maxSkewMs?: number
  now?: () => number
}

export type FakeS3Plan =
  | { type: 'default'; delayMs?: number }
  | { type: 'error'; status: number; code: string; message?: string; delayMs?: number }
  /** Never answer. */
  | { type: 'hang' }
  /** Destroy the connection without an answer. */
  | { type: 'reset'; delayMs?: number }

export interface S3RecordedRequest {
  method: string
  rawPath: string
  /** Decoded bucket and key, when the path has them. */
  bucket?: string
  key?: string
  headers: Record<string, string>
  accessKeyId?: string
  region?: string
  auth: { ok: true } | { ok: false; code: string; message: string }
  status?: number
  receivedAt: number
}

export interface StoredObject {
  body: Uint8Array
  /** Quoted, as S3 sends it: `"<md5 hex>"`. */
  etag: string
  contentType: string
  lastModified: Date
}

/** `script()` queues responses for the next authenticated requests; `reset()` keeps the objects. */
export interface FakeS3 extends FakeAwsControls<S3RecordedRequest, FakeS3Plan, FakeS3Plan> {
  url: string
  port: number
  region: string
  createBucket(bucket: string): void
  /** Seeds an object (creating the bucket); returns its quoted ETag. */
  putObject(
    bucket: string,
    key: string,
    body: string | Uint8Array,
    opts?: { contentType?: string; lastModified?: Date },
  ): { etag: string }
  deleteObject(bucket: string, key: string): void
  close(): Promise<void>
}

const DEFAULT_CREDENTIALS: FakeCredentials = {
  accessKeyId: 'AKIAFAKES3000000001',
  secretAccessKey: 'fakeS3Secret/Key+0001/bPxRfiCYEXAMPLEKEY',
}

const DEFAULT_TEMP_CREDENTIALS: Required<FakeCredentials> = {
  accessKeyId: 'ASIAFAKES3000000002',
  secretAccessKey: 'fakeS3TempSecret/Key+0002',
  sessionToken: 'IQoJb3JpZ2luX2VjEFAKE//s3+session/token==',
}

function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

export function s3ErrorXml(code: string, message: string, fields: Record<string, string> = {}): string {
  const extra = Object.entries(fields)
    .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
    .join('')
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message>${extra}` +
    `<RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId>` +
    `<HostId>${randomBytes(48).toString('base64')}</HostId></Error>`
  )
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value)
  } catch {
    return undefined
  }
}

/** Maps a SigV4 failure to the S3 error S3 itself would send. */
function s3AuthError(
  fail: SigV4Failure,
  fakeRegion: string,
  now: number,
): { status: number; code: string; message: string; fields: Record<string, string> } {
  const malformed = (message: string, fields: Record<string, string> = {}) => ({
    status: 400,
    code: 'AuthorizationHeaderMalformed',
    message: `The authorization header is malformed; ${message}`,
    fields,
  })
  switch (fail.reason) {
    case 'missing':
      return { status: 403, code: 'AccessDenied', message: 'Access Denied', fields: {} }
    case 'missing-date':
    case 'bad-date':
      return {
        status: 403,
        code: 'AccessDenied',
        message: 'AWS authentication requires a valid Date or x-amz-date header',
        fields: {},
      }
    case 'expired':
    case 'not-yet-current':
      return {
        status: 403,
        code: 'RequestTimeTooSkewed',
        message: 'The difference between the request time and the current time is too large.',
        fields: {
          RequestTime: fail.amzDate ?? '',
          ServerTime: new Date(now).toISOString(),
          MaxAllowedSkewMilliseconds: '900000',
        },
      }
    case 'service':
      return malformed(`incorrect service "${fail.service ?? ''}". This endpoint belongs to "s3".`)
    case 'region':
      return malformed(`the region '${fail.region ?? ''}' is wrong; expecting '${fakeRegion}'`, {
        Region: fakeRegion,
      })
    case 'scope-date':
      return malformed('Invalid credential date. Date is not the same as X-Amz-Date.')
    case 'unknown-key':
      // Real S3 says InvalidAccessKeyId here; this fake answers AccessDenied (same 403).
      return {
        status: 403,
        code: 'AccessDenied',
        message: 'Access Denied',
        fields: { AWSAccessKeyId: fail.accessKeyId ?? '' },
      }
    case 'token':
      return {
        status: 400,
        code: 'InvalidToken',
        message: 'The provided token is malformed or otherwise invalid.',
        fields: {},
      }
    case 'signature':
      return {
        status: 403,
        code: 'SignatureDoesNotMatch',
        message:
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        fields: {
          AWSAccessKeyId: fail.accessKeyId ?? '',
          StringToSign: fail.stringToSign ?? '',
          SignatureProvided: fail.signatureProvided ?? '',
          CanonicalRequest: fail.canonicalRequest ?? '',
        },
      }
    default:
      return malformed(fail.message)
  }
}

export async function startFakeS3(options: FakeS3Options = {}): Promise<FakeS3> {
  const region = options.region ?? 'us-east-1'
  const maxSkewMs = options.maxSkewMs ?? 15 * 60_000
  const now = options.now ?? Date.now
  const { credentialMap, requests, controls, nextScripted, fromHandler } = fakeAwsState<
    S3RecordedRequest,
    FakeS3Plan,
    FakeS3Plan
  >({ credentials: DEFAULT_CREDENTIALS, tempCredentials: DEFAULT_TEMP_CREDENTIALS }, options.credentials)
  const buckets = new Map<string, Map<string, StoredObject>>()
  const lifecycle = new Lifecycle()

  const sendXmlError = (
    res: ServerResponse,
    record: S3RecordedRequest,
    status: number,
    code: string,
    message: string,
    fields: Record<string, string> = {},
  ) => {
    record.status = status
    const head = record.method === 'HEAD'
    res.writeHead(status, {
      'content-type': 'application/xml',
      'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
      'x-amz-id-2': randomBytes(48).toString('base64'),
      server: 'AmazonS3',
    })
    res.end(head ? undefined : s3ErrorXml(code, message, fields))
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const receivedAt = Date.now()
    const rawPath = req.url ?? '/'
    const method = req.method ?? 'GET'
    const body = await readBody(req)
    const headers = flatHeaders(req)
    const record: S3RecordedRequest = { method, rawPath, headers, auth: { ok: true }, receivedAt }
    const segments = (rawPath.split('?')[0] ?? '').split('/')
    const bucket = segments[1] ? safeDecode(segments[1]) : undefined
    const keyRaw = segments.slice(2).join('/')
    const key = keyRaw ? safeDecode(keyRaw) : undefined
    if (bucket !== undefined) record.bucket = bucket
    if (key !== undefined) record.key = key
    requests.push(record)

    const auth = await verifySigV4(
      { method, rawPath, headers, body },
      { service: 's3', region, credentials: credentialMap, maxSkewMs, now },
    )
    if (auth.accessKeyId !== undefined) record.accessKeyId = auth.accessKeyId
    if (auth.region !== undefined) record.region = auth.region
    if (!auth.ok) {
      const e = s3AuthError(auth, region, now())
      record.auth = { ok: false, code: e.code, message: e.message }
      sendXmlError(res, record, e.status, e.code, e.message, e.fields)
      return
    }
    const contentSha = headers['x-amz-content-sha256']
    if (contentSha === undefined) {
      sendXmlError(
        res,
        record,
        400,
        'InvalidRequest',
        'Missing required header for this request: x-amz-content-sha256',
      )
      return
    }
    if (/^[0-9a-f]{64}$/.test(contentSha)) {
      const computed = sha256Hex(body)
      if (computed !== contentSha) {
        sendXmlError(
          res,
          record,
          400,
          'XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
          { ClientComputedContentSHA256: contentSha, S3ComputedContentSHA256: computed },
        )
        return
      }
    } else if (contentSha !== 'UNSIGNED-PAYLOAD' && !contentSha.startsWith('STREAMING-')) {
      sendXmlError(
        res,
        record,
        400,
        'InvalidArgument',
        'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.',
      )
      return
    }

    const plan = nextScripted() ?? fromHandler(record) ?? { type: 'default' }
    if (plan.type === 'hang') return
    if (plan.delayMs !== undefined) await lifecycle.sleep(plan.delayMs)
    if (isGone(res) || lifecycle.closed) return
    if (plan.type === 'reset') {
      req.socket.destroy()
      return
    }
    if (plan.type === 'error') {
      sendXmlError(res, record, plan.status, plan.code, plan.message ?? plan.code)
      return
    }

    if (method !== 'GET' && method !== 'HEAD') {
      sendXmlError(
        res,
        record,
        405,
        'MethodNotAllowed',
        'The specified method is not allowed against this resource.',
        {
          Method: method,
          ResourceType: 'OBJECT',
        },
      )
      return
    }
    if (bucket === undefined) {
      sendXmlError(res, record, 501, 'NotImplemented', 'ListBuckets is not implemented by this fake.')
      return
    }
    const objects = buckets.get(bucket)
    if (!objects) {
      sendXmlError(res, record, 404, 'NoSuchBucket', 'The specified bucket does not exist', {
        BucketName: bucket,
      })
      return
    }
    if (key === undefined) {
      sendXmlError(res, record, 501, 'NotImplemented', 'ListObjects is not implemented by this fake.')
      return
    }
    const object = objects.get(key)
    if (!object) {
      sendXmlError(res, record, 404, 'NoSuchKey', 'The specified key does not exist.', { Key: key })
      return
    }
    const common = {
      etag: object.etag,
      'last-modified': object.lastModified.toUTCString(),
      'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
      'x-amz-id-2': randomBytes(48).toString('base64'),
      server: 'AmazonS3',
    }
    const ifNoneMatch = headers['if-none-match']
    if (ifNoneMatch !== undefined) {
      const tags = ifNoneMatch.split(',').map((t) => t.trim().replace(/^W\//, ''))
      if (tags.includes('*') || tags.includes(object.etag)) {
        record.status = 304
        res.writeHead(304, common)
        res.end()
        return
      }
    }
    record.status = 200
    res.writeHead(200, {
      ...common,
      'content-type': object.contentType,
      'content-length': String(object.body.byteLength),
      'accept-ranges': 'bytes',
    })
    res.end(method === 'HEAD' ? undefined : object.body)
  }

  const started = await listen(handle, lifecycle)
  const createBucket = (name: string) => {
    if (!buckets.has(name)) buckets.set(name, new Map())
  }
  return {
    url: started.url,
    port: started.port,
    region,
    ...controls,
    createBucket,
    putObject: (bucketName, key, body, opts = {}) => {
      createBucket(bucketName)
      const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body
      const etag = `"${createHash('md5').update(bytes).digest('hex')}"`
      buckets.get(bucketName)?.set(key, {
        body: bytes,
        etag,
        contentType: opts.contentType ?? 'application/octet-stream',
        lastModified: opts.lastModified ?? new Date(Math.floor(now() / 1000) * 1000),
      })
      return { etag }
    },
    deleteObject: (bucketName, key) => {
      buckets.get(bucketName)?.delete(key)
    },
    close: started.close,
  }
}

/** Path-style object URL with each key segment RFC 3986-encoded (what a correct client sends). */
export function s3ObjectUrl(baseUrl: string, bucket: string, key: string): string {
  return `${baseUrl}/${rfc3986(bucket)}/${key.split('/').map(rfc3986).join('/')}`
}
