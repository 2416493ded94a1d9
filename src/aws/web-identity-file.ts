import type { Env } from '../env'
import type { ExpiringCredentials } from './credential-cache'
import { configProblem } from './credential-errors'
import { nonEmpty } from './credentials'
import { awsRegion } from './region'
import { assumeRoleWithWebIdentity, type StsIo } from './sts'
import { stsTarget } from './sts-endpoint'

/** `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (EKS IRSA, or any OIDC token on disk), when both are set. */
export interface WebIdentityFile {
  tokenFile: string
  roleArn: string
  /** `AWS_ROLE_SESSION_NAME`, if set. */
  sessionName?: string
}

export const WEB_IDENTITY_FILE_SOURCE =
  'STS AssumeRoleWithWebIdentity for AWS_ROLE_ARN (AWS_WEB_IDENTITY_TOKEN_FILE)'

/** Both variables or nothing: the AWS SDKs skip this link unless both are set. */
export function webIdentityFile(env: Env): WebIdentityFile | undefined {
  const tokenFile = nonEmpty(env.AWS_WEB_IDENTITY_TOKEN_FILE)
  const roleArn = nonEmpty(env.AWS_ROLE_ARN)
  if (tokenFile === undefined || roleArn === undefined) return undefined
  const sessionName = nonEmpty(env.AWS_ROLE_SESSION_NAME)
  return sessionName === undefined ? { tokenFile, roleArn } : { tokenFile, roleArn, sessionName }
}

/**
 * Reads the token file (again on every refresh: the kubelet rotates it) and exchanges it at STS. The
 * signing region is the gateway's (AWS_REGION_NAME, AWS_REGION, AWS_DEFAULT_REGION, us-west-2);
 * `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL` redirect the call.
 */
export async function webIdentityFromFile(
  source: WebIdentityFile,
  env: Env,
  io: StsIo & { readFile: (path: string) => Promise<string>; clock: () => number },
): Promise<ExpiringCredentials> {
  let token: string
  try {
    token = (await io.readFile(source.tokenFile)).trim()
  } catch {
    // Not the runtime's message: the file's content must never be quoted, and its path is known.
    throw configProblem(
      WEB_IDENTITY_FILE_SOURCE,
      'the token file in AWS_WEB_IDENTITY_TOKEN_FILE cannot be read.',
    )
  }
  if (token === '')
    throw configProblem(WEB_IDENTITY_FILE_SOURCE, 'the token file in AWS_WEB_IDENTITY_TOKEN_FILE is empty.')
  return assumeRoleWithWebIdentity(
    {
      roleArn: source.roleArn,
      // The AWS SDKs' default is a timestamped name; this one says who made the session.
      sessionName: source.sessionName ?? `multillm-proxy-${Math.floor(io.clock() / 1000)}`,
      token,
      roleKey: 'AWS_ROLE_ARN',
      source: WEB_IDENTITY_FILE_SOURCE,
    },
    stsTarget(undefined, env, awsRegion({}, env)),
    io,
  )
}
