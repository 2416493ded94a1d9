import type { ExpiringCredentials } from './credential-cache'
import { configProblem, unavailable } from './credential-errors'
import { isRedirect, plainRequest, readWithDeadline } from './credential-fetch'
import type { AwsCredentials } from './credentials'
import { signedFetch } from './signed-fetch'
import type { StsTarget } from './sts-endpoint'
import { xmlBlock, xmlText } from './xml'

/**
 * AWS STS over its Query API (form-encoded POST, XML answers): AssumeRole, signed with the base
 * credentials through aws4fetch, and AssumeRoleWithWebIdentity, which is unsigned (the OIDC token is
 * the proof). The XML is read with xml.ts, no XML library.
 */

export interface StsIo {
  fetch: typeof fetch
  timeoutMs: number
}

export interface RoleSession {
  roleArn: string
  sessionName: string
  /**
   * Names the setting that chose the role in errors (`aws_role_name`, `AWS_ROLE_ARN`): the role ARN
   * itself is not repeated, like every other configuration value.
   */
  roleKey: string
  /** Describes the call in errors, e.g. `STS AssumeRole for aws_role_name`. */
  source: string
}

const API_VERSION = '2011-06-15'
const FORM = 'application/x-www-form-urlencoded; charset=utf-8'

export async function assumeRole(
  session: RoleSession & { externalId?: string },
  base: AwsCredentials,
  target: StsTarget,
  io: StsIo,
): Promise<ExpiringCredentials> {
  const form = new URLSearchParams({
    Action: 'AssumeRole',
    Version: API_VERSION,
    RoleArn: session.roleArn,
    RoleSessionName: session.sessionName,
  })
  if (session.externalId !== undefined) form.set('ExternalId', session.externalId)
  const answer = await readWithDeadline(
    (signal) =>
      signedFetch(
        {
          url: `${target.endpoint}/`,
          method: 'POST',
          headers: { 'content-type': FORM },
          body: form.toString(),
          credentials: base,
          service: 'sts',
          region: target.region,
          signal,
        },
        io.fetch,
      ),
    io.timeoutMs,
    session.source,
  )
  return stsCredentials(answer, 'AssumeRoleResult', session)
}

export async function assumeRoleWithWebIdentity(
  session: RoleSession & { token: string },
  target: StsTarget,
  io: StsIo,
): Promise<ExpiringCredentials> {
  const form = new URLSearchParams({
    Action: 'AssumeRoleWithWebIdentity',
    Version: API_VERSION,
    RoleArn: session.roleArn,
    RoleSessionName: session.sessionName,
    WebIdentityToken: session.token,
  })
  const request = { url: `${target.endpoint}/`, method: 'POST' as const, headers: { 'content-type': FORM } }
  const answer = await readWithDeadline(
    plainRequest(io.fetch, { ...request, body: form.toString() }),
    io.timeoutMs,
    session.source,
  )
  return stsCredentials(answer, 'AssumeRoleWithWebIdentityResult', session)
}

/** STS's own answers to throttling and to trouble it has reaching the identity provider: retryable. */
const TRANSIENT = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'IDPCommunicationError',
  'InternalFailure',
  'ServiceUnavailable',
])

function stsCredentials(
  answer: { status: number; text: string },
  resultElement: string,
  session: RoleSession,
): ExpiringCredentials {
  const { status, text } = answer
  if (status === 200) {
    const block = xmlBlock(xmlBlock(text, resultElement) ?? '', 'Credentials') ?? ''
    const accessKeyId = xmlText(block, 'AccessKeyId')
    const secretAccessKey = xmlText(block, 'SecretAccessKey')
    const sessionToken = xmlText(block, 'SessionToken')
    const expiresAt = Date.parse(xmlText(block, 'Expiration') ?? '')
    if (!accessKeyId || !secretAccessKey || !sessionToken || Number.isNaN(expiresAt))
      throw unavailable(session.source, `answered HTTP 200 without a readable ${resultElement}`)
    return { credentials: { accessKeyId, secretAccessKey, sessionToken }, expiresAt }
  }
  if (isRedirect(status))
    throw configProblem(
      session.source,
      'the STS endpoint answered with a redirect; check the STS endpoint setting.',
    )
  // The code only: STS messages quote the role ARN and the caller's identity.
  const code = xmlText(text, 'Code')
  const answered = `answered HTTP ${status}${code ? ` ${code}` : ''}`
  if (status >= 500 || status === 429 || (code !== undefined && TRANSIENT.has(code)))
    throw unavailable(session.source, answered)
  throw configProblem(session.source, `STS ${answered}: ${hint(code, session.roleKey)}.`)
}

function hint(code: string | undefined, roleKey: string): string {
  switch (code) {
    case 'AccessDenied':
      return `the role in ${roleKey} may not be assumed by this caller (check the role's trust policy, aws_external_id, and the caller's sts:AssumeRole permission)`
    case 'InvalidIdentityToken':
    case 'IDPRejectedClaim':
      return `STS rejected the web identity token for the role in ${roleKey} (check its issuer, audience and the role's trust policy)`
    case 'ExpiredTokenException':
      return 'the web identity token has expired'
    case 'ExpiredToken':
    case 'InvalidClientTokenId':
    case 'SignatureDoesNotMatch':
    case 'UnrecognizedClientException':
    case 'IncompleteSignature':
    case 'MissingAuthenticationToken':
      return `the base credentials used to assume the role in ${roleKey} were not accepted`
    case 'RegionDisabledException':
      return 'STS is not activated in the signing region; activate it or choose another STS endpoint'
    case 'ValidationError':
      return `a parameter is malformed (${roleKey}, the session name or the external id)`
    default:
      return 'see the STS error code'
  }
}
