import type { Env } from '../env'
import type { ExpiringCredentials } from './credential-cache'
import { parseCredentialDocument } from './credential-document'
import { configProblem, unavailable } from './credential-errors'
import { isRedirect, plainRequest, readWithDeadline } from './credential-fetch'
import { nonEmpty } from './credentials'

/** The ECS task metadata address for `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`. */
export const ECS_CREDENTIALS_HOST = 'http://169.254.170.2'

export interface ContainerEndpoint {
  url: string
  /** The variable it came from, for errors. */
  key: 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI' | 'AWS_CONTAINER_CREDENTIALS_FULL_URI'
}

export interface ContainerIo {
  fetch: typeof fetch
  timeoutMs: number
  readFile?: (path: string) => Promise<string>
}

/**
 * The container credentials endpoint, if the environment names one (the AWS SDKs' order): ECS sets
 * `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (a path on 169.254.170.2); EKS Pod Identity, Greengrass
 * and local emulators set `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
 */
export function containerEndpoint(env: Env): ContainerEndpoint | undefined {
  const relative = nonEmpty(env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)
  if (relative !== undefined) {
    const key = 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'
    if (!relative.startsWith('/')) throw configProblem(key, 'it must be a path starting with "/".')
    return { url: `${ECS_CREDENTIALS_HOST}${relative}`, key }
  }
  const full = nonEmpty(env.AWS_CONTAINER_CREDENTIALS_FULL_URI)
  if (full === undefined) return undefined
  const key = 'AWS_CONTAINER_CREDENTIALS_FULL_URI'
  if (!isAllowedFullUri(full))
    throw configProblem(
      key,
      'it must be an https URL, or http on a loopback address, 169.254.170.2 (ECS) or 169.254.170.23 / [fd00:ec2::23] (EKS Pod Identity), as in the AWS SDKs.',
    )
  return { url: full, key }
}

/**
 * The AWS SDKs' rule for a FULL_URI (so that a variable injected into the environment cannot send
 * the authorization token in clear text to an arbitrary host): https anywhere; plain http only to
 * the container agents' link-local addresses or to this machine.
 */
export function isAllowedFullUri(value: string): boolean {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  if (url.protocol === 'https:') return true
  if (url.protocol !== 'http:') return false
  const host = url.hostname
  if (host === '169.254.170.2' || host === '169.254.170.23' || host === '[fd00:ec2::23]') return true
  if (host === '[::1]' || host === 'localhost') return true
  // WHATWG URL parsing has already normalised IPv4 spellings (0x7f.1, 2130706433) to dotted decimal.
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/**
 * GETs the credential document. For a FULL_URI the agent wants `Authorization`: the content of
 * `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (re-read on every refresh: EKS rotates it), else
 * `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
 */
export async function containerCredentials(
  endpoint: ContainerEndpoint,
  env: Env,
  io: ContainerIo,
): Promise<ExpiringCredentials> {
  const source = `the container credentials endpoint (${endpoint.key})`
  const headers: Record<string, string> = { accept: 'application/json' }
  if (endpoint.key === 'AWS_CONTAINER_CREDENTIALS_FULL_URI') {
    const token = await authorizationToken(env, io.readFile)
    if (token !== undefined) headers.authorization = token
  }
  const answer = await readWithDeadline(
    plainRequest(io.fetch, { url: endpoint.url, method: 'GET', headers }),
    io.timeoutMs,
    source,
  )
  if (answer.status === 200) return parseCredentialDocument(answer.text, source)
  if (answer.status >= 500 || answer.status === 429)
    throw unavailable(source, `answered HTTP ${answer.status}`)
  const why = isRedirect(answer.status)
    ? 'answered with a redirect'
    : `refused the request (HTTP ${answer.status})`
  throw configProblem(
    source,
    `the agent ${why}; check ${endpoint.key} and AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE).`,
  )
}

async function authorizationToken(env: Env, readFile: ContainerIo['readFile']): Promise<string | undefined> {
  const file = nonEmpty(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)
  let token: string | undefined
  if (file !== undefined) {
    const key = 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'
    if (readFile === undefined)
      throw configProblem(
        key,
        'files cannot be read on this runtime; set AWS_CONTAINER_AUTHORIZATION_TOKEN instead.',
      )
    try {
      token = (await readFile(file)).trim()
    } catch {
      // The file's content is a secret; its path is configuration the operator already knows.
      throw configProblem(key, 'the token file cannot be read.')
    }
  } else {
    token = nonEmpty(env.AWS_CONTAINER_AUTHORIZATION_TOKEN)
  }
  // A header value with a line break would be header injection (the SDKs refuse it too).
  if (token !== undefined && /[\r\n]/.test(token))
    throw configProblem('AWS_CONTAINER_AUTHORIZATION_TOKEN', 'the token contains a line break.')
  return token
}
