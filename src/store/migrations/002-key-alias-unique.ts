/**
 * `key_alias` unique across keys, in the database: the routes check for a taken alias first
 * (LiteLLM's `_enforce_unique_key_alias`), but two concurrent requests can both pass that check;
 * the index makes the second insert fail (23505), which the routes answer with the same 400.
 * Partial (`WHERE key_alias IS NOT NULL`): any number of keys may have no alias. Named as Prisma
 * would name a `@unique` on the column, so should LiteLLM's schema ever declare one, the two agree
 * and IF NOT EXISTS keeps this a no-op.
 *
 * A database adopted from LiteLLM (or written before this migration) may already hold duplicate
 * aliases. Creating the index would then fail and, with it, every start of the gateway; instead the
 * migration leaves the index out and raises a WARNING (in the Postgres log, and sent to the client
 * as a notice). It is not retried later (the version is recorded as applied): uniqueness then rests
 * on the routes' check alone, racy as above. Duplicates are never removed or renamed here: which key
 * keeps an alias is the operator's decision. To add the index afterwards, resolve the duplicates
 * (`SELECT key_alias, count(*) FROM "LiteLLM_VerificationToken" WHERE key_alias IS NOT NULL GROUP BY
 * 1 HAVING count(*) > 1`) and run the CREATE UNIQUE INDEX statement below by hand.
 */
export const KEY_ALIAS_INDEX = 'LiteLLM_VerificationToken_key_alias_key'

export const migration002 = {
  version: 2,
  name: 'key-alias-unique',
  statements: [
    `DO $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM "LiteLLM_VerificationToken" WHERE key_alias IS NOT NULL
    GROUP BY key_alias HAVING count(*) > 1
  ) THEN
    RAISE WARNING 'multillm migration 002: duplicate key_alias values in "LiteLLM_VerificationToken"; the unique index "${KEY_ALIAS_INDEX}" was NOT created. Resolve the duplicates and create it by hand (see src/store/migrations/002-key-alias-unique.ts).';
  ELSE
    CREATE UNIQUE INDEX IF NOT EXISTS "${KEY_ALIAS_INDEX}"
      ON "LiteLLM_VerificationToken" (key_alias) WHERE key_alias IS NOT NULL;
  END IF;
END
$$`,
  ],
} as const
