/**
 * Server-side SigV4 verification for the local AWS fakes (protocols.md 1.8 and 4.4).
 *
 * The signature is recomputed with `@smithy/signature-v4` (the AWS SDK's signer), an implementation
 * independent of `aws4fetch`, from exactly what the client claims to have signed: its own
 * SignedHeaders list, the raw request path, and the `x-amz-date` it sent.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'
import type { HeaderBag, HttpRequest } from '@smithy/types'

export interface CredentialRecord {
  secretAccessKey: string
  /** When set, the request must carry exactly this `x-amz-security-token`. When unset, it must carry none. */
  sessionToken?: string
}

export type CredentialLookup = (accessKeyId: string) => CredentialRecord | undefined

export interface SigV4Request {
  method: string
  /** Request target as received (still percent-encoded), optionally with `?query`. */
  rawPath: string
  headers: Record<string, string | string[] | undefined>
  body: Uint8Array
}

export interface VerifySigV4Options {
  /** Signing name the credential scope must name (`bedrock`, `s3`, `sagemaker`, `sts`). */
  service: string
  /** When set, the credential scope must name this region. */
  region?: string
  credentials: Map<string, CredentialRecord> | CredentialLookup
  /** Allowed clock skew either way (Bedrock 5 min, S3/STS 15 min). */
  maxSkewMs: number
  now?: () => number
}

/** Which check failed; lets a fake map failures to its own error dialect (S3 answers in XML). */
export type SigV4FailureReason =
  | 'missing'
  | 'malformed'
  | 'missing-date'
  | 'bad-date'
  | 'expired'
  | 'not-yet-current'
  | 'host-not-signed'
  | 'algorithm'
  | 'bad-scope'
  | 'service'
  | 'region'
  | 'scope-date'
  | 'unknown-key'
  | 'signature'
  | 'token'

export interface SigV4Success {
  ok: true
  accessKeyId: string
  region: string
  service: string
  amzDate: string
  signedHeaders: string[]
  sessionToken?: string
}

export interface SigV4Failure {
  ok: false
  status: number
  code: string
  message: string
  reason: SigV4FailureReason
  accessKeyId?: string
  region?: string
  service?: string
  amzDate?: string
  /** Present for `signature` failures: what the server computed. */
  canonicalRequest?: string
  stringToSign?: string
  signatureProvided?: string
}

export type SigV4Result = SigV4Success | SigV4Failure

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/

/** `YYYYMMDDTHHMMSSZ` for a millisecond timestamp. */
export function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
}

/** Parses `YYYYMMDDTHHMMSSZ` strictly; `undefined` when malformed or not a real calendar time. */
export function parseAmzDate(value: string): number | undefined {
  const m = AMZ_DATE.exec(value)
  if (!m) return undefined
  const [, y, mo, d, h, mi, s] = m.map(Number)
  const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!)
  return formatAmzDate(ms) === value ? ms : undefined
}

/** RFC 3986 percent-encoding (encodeURIComponent plus `! ' ( ) *`). */
export function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/**
 * S3 canonical URI: every segment decoded once and re-encoded once (not normalised), the way
 * S3-compatible servers do it. A client that sends `(` raw but signs `%28` (aws4fetch) still verifies;
 * a client that signs something other than the single-encoded key does not.
 */
export function canonicalS3Path(path: string): string {
  return path
    .split('/')
    .map((segment) => rfc3986(safeDecode(segment)))
    .join('/')
}

function lowerCaseHeaders(headers: SigV4Request['headers']): Map<string, string> {
  const out = new Map<string, string>()
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    const joined = Array.isArray(value) ? value.join(',') : value
    const key = name.toLowerCase()
    const prior = out.get(key)
    out.set(key, prior === undefined ? joined : `${prior},${joined}`)
  }
  return out
}

function parseQuery(rawQuery: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {}
  for (const [key, value] of new URLSearchParams(rawQuery)) {
    const prior = query[key]
    if (prior === undefined) query[key] = value
    else if (Array.isArray(prior)) prior.push(value)
    else query[key] = [prior, value]
  }
  return query
}

interface ParsedAuthorization {
  algorithm: string
  credential: string
  signedHeaders: string[]
  signature: string
}

function parseAuthorization(value: string): ParsedAuthorization | undefined {
  const space = value.indexOf(' ')
  if (space <= 0) return undefined
  const algorithm = value.slice(0, space)
  const fields = new Map<string, string>()
  for (const part of value.slice(space + 1).split(',')) {
    const eq = part.indexOf('=')
    if (eq <= 0) return undefined
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
  }
  const credential = fields.get('Credential')
  const signedHeaders = fields.get('SignedHeaders')
  const signature = fields.get('Signature')
  if (!credential || !signedHeaders || !signature) return undefined
  if (!/^[0-9a-f]{64}$/.test(signature)) return undefined
  return { algorithm, credential, signedHeaders: signedHeaders.split(';'), signature }
}

/** Captures the canonical request and string to sign that the smithy signer builds. */
class RecordingSigner extends SignatureV4 {
  canonicalRequest = ''
  stringToSign = ''

  protected override createCanonicalRequest(request: HttpRequest, headers: HeaderBag, payloadHash: string) {
    this.canonicalRequest = super.createCanonicalRequest(request, headers, payloadHash)
    return this.canonicalRequest
  }

  protected override async createStringToSign(
    longDate: string,
    credentialScope: string,
    canonicalRequest: string,
    algorithmIdentifier: string,
  ) {
    this.stringToSign = await super.createStringToSign(
      longDate,
      credentialScope,
      canonicalRequest,
      algorithmIdentifier,
    )
    return this.stringToSign
  }
}

function skewMinutes(maxSkewMs: number): string {
  return `${Number((maxSkewMs / 60_000).toFixed(2))} min.`
}

/** Verifies a header-signed SigV4 request. Checks run in the AWS front door's order (protocols.md 1.8). */
export async function verifySigV4(req: SigV4Request, opts: VerifySigV4Options): Promise<SigV4Result> {
  const headers = lowerCaseHeaders(req.headers)
  const fail = (
    status: number,
    code: string,
    message: string,
    reason: SigV4FailureReason,
    extra: Partial<SigV4Failure> = {},
  ): SigV4Failure => ({ ok: false, status, code, message, reason, ...extra })

  const authorization = headers.get('authorization')
  if (authorization === undefined || authorization === '') {
    return fail(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token', 'missing')
  }
  const auth = parseAuthorization(authorization)
  if (!auth) {
    return fail(
      400,
      'IncompleteSignatureException',
      `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=${authorization}`,
      'malformed',
    )
  }
  const amzDate = headers.get('x-amz-date')
  if (amzDate === undefined) {
    return fail(
      400,
      'IncompleteSignatureException',
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
      'missing-date',
    )
  }
  const signedAt = parseAmzDate(amzDate)
  if (signedAt === undefined) {
    return fail(
      400,
      'IncompleteSignatureException',
      `Date must be in ISO-8601 'basic format'. Got '${amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`,
      'bad-date',
      { amzDate },
    )
  }
  const now = (opts.now ?? Date.now)()
  if (signedAt < now - opts.maxSkewMs) {
    return fail(
      403,
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - opts.maxSkewMs)} (${formatAmzDate(now)} - ${skewMinutes(opts.maxSkewMs)})`,
      'expired',
      { amzDate },
    )
  }
  if (signedAt > now + opts.maxSkewMs) {
    return fail(
      403,
      'InvalidSignatureException',
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + opts.maxSkewMs)} (${formatAmzDate(now)} + ${skewMinutes(opts.maxSkewMs)})`,
      'not-yet-current',
      { amzDate },
    )
  }
  if (!auth.signedHeaders.includes('host')) {
    return fail(
      400,
      'IncompleteSignatureException',
      "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
      'host-not-signed',
      { amzDate },
    )
  }
  if (auth.algorithm !== 'AWS4-HMAC-SHA256') {
    return fail(
      400,
      'IncompleteSignatureException',
      `Unsupported AWS 'algorithm': '${auth.algorithm}'`,
      'algorithm',
      { amzDate },
    )
  }
  const scope = auth.credential.split('/')
  const [accessKeyId, scopeDate, region, service, terminator] = scope
  if (scope.length !== 5 || !accessKeyId || !scopeDate || !region || !service || !terminator) {
    return fail(
      400,
      'IncompleteSignatureException',
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${auth.credential}'`,
      'bad-scope',
      { amzDate },
    )
  }
  const scoped = { accessKeyId, region, service, amzDate }
  if (service !== opts.service) {
    return fail(
      403,
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${opts.service}'. `,
      'service',
      scoped,
    )
  }
  if (opts.region !== undefined && region !== opts.region) {
    return fail(
      403,
      'InvalidSignatureException',
      `Credential should be scoped to a valid region, not '${region}'. `,
      'region',
      scoped,
    )
  }
  if (terminator !== 'aws4_request') {
    return fail(
      403,
      'InvalidSignatureException',
      `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'. `,
      'bad-scope',
      scoped,
    )
  }
  if (scopeDate !== amzDate.slice(0, 8)) {
    return fail(
      403,
      'InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
      'scope-date',
      scoped,
    )
  }
  const record =
    typeof opts.credentials === 'function' ? opts.credentials(accessKeyId) : opts.credentials.get(accessKeyId)
  if (!record) {
    return fail(
      403,
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
      'unknown-key',
      scoped,
    )
  }

  const signedHeaders: Record<string, string> = {}
  for (const name of auth.signedHeaders) {
    const value = headers.get(name)
    if (value !== undefined) signedHeaders[name] = value
  }
  const sessionToken = headers.get('x-amz-security-token')
  const queryStart = req.rawPath.indexOf('?')
  const rawPath = queryStart === -1 ? req.rawPath : req.rawPath.slice(0, queryStart)
  const rawQuery = queryStart === -1 ? '' : req.rawPath.slice(queryStart + 1)
  const isS3 = opts.service === 's3'
  const hostHeader = headers.get('host') ?? 'localhost'
  const signer = new RecordingSigner({
    service,
    region,
    sha256: Sha256,
    credentials: { accessKeyId, secretAccessKey: record.secretAccessKey, sessionToken },
    applyChecksum: false,
    uriEscapePath: !isS3,
  })
  const signed = await signer.sign(
    {
      method: req.method.toUpperCase(),
      protocol: 'http:',
      hostname: hostHeader.replace(/:\d+$/, ''),
      path: isS3 ? canonicalS3Path(rawPath) : rawPath,
      query: parseQuery(rawQuery),
      headers: signedHeaders,
      body: req.body.byteLength > 0 ? req.body : undefined,
    },
    { signingDate: new Date(signedAt), signableHeaders: new Set(auth.signedHeaders) },
  )
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? ''
  const matches =
    expected.length === auth.signature.length &&
    timingSafeEqual(Buffer.from(expected, 'utf8'), Buffer.from(auth.signature, 'utf8'))
  if (!matches) {
    return fail(
      403,
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n' +
        `The Canonical String for this request should have been\n'${signer.canonicalRequest}'\n\n` +
        `The String-to-Sign should have been\n'${signer.stringToSign}'\n`,
      'signature',
      {
        ...scoped,
        canonicalRequest: signer.canonicalRequest,
        stringToSign: signer.stringToSign,
        signatureProvided: auth.signature,
      },
    )
  }
  if ((record.sessionToken ?? undefined) !== sessionToken) {
    return fail(
      403,
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
      'token',
      scoped,
    )
  }
  return {
    ok: true,
    accessKeyId,
    region,
    service,
    amzDate,
    signedHeaders: auth.signedHeaders,
    ...(sessionToken === undefined ? {} : { sessionToken }),
  }
}

/** Lower-case hex SHA-256, handy for `x-amz-content-sha256` checks. */
export function sha256Hex(body: Uint8Array | string): string {
  return createHash('sha256').update(body).digest('hex')
}
