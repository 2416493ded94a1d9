import type { Env } from '../env'
import { type AwsCredentialParams, type AwsCredentials, resolveAwsCredentials } from './credentials'

/**
 * How providers and loaders obtain AWS credentials. One instance per gateway, so whatever it caches
 * (STS sessions, container and instance-metadata credentials) is shared by every call. The gateway's
 * is the full chain (`credentialChain` in credential-chain.ts).
 */
export interface AwsAccess {
  /**
   * Credentials for one deployment's `litellm_params` (explicit keys, role, web identity), else the
   * runtime's default chain. `label` (the model group) only names the deployment in errors.
   */
  credentials(params: AwsCredentialParams, label: string): Promise<AwsCredentials>
}

/**
 * Static keys only (litellm_params, then the environment), without any I/O; it refuses roles, web
 * identity and profiles. For tests that must not reach STS or instance metadata.
 */
export const staticAwsAccess = (env: Env): AwsAccess => ({
  credentials: (params, label) => resolveAwsCredentials(params, env, label),
})
