/** Part of the Sql contract (sql.contract.ts): migrate() on fresh databases, alone and concurrently. */
import { describe, expect, it } from 'vitest'
import { migrate } from '../../src/store/migrate'
import { ALL_MIGRATIONS } from '../../src/store/migrations/index'
import type { SqlDatabase } from './sql.contract'

export function migrateTests(fresh: () => Promise<SqlDatabase>): void {
  describe('migrate()', () => {
    it('applies every migration once, and a second run is a no-op', async () => {
      const target = await fresh()
      try {
        const messages: string[] = []
        const versions = ALL_MIGRATIONS.map((m) => m.version)
        expect(versions.slice(0, 2)).toEqual([1, 2])
        expect(await migrate(target.sql, ALL_MIGRATIONS, (m) => messages.push(m))).toEqual(versions)
        expect(messages).toEqual(
          ALL_MIGRATIONS.map((m) => `schema migration ${m.version} (${m.name}) applied`),
        )
        expect(await migrate(target.sql)).toEqual([])
        const rows = await target.sql.query(
          'SELECT version, name, applied_at FROM multillm_schema_migrations ORDER BY version',
        )
        expect(rows).toEqual(
          ALL_MIGRATIONS.map((m) => ({ version: m.version, name: m.name, applied_at: expect.any(Date) })),
        )
        // A LiteLLM table with its UTC defaults, read back through the normalisation.
        const [key] = await target.sql.query(
          `INSERT INTO "LiteLLM_VerificationToken" (token, models) VALUES ($1, $2) RETURNING *`,
          ['hashed', ['m1']],
        )
        expect(key).toMatchObject({
          token: 'hashed',
          spend: 0,
          models: ['m1'],
          metadata: {},
          expires: null,
        })
        expect(key?.created_at).toBeInstanceOf(Date)
        expect(Math.abs(Number(key?.created_at) - Date.now())).toBeLessThan(10_000)
      } finally {
        await target.sql.close()
        await target.drop()
      }
    })

    it('lets two instances migrate a fresh database at once: both succeed, one version row', async () => {
      const target = await fresh()
      const other = target.another()
      try {
        const [a, b] = await Promise.all([migrate(target.sql), migrate(other)])
        // Every version applied exactly once, by one instance or the other.
        expect([...a, ...b].sort((x, y) => x - y)).toEqual(ALL_MIGRATIONS.map((m) => m.version))
        expect(await target.sql.query('SELECT count(*) AS n FROM multillm_schema_migrations')).toEqual([
          { n: ALL_MIGRATIONS.length },
        ])
      } finally {
        await other.close()
        await target.sql.close()
        await target.drop()
      }
    })
  })
}
