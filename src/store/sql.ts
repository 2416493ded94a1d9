/**
 * The SQL store every implementation honours: Postgres over Neon's HTTP driver (Workers, Lambda),
 * `pg` over TCP (Node), and embedded PGlite (the zero-setup default).
 *
 * Transactions are batches, not interactive: Neon's HTTP endpoint can only run a list of statements
 * atomically, so that is the contract for all of them. Anything that must read-then-write
 * atomically is written as one statement (CTEs, ON CONFLICT, UPDATE … RETURNING).
 *
 * Values come back normalised the same way everywhere (the contract suite checks it):
 * int2/int4/int8/float/numeric → number, bool → boolean, timestamptz/timestamp → Date,
 * json/jsonb → parsed value, text[] → string[], NULL → null.
 */
export interface Statement {
  /** Postgres text with `$1`, `$2` … placeholders. */
  text: string
  params?: readonly unknown[]
}

export type Row = Record<string, unknown>

export interface Sql {
  /** Which implementation this is, for logs and `/health/readiness`. */
  readonly kind: 'neon-http' | 'pg' | 'pglite'
  query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]>
  /** Runs the statements in one transaction, all or nothing; returns each statement's rows. */
  transaction(statements: readonly Statement[]): Promise<Row[][]>
  close(): Promise<void>
}
