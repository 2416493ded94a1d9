/**
 * Local fake of AWS STS (Query API: form-encoded POST, XML answers) for the credential chain.
 * - AssumeRole: SigV4-verified with @smithy/signature-v4 (service `sts`, ±15 min) against the
 *   credentials added with `addCredentials` (and the ones this fake issued: role chaining works);
 *   the role must be known, trust the caller and get the right ExternalId.
 * - AssumeRoleWithWebIdentity: unsigned, the WebIdentityToken must be one the role trusts.
 * Success answers are the real `AssumeRoleResponse` / `AssumeRoleWithWebIdentityResponse` XML, with
 * fresh temporary credentials per call; failures are STS `ErrorResponse` XML.
 */
import { randomBytes, randomUUID } from 'node:crypto'
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
import { type SigV4Failure, verifySigV4 } from './sigv4-verifier'

export interface FakeStsRole {
  arn: string
  /** Access key ids allowed to AssumeRole it; default: any authenticated caller. */
  trustedKeys?: string[]
  /** When set, AssumeRole must carry exactly this ExternalId. */
  externalId?: string
  /** OIDC tokens accepted by AssumeRoleWithWebIdentity for this role. */
  webIdentityTokens?: string[]
}

export interface FakeStsOptions {
  /** When set, the credential scope must name this region; default any region. */
  region?: string
  /** Lifetime of issued credentials; default 1 hour (STS's default DurationSeconds). */
  lifetimeMs?: number
  roles?: FakeStsRole[]
  now?: () => number
  /** Called with every credential set issued (e.g. to make a fake Bedrock accept them). */
  onIssue?: (credentials: Required<FakeCredentials>, request: StsRecordedRequest) => void
}

export type FakeStsPlan =
  | { type: 'default'; delayMs?: number }
  | { type: 'error'; status: number; code: string; message?: string; delayMs?: number }
  /** Never answer. */
  | { type: 'hang' }
  /** Destroy the connection without an answer. */
  | { type: 'reset'; delayMs?: number }

export type StsAction = 'AssumeRole' | 'AssumeRoleWithWebIdentity'

export interface StsRecordedRequest {
  method: string
  rawPath: string
  headers: Record<string, string>
  /** The decoded form body. */
  params: Record<string, string>
  action?: string
  /** Signer (AssumeRole), from the credential scope. */
  accessKeyId?: string
  region?: string
  auth: { ok: true } | { ok: false; code: string; message: string }
  status?: number
  /** The credentials this request was answered with. */
  issued?: Required<FakeCredentials> & { expiration: string }
  receivedAt: number
}

/** `script()` queues answers for the next well-formed requests (after authentication for AssumeRole). */
export interface FakeSts extends FakeAwsControls<StsRecordedRequest, FakeStsPlan, FakeStsPlan> {
  url: string
  port: number
  /** Lifetime of credentials issued from now on. */
  lifetimeMs: number
  addRole(role: FakeStsRole): void
  /** Every credential set issued since the last `reset()` (which keeps them valid), in order. */
  issued: Array<Required<FakeCredentials>>
  /** How many requests named `action` (all of them, rejected ones too). */
  count(action: StsAction): number
  close(): Promise<void>
}

const DEFAULT_CREDENTIALS: FakeCredentials = {
  accessKeyId: 'AKIAFAKESTS00000001',
  secretAccessKey: 'fakeStsSecret/Key+0001/bPxRfiCYEXAMPLEKEY',
}

const DEFAULT_TEMP_CREDENTIALS: Required<FakeCredentials> = {
  accessKeyId: 'ASIAFAKESTS00000002',
  secretAccessKey: 'fakeStsTempSecret/Key+0002',
  sessionToken: 'IQoJb3JpZ2luX2VjEFAKE//sts+session/token==',
}

const ACCOUNT = '123456789012'
const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/'
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/

export function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

/** STS's error document (`Type` Sender for 4xx, Receiver for 5xx). */
export function stsErrorXml(status: number, code: string, message: string): string {
  return (
    `<ErrorResponse xmlns="${XMLNS}">\n` +
    `  <Error>\n    <Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type>\n` +
    `    <Code>${escapeXml(code)}</Code>\n    <Message>${escapeXml(message)}</Message>\n  </Error>\n` +
    `  <RequestId>${randomUUID()}</RequestId>\n</ErrorResponse>\n`
  )
}

/** `2019-11-09T13:34:41Z`: STS writes Expiration without milliseconds. */
const stsTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

const randomId = (prefix: string): string =>
  prefix +
  Array.from(randomBytes(16), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32])
    .join('')
    .slice(0, 16)

function stsAuthError(fail: SigV4Failure): { status: number; code: string; message: string } {
  switch (fail.reason) {
    case 'missing':
      return {
        status: 403,
        code: 'MissingAuthenticationToken',
        message: 'Request is missing Authentication Token',
      }
    case 'unknown-key':
    case 'token':
      return {
        status: 403,
        code: 'InvalidClientTokenId',
        message: 'The security token included in the request is invalid.',
      }
    case 'signature':
    case 'expired':
    case 'not-yet-current':
      return {
        status: 403,
        code: 'SignatureDoesNotMatch',
        message: fail.message.split('\n')[0] ?? fail.message,
      }
    default:
      return { status: 400, code: 'IncompleteSignature', message: fail.message }
  }
}

export async function startFakeSts(options: FakeStsOptions = {}): Promise<FakeSts> {
  const now = options.now ?? Date.now
  const { credentialMap, requests, controls, nextScripted, fromHandler } = fakeAwsState<
    StsRecordedRequest,
    FakeStsPlan,
    FakeStsPlan
  >({ credentials: DEFAULT_CREDENTIALS, tempCredentials: DEFAULT_TEMP_CREDENTIALS })
  const roles = new Map<string, FakeStsRole>()
  for (const role of options.roles ?? []) roles.set(role.arn, role)
  const issued: Array<Required<FakeCredentials>> = []
  const lifecycle = new Lifecycle()
  const state = { lifetimeMs: options.lifetimeMs ?? 3_600_000 }

  const send = (res: ServerResponse, record: StsRecordedRequest, status: number, body: string) => {
    record.status = status
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() })
    res.end(body)
  }
  const sendError = (
    res: ServerResponse,
    record: StsRecordedRequest,
    status: number,
    code: string,
    message: string,
  ) => send(res, record, status, stsErrorXml(status, code, message))

  const issue = (record: StsRecordedRequest) => {
    const credentials: Required<FakeCredentials> = {
      accessKeyId: randomId('ASIA'),
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: `FwoGZXIvYXdzE${randomBytes(96).toString('base64')}`,
    }
    // Issued credentials may call STS again (role chaining), as real ones can.
    controls.addCredentials(credentials)
    issued.push(credentials)
    const expiration = stsTime(now() + state.lifetimeMs)
    record.issued = { ...credentials, expiration }
    options.onIssue?.(credentials, record)
    return { credentials, expiration }
  }

  const credentialsXml = (c: Required<FakeCredentials>, expiration: string) =>
    '    <Credentials>\n' +
    `      <AccessKeyId>${c.accessKeyId}</AccessKeyId>\n` +
    `      <SecretAccessKey>${escapeXml(c.secretAccessKey)}</SecretAccessKey>\n` +
    `      <SessionToken>${escapeXml(c.sessionToken)}</SessionToken>\n` +
    `      <Expiration>${expiration}</Expiration>\n` +
    '    </Credentials>\n'

  const assumedRoleUser = (roleArn: string, sessionName: string) => {
    const roleName = roleArn.split('/').pop() ?? 'role'
    return (
      '    <AssumedRoleUser>\n' +
      `      <AssumedRoleId>AROA${ACCOUNT}FAKE:${escapeXml(sessionName)}</AssumedRoleId>\n` +
      `      <Arn>arn:aws:sts::${ACCOUNT}:assumed-role/${escapeXml(roleName)}/${escapeXml(sessionName)}</Arn>\n` +
      '    </AssumedRoleUser>\n'
    )
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const receivedAt = Date.now()
    const method = req.method ?? 'GET'
    const rawPath = req.url ?? '/'
    const body = await readBody(req)
    const headers = flatHeaders(req)
    const params = Object.fromEntries(new URLSearchParams(new TextDecoder().decode(body)))
    const record: StsRecordedRequest = {
      method,
      rawPath,
      headers,
      params,
      auth: { ok: true },
      receivedAt,
      ...(params.Action === undefined ? {} : { action: params.Action }),
    }
    requests.push(record)

    if (
      method !== 'POST' ||
      !(headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
    ) {
      sendError(res, record, 400, 'InvalidAction', 'Could not find operation for this request')
      return
    }
    if (params.Version !== '2011-06-15') {
      sendError(
        res,
        record,
        400,
        'InvalidAction',
        `Could not find operation ${params.Action ?? ''} for version ${params.Version ?? 'NO_VERSION_SPECIFIED'}`,
      )
      return
    }
    const action = params.Action
    if (action !== 'AssumeRole' && action !== 'AssumeRoleWithWebIdentity') {
      sendError(
        res,
        record,
        400,
        'InvalidAction',
        `Could not find operation ${action ?? ''} for version 2011-06-15`,
      )
      return
    }

    if (action === 'AssumeRole') {
      const auth = await verifySigV4(
        { method, rawPath, headers, body },
        {
          service: 'sts',
          ...(options.region ? { region: options.region } : {}),
          credentials: credentialMap,
          maxSkewMs: 15 * 60_000,
          now,
        },
      )
      if (auth.accessKeyId !== undefined) record.accessKeyId = auth.accessKeyId
      if (auth.region !== undefined) record.region = auth.region
      if (!auth.ok) {
        const e = stsAuthError(auth)
        record.auth = { ok: false, code: e.code, message: e.message }
        sendError(res, record, e.status, e.code, e.message)
        return
      }
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
      sendError(res, record, plan.status, plan.code, plan.message ?? plan.code)
      return
    }

    const roleArn = params.RoleArn ?? ''
    const sessionName = params.RoleSessionName ?? ''
    if (!roleArn.startsWith('arn:') || !SESSION_NAME.test(sessionName)) {
      sendError(
        res,
        record,
        400,
        'ValidationError',
        `1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
      )
      return
    }
    const role = roles.get(roleArn)
    if (action === 'AssumeRole') {
      const caller = record.accessKeyId ?? ''
      const trusted =
        role !== undefined &&
        (role.trustedKeys === undefined || role.trustedKeys.includes(caller)) &&
        (role.externalId === undefined || role.externalId === params.ExternalId)
      if (!trusted) {
        sendError(
          res,
          record,
          403,
          'AccessDenied',
          `User: arn:aws:iam::${ACCOUNT}:user/fake-caller is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
        )
        return
      }
      const { credentials, expiration } = issue(record)
      send(
        res,
        record,
        200,
        `<AssumeRoleResponse xmlns="${XMLNS}">\n  <AssumeRoleResult>\n` +
          assumedRoleUser(roleArn, sessionName) +
          credentialsXml(credentials, expiration) +
          `  </AssumeRoleResult>\n  <ResponseMetadata>\n    <RequestId>${randomUUID()}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleResponse>\n`,
      )
      return
    }

    const token = params.WebIdentityToken ?? ''
    if (token.length < 4) {
      sendError(
        res,
        record,
        400,
        'ValidationError',
        "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4",
      )
      return
    }
    const knownToken = [...roles.values()].some((r) => r.webIdentityTokens?.includes(token))
    if (!knownToken) {
      sendError(res, record, 400, 'InvalidIdentityToken', 'Incorrect token audience')
      return
    }
    if (!role?.webIdentityTokens?.includes(token)) {
      sendError(res, record, 403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity')
      return
    }
    const { credentials, expiration } = issue(record)
    send(
      res,
      record,
      200,
      `<AssumeRoleWithWebIdentityResponse xmlns="${XMLNS}">\n  <AssumeRoleWithWebIdentityResult>\n` +
        '    <SubjectFromWebIdentityToken>system:serviceaccount:default:gateway</SubjectFromWebIdentityToken>\n' +
        '    <Audience>sts.amazonaws.com</Audience>\n' +
        assumedRoleUser(roleArn, sessionName) +
        credentialsXml(credentials, expiration) +
        '    <Provider>oidc.eks.us-east-1.amazonaws.com/id/FAKE</Provider>\n' +
        `  </AssumeRoleWithWebIdentityResult>\n  <ResponseMetadata>\n    <RequestId>${randomUUID()}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleWithWebIdentityResponse>\n`,
    )
  }

  const started = await listen(handle, lifecycle)
  return {
    url: started.url,
    port: started.port,
    ...controls,
    get lifetimeMs() {
      return state.lifetimeMs
    },
    set lifetimeMs(ms: number) {
      state.lifetimeMs = ms
    },
    addRole: (role) => {
      roles.set(role.arn, role)
    },
    issued,
    reset: () => {
      controls.reset()
      issued.length = 0
    },
    count: (action) => requests.filter((r) => r.action === action).length,
    close: started.close,
  }
}
