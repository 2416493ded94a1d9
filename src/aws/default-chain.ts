import type { Env } from '../env'
import { containerCredentials, containerEndpoint } from './container-credentials'
import type { CredentialCache } from './credential-cache'
import { CredentialSourceError, configProblem } from './credential-errors'
import { type AwsCredentials, environmentKeys } from './credentials'
import { imdsDisabled, imdsEndpoint, instanceMetadataCredentials } from './instance-metadata'
import { WEB_IDENTITY_FILE_SOURCE, webIdentityFile, webIdentityFromFile } from './web-identity-file'

export interface CredentialIo {
  env: Env
  fetch: typeof fetch
  /** Wall-clock ms. */
  clock: () => number
  /** Absent on runtimes without a file system (Workers): the file-based sources are skipped. */
  readFile?: (path: string) => Promise<string>
  timeouts: { metadataMs: number; stsMs: number }
}

export const DEFAULT_CHAIN_SOURCE = 'the default credential chain'

/**
 * The AWS SDKs' default chain, minus shared config files: the first *configured* source wins and
 * its failure is final (falling through to another source would switch to a different principal):
 * 1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), read on every call;
 * 2. AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME): EKS IRSA;
 * 3. the container endpoint (ECS task role, EKS Pod Identity);
 * 4. EC2 instance metadata, unless AWS_EC2_METADATA_DISABLED=true.
 * Sources 2-4 are cached (credential-cache.ts). Instance metadata is the fallback when nothing is
 * configured, so while it has never worked in this process, its silence (no HTTP answer at all)
 * means "not on EC2" and becomes the "no credentials" configuration error; once it has worked, or
 * when it answers with an error, the failure is its own (a 503 for an outage).
 */
export function defaultCredentialChain(
  io: CredentialIo,
  cache: CredentialCache,
): () => Promise<AwsCredentials> {
  const { env } = io
  let imdsHasAnswered = false
  return async () => {
    const fromEnv = environmentKeys(env)
    if (fromEnv) return fromEnv
    const skipped: string[] = []

    const web = webIdentityFile(env)
    if (web) {
      const { readFile } = io
      if (readFile) {
        const key = JSON.stringify(['web-identity-file', web, env.AWS_ENDPOINT_URL_STS, env.AWS_ENDPOINT_URL])
        return cache.get(key, () =>
          webIdentityFromFile(web, env, {
            fetch: io.fetch,
            timeoutMs: io.timeouts.stsMs,
            readFile,
            clock: io.clock,
          }),
        )
      }
      skipped.push(`${WEB_IDENTITY_FILE_SOURCE} was skipped: files cannot be read on this runtime`)
    }

    const container = containerEndpoint(env)
    if (container) {
      const key = JSON.stringify(['container', container.url])
      return cache.get(key, () =>
        containerCredentials(container, env, {
          fetch: io.fetch,
          timeoutMs: io.timeouts.metadataMs,
          readFile: io.readFile,
        }),
      )
    }

    if (imdsDisabled(env))
      throw noCredentials([...skipped, 'EC2 instance metadata is disabled (AWS_EC2_METADATA_DISABLED)'])
    return cache.get(JSON.stringify(['imds', imdsEndpoint(env)]), async () => {
      try {
        const fresh = await instanceMetadataCredentials(env, {
          fetch: io.fetch,
          timeoutMs: io.timeouts.metadataMs,
        })
        imdsHasAnswered = true
        return fresh
      } catch (error) {
        if (imdsHasAnswered || !(error instanceof CredentialSourceError) || !error.silent) throw error
        throw noCredentials([...skipped, `${error.source} ${error.problem}`])
      }
    })
  }
}

function noCredentials(notes: string[]): CredentialSourceError {
  return configProblem(
    DEFAULT_CHAIN_SOURCE,
    'none of its sources is available. Set aws_access_key_id and aws_secret_access_key (and aws_session_token ' +
      "for temporary credentials) or aws_role_name in the deployment's litellm_params, or AWS_ACCESS_KEY_ID and " +
      'AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the gateway environment, or run with an IAM role ' +
      '(AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, an ECS task role, an EC2 instance profile).' +
      (notes.length > 0 ? ` (${notes.join('; ')}.)` : ''),
  )
}
