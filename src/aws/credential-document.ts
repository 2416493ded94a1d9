import type { ExpiringCredentials } from './credential-cache'
import { unavailable } from './credential-errors'

/**
 * The JSON credential document served by the ECS/EKS container agents and by EC2 instance metadata:
 * `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration": ISO-8601}` (IMDS adds `"Code": "Success"`).
 * A document that does not have that shape is the source misbehaving, so it is `unavailable`.
 */
export function parseCredentialDocument(text: string, source: string): ExpiringCredentials {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    doc = undefined
  }
  const field = (name: string): string | undefined => {
    const value = typeof doc === 'object' && doc !== null ? Reflect.get(doc, name) : undefined
    return typeof value === 'string' && value !== '' ? value : undefined
  }
  const code = field('Code')
  if (code !== undefined && code !== 'Success')
    throw unavailable(source, `answered with Code ${safeCode(code)}`)
  const accessKeyId = field('AccessKeyId')
  const secretAccessKey = field('SecretAccessKey')
  const sessionToken = field('Token')
  const expiration = field('Expiration')
  const expiresAt = expiration === undefined ? Number.NaN : Date.parse(expiration)
  if (!accessKeyId || !secretAccessKey || !sessionToken || Number.isNaN(expiresAt))
    throw unavailable(source, 'answered without a readable credential document')
  return { credentials: { accessKeyId, secretAccessKey, sessionToken }, expiresAt }
}

const safeCode = (code: string): string =>
  /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(code) ? code : '(unreadable)'
