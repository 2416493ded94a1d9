/** Reported in `x-litellm-version` and `/health/readiness`. Kept in step with package.json by a unit test. */
export const VERSION = '0.1.0'
