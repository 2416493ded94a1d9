import { GatewayError } from '../errors'
import { teamBlockedError } from '../keys/authorize-call'
import type { KeyService } from '../keys/key-service'
import type { Caller } from '../keys/virtual-key'
import { apiKeyFromRequest } from './api-key-from-request'
import { maskKey } from './master-key'
import { checkRouteAccess } from './route-access'
import { constantTimeEqual, sha256Hex } from './sha256'

/**
 * Resolves the caller of a request: the master key, or a virtual key found through the key
 * service (local cache first, Postgres only on a miss). Keys are compared as SHA-256 digests, the
 * form LiteLLM stores them in, and the master key in constant time.
 *
 * Checks that hold on every route for a virtual key are made here: blocked or expired key, a
 * blocked team, and the key's `allowed_routes` / `key_type`.
 *
 * With no master key and no key store every request is refused: the gateway is never silently open.
 */
export function createAuthenticator(
  masterKey: string | undefined,
  keys: KeyService | undefined,
  clock: () => number,
) {
  const masterHash = masterKey ? sha256Hex(masterKey) : undefined
  return async function authenticate(request: Request): Promise<Caller> {
    const key = apiKeyFromRequest(request)
    if (!key) throw authError('No api key passed in.')
    if (!masterHash && !keys) {
      throw authError(
        'No master key is configured on this gateway (general_settings.master_key or LITELLM_MASTER_KEY).',
      )
    }
    const keyHash = await sha256Hex(key)
    if (masterHash && constantTimeEqual(keyHash, await masterHash)) return { keyHash, isMaster: true }
    const record = keys ? await keys.lookup(keyHash) : undefined
    if (!record) {
      throw authError(
        `Invalid proxy server token passed. Received API Key = ${maskKey(key)}, Key Hash (Token) =${keyHash}. Unable to find token in cache or \`LiteLLM_VerificationTokenTable\``,
        'token_not_found_in_db',
      )
    }
    if (record.blocked) throw authError("Key is blocked. Update via `/key/unblock` if you're admin.")
    if (record.expires && record.expires.getTime() < clock()) {
      throw authError(
        `Expired Key. Key Expiry time ${record.expires.toISOString()} and current time ${new Date(clock()).toISOString()}`,
      )
    }
    if (record.allowedRoutes?.length) checkRouteAccess(record, new URL(request.url).pathname)
    if (record.team?.blocked) throw teamBlockedError(record.team.id)
    return { keyHash, isMaster: false, key: record }
  }
}

const authError = (message: string, type: 'auth_error' | 'token_not_found_in_db' = 'auth_error') =>
  new GatewayError({
    status: 401,
    message: `Authentication Error, ${message}`,
    type,
    param: 'key',
    origin: 'client',
  })
