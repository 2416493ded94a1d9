import { silent } from './credential-errors'

export interface CredentialRequest {
  url: string
  method: 'GET' | 'PUT' | 'POST'
  headers?: Record<string, string>
  body?: string
}

/**
 * One HTTP call of a credential source (STS, the container agent, IMDS) under a deadline that covers
 * the body too: a credential endpoint that hangs must not hang every provider call behind it. A
 * timeout or a network failure is `unavailable` (503) naming the source; the runtime's own error
 * text is not kept, because it may quote the URL or a proxy's answer.
 *
 * `send` gets the deadline's signal: a plain fetch (`plainRequest`) or a SigV4-signed one (STS
 * AssumeRole goes through signedFetch).
 */
export async function readWithDeadline(
  send: (signal: AbortSignal) => Promise<Response>,
  timeoutMs: number,
  source: string,
): Promise<{ status: number; text: string; headers: Headers }> {
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const response = await send(signal)
    const text = await response.text()
    return { status: response.status, text, headers: response.headers }
  } catch (error) {
    if (signal.aborted) throw silent(source, `did not answer within ${formatSeconds(timeoutMs)}`, error)
    throw silent(source, `could not be reached (${networkCode(error)})`, error)
  }
}

/**
 * An unsigned request. Redirects are never followed: AWS credential endpoints do not redirect, and a
 * followed redirect would carry the Authorization header or a web identity token to another host.
 */
export const plainRequest =
  (fetchImpl: typeof fetch, request: CredentialRequest) =>
  (signal: AbortSignal): Promise<Response> =>
    fetchImpl(request.url, {
      method: request.method,
      headers: request.headers ?? {},
      body: request.body ?? null,
      signal,
      redirect: 'manual',
    })

export const isRedirect = (status: number): boolean => status === 0 || (status >= 300 && status < 400)

const formatSeconds = (ms: number): string => `${Number((ms / 1000).toFixed(3))} s`

/** An errno-style code (`ECONNREFUSED`, from Node's `cause`) or the error's class name, nothing else. */
function networkCode(error: unknown): string {
  const codeOf = (value: unknown): string | undefined => {
    const code = typeof value === 'object' && value !== null && 'code' in value ? value.code : undefined
    return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(code) ? code : undefined
  }
  const name =
    error instanceof Error && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(error.name) ? error.name : undefined
  return codeOf(error instanceof Error ? error.cause : undefined) ?? codeOf(error) ?? name ?? 'network error'
}
