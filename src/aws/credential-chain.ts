import type { Env } from '../env'
import type { Logger } from '../observability/logger'
import type { AwsAccess } from './aws-access'
import { credentialCache } from './credential-cache'
import { CredentialSourceError } from './credential-errors'
import {
  type AwsCredentialParams,
  type AwsCredentials,
  explicitKeys,
  isSet,
  misconfigured,
  nonEmpty,
} from './credentials'
import { type CredentialIo, defaultCredentialChain } from './default-chain'
import { awsRegion } from './region'
import { assumeRole, assumeRoleWithWebIdentity } from './sts'
import { stsTarget } from './sts-endpoint'

export interface CredentialChainDeps {
  env: Env
  fetch: typeof fetch
  /** Wall-clock ms (credential expiry); default Date.now. */
  clock?: () => number
  /** Node and Lambda inject it; without it (Workers) the token-file sources are skipped. */
  readFile?: (path: string) => Promise<string>
  logger?: Logger
  /** Per HTTP call: instance metadata and the container agent (default 1 s), STS (default 5 s). */
  timeouts?: { metadataMs?: number; stsMs?: number }
}

export interface CredentialChain extends AwsAccess {
  /** The default chain alone, for what has no deployment (the config file in S3). */
  defaultCredentials(subject: string): Promise<AwsCredentials>
}

const ASSUME_ROLE_SOURCE = 'STS AssumeRole for aws_role_name'
const WEB_IDENTITY_SOURCE = 'STS AssumeRoleWithWebIdentity for aws_web_identity_token'

/**
 * LiteLLM's credential precedence (`BaseAWSLLM.get_credentials`) on top of the AWS default chain:
 * 1. `aws_web_identity_token` + `aws_role_name` → STS AssumeRoleWithWebIdentity (unsigned);
 * 2. `aws_role_name` → STS AssumeRole, signed with the deployment's keys if it has them, else with
 *    the default chain (`aws_session_name`, `aws_external_id`, `aws_sts_endpoint` apply);
 * 3. `aws_profile_name` → refused: shared config files do not exist on every runtime;
 * 4. `aws_access_key_id` + `aws_secret_access_key` (+ `aws_session_token`);
 * 5. the default chain (default-chain.ts): environment keys, web identity token file, container
 *    endpoint, EC2 instance metadata.
 * A source the deployment asked for that fails is never replaced by another one: calling Bedrock as
 * a different principal than configured is worse than failing.
 *
 * One instance per gateway: STS sessions and metadata credentials are cached per distinct source
 * (every aws_* input is part of the key) and shared by every call (credential-cache.ts).
 */
export function credentialChain(deps: CredentialChainDeps): CredentialChain {
  const io: CredentialIo = {
    env: deps.env,
    fetch: deps.fetch,
    clock: deps.clock ?? Date.now,
    ...(deps.readFile ? { readFile: deps.readFile } : {}),
    timeouts: { metadataMs: deps.timeouts?.metadataMs ?? 1000, stsMs: deps.timeouts?.stsMs ?? 5000 },
  }
  const cache = credentialCache(io.clock, (error) => {
    const detail =
      error instanceof CredentialSourceError ? { source: error.source, problem: error.problem } : { error }
    deps.logger?.warn('AWS credential refresh failed; using the cached credentials until they expire', detail)
  })
  const defaultChain = defaultCredentialChain(io, cache)
  const sts = { fetch: io.fetch, timeoutMs: io.timeouts.stsMs }
  /** LiteLLM's default session name; computed when the session is made, so the cache key stays stable. */
  const sessionName = (params: AwsCredentialParams) =>
    nonEmpty(params.aws_session_name) ?? `litellm-session-${Math.floor(io.clock() / 1000)}`

  async function resolve(params: AwsCredentialParams, subject: string): Promise<AwsCredentials> {
    const { env } = io
    const role = nonEmpty(params.aws_role_name)
    const webToken = nonEmpty(params.aws_web_identity_token)
    if (webToken !== undefined) {
      if (role === undefined)
        throw misconfigured(
          `aws_web_identity_token is set on ${subject} without aws_role_name (the role to assume with it); ` +
            'refusing to fall back to other credentials.',
        )
      const target = stsTarget(nonEmpty(params.aws_sts_endpoint), env, awsRegion(params, env))
      const key = JSON.stringify(['web-identity', webToken, role, nonEmpty(params.aws_session_name), target])
      return cache.get(key, () =>
        assumeRoleWithWebIdentity(
          {
            roleArn: role,
            sessionName: sessionName(params),
            token: webToken,
            roleKey: 'aws_role_name',
            source: WEB_IDENTITY_SOURCE,
          },
          target,
          sts,
        ),
      )
    }

    if (role !== undefined) {
      const base = explicitKeys(params, subject)
      // LiteLLM skips AssumeRole when IRSA already runs as that role: the ambient credentials are it.
      if (!base && role === nonEmpty(env.AWS_ROLE_ARN) && nonEmpty(env.AWS_WEB_IDENTITY_TOKEN_FILE))
        return defaultChain()
      const target = stsTarget(nonEmpty(params.aws_sts_endpoint), env, awsRegion(params, env))
      const externalId = nonEmpty(params.aws_external_id)
      const key = JSON.stringify([
        'assume-role',
        role,
        nonEmpty(params.aws_session_name),
        externalId,
        target,
        base ?? 'default',
      ])
      return cache.get(key, async () =>
        assumeRole(
          {
            roleArn: role,
            sessionName: sessionName(params),
            roleKey: 'aws_role_name',
            source: ASSUME_ROLE_SOURCE,
            ...(externalId === undefined ? {} : { externalId }),
          },
          base ?? (await defaultChain()),
          target,
          sts,
        ),
      )
    }

    if (isSet(params.aws_profile_name))
      throw misconfigured(
        `aws_profile_name is set on ${subject} but AWS profiles (shared config files) are not supported: ` +
          'use aws_role_name, keys, or the environment instead; refusing to fall back to other credentials.',
      )
    return explicitKeys(params, subject) ?? defaultChain()
  }

  /** Source failures become GatewayErrors naming what needed the credentials. */
  const named = async (subject: string, get: () => Promise<AwsCredentials>): Promise<AwsCredentials> => {
    try {
      return await get()
    } catch (error) {
      throw error instanceof CredentialSourceError ? error.toGatewayError(subject) : error
    }
  }

  return {
    credentials: (params, label) =>
      named(`deployment ${label}`, () => resolve(params, `deployment ${label}`)),
    defaultCredentials: (subject) => named(subject, defaultChain),
  }
}
