import { AwsV4Signer } from 'aws4fetch'
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
 * Derived signing keys, shared by every signer: aws4fetch caches one per (secret, day, region,
 * service), so the four-HMAC key derivation runs once a day per credential instead of per request.
 * Bounded, because temporary credentials rotate and every rotation derives a new key.
 */
const MAX_SIGNING_KEYS = 256
const signingKeys = new Map<string, ArrayBuffer>()

/**
 * Signs with SigV4 (aws4fetch's signer) and sends through the injected `fetch`, so tests and
 * runtimes control I/O. The signer is used directly rather than `AwsClient.sign`, which would build
 * an intermediate Request per call only for us to take it apart again. aws4fetch's own retry loop
 * is therefore never involved: retries and fallbacks belong to the router.
 *
 * The URL path must already hold each label encoded once; aws4fetch encodes it again for the
 * canonical request. Redirects are never followed (see below): check for 3xx responses.
 */
export async function signedFetch(request: SignedRequest, fetchImpl: typeof fetch): Promise<Response> {
  if (signingKeys.size >= MAX_SIGNING_KEYS) signingKeys.clear()
  const signed = await new AwsV4Signer({
    url: request.url,
    method: request.method,
    headers: request.headers,
    body: request.body ?? null,
    ...request.credentials,
    service: request.service,
    region: request.region,
    cache: signingKeys,
  }).sign()
  return fetchImpl(signed.url.href, {
    method: request.method,
    headers: signed.headers,
    body: request.body ?? null,
    signal: request.signal ?? null,
    // A followed redirect would replay the Authorization and x-amz-security-token headers to whatever
    // host the endpoint names. AWS APIs do not redirect signed calls, so the caller gets the 3xx (or
    // an opaque redirect) and treats it as an upstream fault.
    redirect: 'manual',
  })
}
