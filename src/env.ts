/** Environment variables as injected by the adapter (process.env on Node/Lambda, bindings on Workers). */
export type Env = Readonly<Record<string, string | undefined>>
