import type { AwsCredentials } from './credentials'

/** What a credential source hands out: keys, and when AWS stops accepting them (if ever). */
export interface ExpiringCredentials {
  credentials: AwsCredentials
  /** Wall-clock ms of the source's `Expiration`; undefined for long-term keys. */
  expiresAt?: number
}

/** Refresh this long before `Expiration`, as the AWS SDKs do (botocore's advisory refresh is 15 min, the JS SDK's 5). */
export const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000
/** Not signed with after `Expiration` minus this: a request signed at the last second would arrive expired. */
export const EXPIRY_MARGIN_MS = 30_000
/** After a failed refresh, keep serving the still-valid credentials this long before trying again. */
export const RETRY_AFTER_FAILURE_MS = 30_000
/** Credentials without `Expiration` are re-read this often (LiteLLM's TTL for ambient credentials). */
export const UNDATED_TTL_MS = 10 * 60_000
/** One entry per distinct source (deployment settings): bounded against config churn, not hit in practice. */
const MAX_ENTRIES = 1000

interface Entry {
  value?: ExpiringCredentials
  refreshAt: number
  inflight?: Promise<ExpiringCredentials>
}

export interface CredentialCache {
  /**
   * The cached credentials for `key`, or `fetch`'s. `key` identifies the source with all its inputs
   * (secrets included: it stays in memory and is never logged or put in an error).
   */
  get(key: string, fetch: () => Promise<ExpiringCredentials>): Promise<AwsCredentials>
}

/**
 * Credentials per source, refreshed ahead of expiry:
 * - single flight: every caller that finds an entry due joins the one refresh in progress, so N
 *   concurrent calls make one STS/IMDS call, not N (no thundering herd at expiry);
 * - a refresh that fails while the cached credentials are still valid keeps serving them (and
 *   tries again after RETRY_AFTER_FAILURE_MS, so an STS outage does not slow every call down by its
 *   timeout); `onStale` hears about it. Once they are expired the failure reaches the caller;
 * - a source that has never worked is not remembered: the next call tries again.
 * `clock` is wall-clock ms (expirations are wall-clock times).
 */
export function credentialCache(clock: () => number, onStale?: (error: unknown) => void): CredentialCache {
  const entries = new Map<string, Entry>()

  const usableUntil = (value: ExpiringCredentials): number =>
    value.expiresAt === undefined ? Number.POSITIVE_INFINITY : value.expiresAt - EXPIRY_MARGIN_MS

  /** Ahead of expiry, but never sooner than half the remaining life: short-lived credentials must not refresh on every call. */
  const nextRefresh = (value: ExpiringCredentials, now: number): number => {
    if (value.expiresAt === undefined) return now + UNDATED_TTL_MS
    return Math.max(value.expiresAt - REFRESH_BEFORE_EXPIRY_MS, now + (usableUntil(value) - now) / 2)
  }

  async function refresh(key: string, entry: Entry, fetch: () => Promise<ExpiringCredentials>) {
    try {
      // Through a promise so even a synchronous throw settles after `inflight` is set (and cleared).
      const fresh = await Promise.resolve().then(fetch)
      entry.value = fresh
      entry.refreshAt = nextRefresh(fresh, clock())
      return fresh
    } catch (error) {
      const now = clock()
      const stale = entry.value
      if (stale && now < usableUntil(stale)) {
        entry.refreshAt = Math.min(now + RETRY_AFTER_FAILURE_MS, usableUntil(stale))
        onStale?.(error)
        return stale
      }
      if (entries.get(key) === entry) entries.delete(key)
      throw error
    } finally {
      entry.inflight = undefined
    }
  }

  return {
    async get(key, fetch) {
      let entry = entries.get(key)
      const now = clock()
      if (entry?.value && now < entry.refreshAt && now < usableUntil(entry.value))
        return entry.value.credentials
      if (!entry) {
        if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value ?? '')
        entry = { refreshAt: 0 }
        entries.set(key, entry)
      }
      entry.inflight ??= refresh(key, entry, fetch)
      return (await entry.inflight).credentials
    },
  }
}
