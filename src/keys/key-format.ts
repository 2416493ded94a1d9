import { sha256Hex } from '../auth/sha256'

/**
 * The shape of a LiteLLM virtual key: `sk-` + `secrets.token_urlsafe(16)`, i.e. 16 random bytes in
 * unpadded base64url (22 characters). Only its SHA-256 hex is ever stored.
 */
export function generateKey(randomBytes: (n: number) => Uint8Array = defaultRandomBytes): string {
  const bytes = randomBytes(16)
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return `sk-${btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`
}

const defaultRandomBytes = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n))

/** `sk-...` + last 4 characters: LiteLLM's `abbreviate_api_key`, shown in the UI and in `key_name`. */
export const keyName = (key: string): string => `sk-...${key.slice(-4)}`

/**
 * Management endpoints take either the raw key or its hash. LiteLLM's `_hash_token_if_needed`
 * hashes anything starting with `sk-`; everything else is taken to be the hash already.
 */
export async function tokenHashOf(keyOrHash: string): Promise<string> {
  return keyOrHash.startsWith('sk-') ? sha256Hex(keyOrHash) : keyOrHash
}
