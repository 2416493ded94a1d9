import type { Env } from '../env'
import type { ExpiringCredentials } from './credential-cache'
import { parseCredentialDocument } from './credential-document'
import { configProblem, unavailable } from './credential-errors'
import { isRedirect, plainRequest, readWithDeadline } from './credential-fetch'
import { nonEmpty } from './credentials'

export const IMDS_SOURCE = 'EC2 instance metadata (IMDSv2)'

/** The session token's lifetime we ask for: the maximum, 6 hours. */
const TOKEN_TTL_SECONDS = '21600'
const CREDENTIALS_PATH = '/latest/meta-data/iam/security-credentials/'

export interface ImdsIo {
  fetch: typeof fetch
  timeoutMs: number
}

/**
 * The IMDS base URL: `AWS_EC2_METADATA_SERVICE_ENDPOINT` (tests, emulators), else the IPv6 address
 * when `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`, else 169.254.169.254, as the AWS SDKs.
 */
export function imdsEndpoint(env: Env): string {
  const configured = nonEmpty(env.AWS_EC2_METADATA_SERVICE_ENDPOINT)
  if (configured !== undefined) {
    let url: URL | undefined
    try {
      url = new URL(configured)
    } catch {
      url = undefined
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw configProblem('AWS_EC2_METADATA_SERVICE_ENDPOINT', 'it is not an http(s) URL.')
    return configured.replace(/\/+$/, '')
  }
  return nonEmpty(env.AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE)?.toLowerCase() === 'ipv6'
    ? 'http://[fd00:ec2::254]'
    : 'http://169.254.169.254'
}

/** `AWS_EC2_METADATA_DISABLED=true` turns the IMDS link of the default chain off (the SDKs' switch). */
export const imdsDisabled = (env: Env): boolean =>
  nonEmpty(env.AWS_EC2_METADATA_DISABLED)?.toLowerCase() === 'true'

/**
 * The instance profile's credentials over IMDSv2 only: PUT a session token, GET the role name, GET
 * the role's credential document, each under the deadline. There is no IMDSv1 fallback: v1 answers
 * any GET (the SSRF path IMDSv2 closes). In a container on EC2 the PUT's answer needs a hop limit
 * of 2 (`HttpPutResponseHopLimit`), or it never arrives and this times out.
 */
export async function instanceMetadataCredentials(env: Env, io: ImdsIo): Promise<ExpiringCredentials> {
  const base = imdsEndpoint(env)
  const call = (method: 'GET' | 'PUT', path: string, headers: Record<string, string>) =>
    readWithDeadline(
      plainRequest(io.fetch, { url: `${base}${path}`, method, headers }),
      io.timeoutMs,
      IMDS_SOURCE,
    )

  const token = await call('PUT', '/latest/api/token', {
    'x-aws-ec2-metadata-token-ttl-seconds': TOKEN_TTL_SECONDS,
  })
  expectOk(token.status, 'the session token (PUT /latest/api/token)')
  const auth = { 'x-aws-ec2-metadata-token': token.text.trim() }

  const roles = await call('GET', CREDENTIALS_PATH, auth)
  if (roles.status === 404)
    throw configProblem(IMDS_SOURCE, 'this instance has no IAM role (instance profile) attached.')
  expectOk(roles.status, 'the role name')
  const role = roles.text.split('\n')[0]?.trim() ?? ''
  if (role === '')
    throw configProblem(IMDS_SOURCE, 'this instance has no IAM role (instance profile) attached.')

  const document = await call('GET', `${CREDENTIALS_PATH}${encodeURIComponent(role)}`, auth)
  expectOk(document.status, "the role's credentials")
  return parseCredentialDocument(document.text, IMDS_SOURCE)
}

function expectOk(status: number, what: string): void {
  if (status === 200) return
  if (status >= 500 || status === 429) throw unavailable(IMDS_SOURCE, `answered HTTP ${status} for ${what}`)
  const reason = isRedirect(status) ? 'answered with a redirect' : `refused ${what} (HTTP ${status})`
  throw configProblem(
    IMDS_SOURCE,
    `instance metadata ${reason}; IMDSv2 must be enabled (and reachable: hop limit 2 inside containers).`,
  )
}
