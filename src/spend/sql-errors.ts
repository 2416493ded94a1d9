/**
 * Whether a failed statement failed because of the database being unavailable (retry the same
 * thing later) or because of what was sent (retrying it unchanged fails forever).
 *
 * Availability, by SQLSTATE class: 08 connection exception, 53 insufficient resources, 57 operator
 * intervention (admin shutdown, crash shutdown, cannot connect now, query canceled by a statement
 * timeout), 58 system error, 40 transaction rollback (serialization failure, deadlock: another
 * attempt succeeds), 55P03 lock not available. Without a SQLSTATE: Node socket errors (ECONNRESET
 * …), `fetch` network failures (TypeError), aborts and timeouts, the drivers' connection messages,
 * and HTTP 429/5xx from Neon's endpoint.
 *
 * Everything else counts as a data error: SQLSTATE 22 (data exception), 23 (constraint), 54
 * (program limit, e.g. an index row too large), XX, and local errors such as a RangeError while
 * serialising.
 */
export function isAvailabilityError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown }
  if (typeof code === 'string') {
    if (/^[0-9A-Z]{5}$/.test(code)) return /^(08|40|53|57|58)/.test(code) || code === '55P03'
    // Node system errors: ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, ENOTFOUND, EAI_AGAIN …
    if (/^E[A-Z_]+$/.test(code)) return true
  }
  if (error instanceof TypeError) return true
  if (name === 'AbortError' || name === 'TimeoutError') return true
  const text = typeof message === 'string' ? message : ''
  const http = /HTTP status (\d{3})/.exec(text)
  if (http) return Number(http[1]) === 429 || Number(http[1]) >= 500
  if (
    /timeout|timed out|terminat|connect|ECONN|socket|network|fetch failed|closed|aborted|unavailable/i.test(
      text,
    )
  )
    return true
  const cause = (error as { cause?: unknown; sourceError?: unknown }).cause
  const source = (error as { sourceError?: unknown }).sourceError
  return (
    (cause !== undefined && isAvailabilityError(cause)) ||
    (source !== undefined && isAvailabilityError(source))
  )
}
