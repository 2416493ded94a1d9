import type { Counters } from './counters'
import type { Sql } from './sql'

/** The two stores a gateway instance shares with its peers, opened by the adapter and injected. */
export interface Stores {
  sql: Sql
  counters: Counters
}
