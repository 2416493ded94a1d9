/**
 * The headers LiteLLM reads a proxy key from (its `SpecialHeaders`), in its order of preference.
 * `Authorization` must be a Bearer credential; the others carry the raw key.
 */
const KEY_HEADERS = ['x-litellm-api-key', 'x-api-key', 'api-key'] as const

export function apiKeyFromRequest(request: Request): string | undefined {
  const authorization = request.headers.get('authorization')
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim())
    if (match?.[1]) return match[1].trim()
  }
  for (const name of KEY_HEADERS) {
    const value = request.headers.get(name)?.trim()
    if (value) return value
  }
  return undefined
}
