/** Environment variables as injected by the adapter (the process environment on Node and Lambda, string bindings on Workers). */
export type Env = Readonly<Record<string, string | undefined>>
