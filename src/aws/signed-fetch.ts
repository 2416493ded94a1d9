import { AwsClient } from 'aws4fetch'
import type { AwsCredentials } from './credentials'

export interface SignedRequest {
  url: string
  method: 'GET' | 'POST'
  headers: Record<string, string>
  /** A string, because aws4fetch hashes the body into the signature (a stream would throw). */
  body?: string
  credentials: AwsCredentials
  /** SigV4 signing name: `bedrock` for Bedrock Runtime, which aws4fetch would guess as `bedrock-runtime`. */
  service: string
  region: string
  signal?: AbortSignal
}

/**
 * Clients are reused per credentials/service/region: aws4fetch caches the derived signing key per
 * client (one HMAC chain per day instead of per request). Bounded, because temporary credentials
 * rotate and every rotation makes a new key.
 */
const MAX_CLIENTS = 64
const clients = new Map<string, AwsClient>()

function awsClient(credentials: AwsCredentials, service: string, region: string): AwsClient {
  const key = [
    credentials.accessKeyId,
    credentials.secretAccessKey,
    credentials.sessionToken ?? '',
    service,
    region,
  ].join('\u0000')
  let client = clients.get(key)
  if (client === undefined) {
    // retries: 0 – aws4fetch would otherwise retry 5xx/429 ten times; retries and fallbacks belong to the router.
    client = new AwsClient({ ...credentials, service, region, retries: 0 })
    if (clients.size >= MAX_CLIENTS) clients.delete(clients.keys().next().value ?? '')
    clients.set(key, client)
  }
  return client
}

/**
 * Signs with SigV4 and sends through the injected `fetch` (so tests and runtimes control I/O). The
 * URL path must already hold each label encoded once; aws4fetch encodes it again for the canonical request.
 */
export async function signedFetch(request: SignedRequest, fetchImpl: typeof fetch): Promise<Response> {
  const client = awsClient(request.credentials, request.service, request.region)
  const signed = await client.sign(request.url, {
    method: request.method,
    headers: request.headers,
    body: request.body ?? null,
  })
  return fetchImpl(signed.url, {
    method: request.method,
    headers: signed.headers,
    body: request.body ?? null,
    signal: request.signal ?? null,
  })
}
