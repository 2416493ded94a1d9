import { ALL_MIGRATIONS, type Migration } from './migrations/index'
import type { Sql } from './sql'

const TABLE = 'multillm_schema_migrations'

/**
 * Serialises migrations across every gateway instance sharing the database; an arbitrary constant
 * (the bytes of "multillm" would do as well) that nothing else in a LiteLLM database uses.
 */
const LOCK = 'SELECT pg_advisory_xact_lock(7243018564197040165)'

/**
 * Brings the schema up to date and returns the versions it applied.
 *
 * Transactions are non-interactive batches (see sql.ts), so a migration cannot re-check inside its
 * transaction whether another instance applied it meanwhile. Instead each batch first takes a
 * transaction-scoped advisory lock, so concurrent instances run one after another, and everything
 * after the lock is idempotent: the statements (IF NOT EXISTS) and the version row (ON CONFLICT DO
 * NOTHING). The instance that waited re-runs no-ops and succeeds too.
 */
export async function migrate(
  sql: Sql,
  migrations: readonly Migration[] = ALL_MIGRATIONS,
  log?: (message: string) => void,
): Promise<number[]> {
  checkOrder(migrations)
  // Under the lock too: concurrent CREATE TABLE IF NOT EXISTS can still fail with a unique violation
  // on pg_type when two sessions create the same table at the same moment.
  await sql.transaction([
    { text: LOCK },
    {
      text: `CREATE TABLE IF NOT EXISTS ${TABLE} (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamp(3) NOT NULL DEFAULT (now() at time zone 'utc')
      )`,
    },
  ])
  const rows = await sql.query<{ version: number }>(`SELECT version FROM ${TABLE}`)
  const done = new Set(rows.map((row) => row.version))
  const unknown = [...done].filter((version) => !migrations.some((m) => m.version === version))
  if (unknown.length > 0) {
    log?.(`the database has schema versions this build does not know (${unknown.join(', ')}); continuing`)
  }
  const applied: number[] = []
  for (const migration of migrations) {
    if (done.has(migration.version)) continue
    const results = await sql.transaction([
      { text: LOCK },
      ...migration.statements.map((text) => ({ text })),
      {
        text: `INSERT INTO ${TABLE} (version, name) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING RETURNING version`,
        params: [migration.version, migration.name],
      },
    ])
    // No row back: another instance applied it while this one waited for the lock.
    if (results.at(-1)?.length === 0) continue
    log?.(`schema migration ${migration.version} (${migration.name}) applied`)
    applied.push(migration.version)
  }
  return applied
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    const previous = migrations[index - 1]
    if (previous !== undefined && previous.version >= migration.version) {
      throw new Error(
        `migrations must be in ascending version order: ${previous.version}, ${migration.version}`,
      )
    }
  })
}
