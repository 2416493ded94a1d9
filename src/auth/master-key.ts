import type { GatewayConfig } from '../config/types'
import type { Env } from '../env'
import { GatewayError } from '../errors'
import { apiKeyFromRequest } from './api-key-from-request'
import { constantTimeEqual, sha256Hex } from './sha256'

/** `general_settings.master_key` wins over `LITELLM_MASTER_KEY`, as in LiteLLM. */
export function configuredMasterKey(config: GatewayConfig, env: Env): string | undefined {
  const fromConfig = config.generalSettings.master_key
  if (typeof fromConfig === 'string' && fromConfig !== '') return fromConfig
  return env.LITELLM_MASTER_KEY || undefined
}

export interface Caller {
  /** sha256 hex of the key the caller presented (the id spend and logs are keyed on). */
  keyHash: string
  isMaster: boolean
}

/**
 * Checks the caller's key against the master key. Both sides are hashed first so the comparison
 * is over equal-length digests and runs in constant time. With no master key configured every
 * request is refused: the gateway is never silently open.
 */
export function masterKeyAuth(masterKey: string | undefined) {
  const masterHash = masterKey ? sha256Hex(masterKey) : undefined
  return async function authenticate(request: Request): Promise<Caller> {
    const key = apiKeyFromRequest(request)
    if (!key) throw authError('No api key passed in.')
    if (!masterHash) {
      throw authError(
        'No master key is configured on this gateway (general_settings.master_key or LITELLM_MASTER_KEY).',
      )
    }
    const keyHash = await sha256Hex(key)
    if (!constantTimeEqual(keyHash, await masterHash)) {
      throw authError(
        `Invalid proxy server token passed. Received API Key = ${maskKey(key)}, Key Hash (Token) =${keyHash}.`,
      )
    }
    return { keyHash, isMaster: true }
  }
}

/** `sk-...abcd`: enough to tell keys apart in an error, never enough to use one. */
export function maskKey(key: string): string {
  return key.length <= 8 ? '***' : `${key.slice(0, 3)}...${key.slice(-4)}`
}

const authError = (message: string) =>
  new GatewayError({
    status: 401,
    message: `Authentication Error, ${message}`,
    type: 'auth_error',
    param: 'key',
    origin: 'client',
  })
