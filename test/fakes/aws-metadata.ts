/**
 * Local fake of the two AWS credential endpoints a workload reaches without any key:
 * - EC2 instance metadata, IMDSv2 only (`HttpTokens: required`): `PUT /latest/api/token` with
 *   `X-aws-ec2-metadata-token-ttl-seconds` (1-21600) issues a session token; every GET without a
 *   valid `X-aws-ec2-metadata-token` is 401; `/latest/meta-data/iam/security-credentials/` names the
 *   role and `…/<role>` returns its JSON credential document.
 * - the ECS / EKS Pod Identity container endpoint (`containerPath`), checking `Authorization` when
 *   a token is configured, returning the container agent's JSON document.
 * Every credential document carries fresh credentials (so a refresh is visible) expiring
 * `lifetimeMs` from now. Per route: one-shot `script()`ed plans or a sticky `setPlan()` (errors,
 * delays, hangs, resets), and request counters for single-flight tests.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { type FakeCredentials, flatHeaders, isGone, Lifecycle, listen, readBody } from './http-util'

export type MetadataRoute = 'imds-token' | 'imds-role' | 'imds-credentials' | 'container'

export type FakeMetadataPlan =
  | { type: 'default'; delayMs?: number }
  | { type: 'error'; status: number; body?: string; delayMs?: number }
  | { type: 'hang' }
  | { type: 'reset'; delayMs?: number }

export interface MetadataRecordedRequest {
  method: string
  path: string
  route?: MetadataRoute
  headers: Record<string, string>
  status?: number
  issued?: Required<FakeCredentials> & { expiration: string }
  receivedAt: number
}

export interface FakeAwsMetadataOptions {
  /** The instance profile's role; default `fake-instance-role`. */
  roleName?: string
  /** Default `/v2/credentials/fake-task-credentials`. */
  containerPath?: string
  /** When set, the container endpoint requires exactly this `Authorization` value. */
  containerToken?: string
  /** Lifetime of issued credentials; default 1 hour. */
  lifetimeMs?: number
  now?: () => number
  onIssue?: (credentials: Required<FakeCredentials>, route: MetadataRoute) => void
}

export interface FakeAwsMetadata {
  /** Base URL: what AWS_EC2_METADATA_SERVICE_ENDPOINT points at. */
  url: string
  port: number
  /** Full container credentials URL: what AWS_CONTAINER_CREDENTIALS_FULL_URI points at. */
  containerUrl: string
  containerPath: string
  requests: MetadataRecordedRequest[]
  issued: Array<Required<FakeCredentials>>
  lifetimeMs: number
  /** undefined: no instance profile attached (the role listing is 404). */
  roleName: string | undefined
  containerToken: string | undefined
  count(route: MetadataRoute): number
  /** One-shot plans for the next requests of `route`, in order. */
  script(route: MetadataRoute, ...plans: FakeMetadataPlan[]): void
  /** A plan for every request of `route` (after the script queue); undefined restores the default. */
  setPlan(route: MetadataRoute, plan: FakeMetadataPlan | undefined): void
  /** Clears scripts, sticky plans, the request log and the issued list. */
  reset(): void
  close(): Promise<void>
}

const IMDS_CREDENTIALS = '/latest/meta-data/iam/security-credentials/'
const MAX_TOKEN_TTL = 21600

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

const randomId = (prefix: string): string =>
  prefix +
  Array.from(randomBytes(16), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32])
    .join('')
    .slice(0, 16)

export async function startFakeAwsMetadata(options: FakeAwsMetadataOptions = {}): Promise<FakeAwsMetadata> {
  const now = options.now ?? Date.now
  const containerPath = options.containerPath ?? '/v2/credentials/fake-task-credentials'
  const lifecycle = new Lifecycle()
  const requests: MetadataRecordedRequest[] = []
  const issued: Array<Required<FakeCredentials>> = []
  const tokens = new Map<string, number>()
  let queues = new Map<MetadataRoute, FakeMetadataPlan[]>()
  let sticky = new Map<MetadataRoute, FakeMetadataPlan>()
  const state = {
    lifetimeMs: options.lifetimeMs ?? 3_600_000,
    roleName: 'roleName' in options ? options.roleName : 'fake-instance-role',
    containerToken: options.containerToken,
  }

  const routeOf = (method: string, path: string): MetadataRoute | undefined => {
    if (path === '/latest/api/token') return 'imds-token'
    if (path === IMDS_CREDENTIALS) return 'imds-role'
    if (path.startsWith(IMDS_CREDENTIALS)) return 'imds-credentials'
    if (path === containerPath && method === 'GET') return 'container'
    return undefined
  }

  const send = (
    res: ServerResponse,
    record: MetadataRecordedRequest,
    status: number,
    body: string,
    type = 'text/plain',
  ) => {
    record.status = status
    res.writeHead(status, { 'content-type': type, server: 'EC2ws' })
    res.end(body)
  }

  const issue = (record: MetadataRecordedRequest, route: MetadataRoute) => {
    const credentials: Required<FakeCredentials> = {
      accessKeyId: randomId('ASIA'),
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: `IQoJb3JpZ2luX2Vj${randomBytes(96).toString('base64')}`,
    }
    issued.push(credentials)
    const expiration = iso(now() + state.lifetimeMs)
    record.issued = { ...credentials, expiration }
    options.onIssue?.(credentials, route)
    return { credentials, expiration }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET'
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    await readBody(req)
    const headers = flatHeaders(req)
    const route = routeOf(method, path)
    const record: MetadataRecordedRequest = {
      method,
      path,
      headers,
      receivedAt: Date.now(),
      ...(route ? { route } : {}),
    }
    requests.push(record)
    if (!route) {
      send(res, record, 404, 'Not Found')
      return
    }

    const plan = queues.get(route)?.shift() ?? sticky.get(route) ?? { type: 'default' }
    if (plan.type === 'hang') return
    if (plan.delayMs !== undefined) await lifecycle.sleep(plan.delayMs)
    if (isGone(res) || lifecycle.closed) return
    if (plan.type === 'reset') {
      req.socket.destroy()
      return
    }
    if (plan.type === 'error') {
      send(res, record, plan.status, plan.body ?? '')
      return
    }

    if (route === 'container') {
      if (state.containerToken !== undefined && headers.authorization !== state.containerToken) {
        send(res, record, 401, JSON.stringify({ message: 'Unauthorized' }), 'application/json')
        return
      }
      const { credentials, expiration } = issue(record, route)
      send(
        res,
        record,
        200,
        JSON.stringify({
          RoleArn: 'arn:aws:iam::123456789012:role/fake-task-role',
          AccessKeyId: credentials.accessKeyId,
          SecretAccessKey: credentials.secretAccessKey,
          Token: credentials.sessionToken,
          Expiration: expiration,
        }),
        'application/json',
      )
      return
    }

    if (route === 'imds-token') {
      if (method !== 'PUT') {
        send(res, record, 405, 'Method Not Allowed')
        return
      }
      // IMDS refuses token requests that went through a proxy.
      if (headers['x-forwarded-for'] !== undefined) {
        send(res, record, 403, 'Forbidden')
        return
      }
      const ttl = Number(headers['x-aws-ec2-metadata-token-ttl-seconds'])
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL) {
        send(res, record, 400, 'Bad Request')
        return
      }
      const token = `AQAEA${randomBytes(36).toString('base64url')}==`
      tokens.set(token, now() + ttl * 1000)
      record.status = 200
      res.writeHead(200, {
        'content-type': 'text/plain',
        'x-aws-ec2-metadata-token-ttl-seconds': String(ttl),
      })
      res.end(token)
      return
    }

    // IMDSv2 required: no valid session token, no metadata.
    const token = headers['x-aws-ec2-metadata-token']
    const validUntil = token === undefined ? undefined : tokens.get(token)
    if (method !== 'GET' || validUntil === undefined || validUntil <= now()) {
      send(res, record, 401, 'Unauthorized')
      return
    }
    if (route === 'imds-role') {
      if (state.roleName === undefined) send(res, record, 404, 'Not Found')
      else send(res, record, 200, state.roleName)
      return
    }
    const role = decodeURIComponent(path.slice(IMDS_CREDENTIALS.length))
    if (state.roleName === undefined || role !== state.roleName) {
      send(res, record, 404, 'Not Found')
      return
    }
    const { credentials, expiration } = issue(record, route)
    send(
      res,
      record,
      200,
      JSON.stringify(
        {
          Code: 'Success',
          LastUpdated: iso(now()),
          Type: 'AWS-HMAC',
          AccessKeyId: credentials.accessKeyId,
          SecretAccessKey: credentials.secretAccessKey,
          Token: credentials.sessionToken,
          Expiration: expiration,
        },
        null,
        2,
      ),
    )
  }

  const started = await listen(handle, lifecycle)
  return {
    url: started.url,
    port: started.port,
    containerUrl: `${started.url}${containerPath}`,
    containerPath,
    requests,
    issued,
    get lifetimeMs() {
      return state.lifetimeMs
    },
    set lifetimeMs(ms: number) {
      state.lifetimeMs = ms
    },
    get roleName() {
      return state.roleName
    },
    set roleName(name: string | undefined) {
      state.roleName = name
    },
    get containerToken() {
      return state.containerToken
    },
    set containerToken(token: string | undefined) {
      state.containerToken = token
    },
    count: (route) => requests.filter((r) => r.route === route).length,
    script: (route, ...plans) => {
      queues.set(route, [...(queues.get(route) ?? []), ...plans])
    },
    setPlan: (route, plan) => {
      if (plan === undefined) sticky.delete(route)
      else sticky.set(route, plan)
    },
    reset: () => {
      queues = new Map()
      sticky = new Map()
      requests.length = 0
      issued.length = 0
    },
    close: started.close,
  }
}
