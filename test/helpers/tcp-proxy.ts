import { once } from 'node:events'
import { createServer, type Socket, connect as tcpConnect } from 'node:net'

/**
 * How a cut proxy fails:
 * - `refuse`: current connections are reset and new ones closed at once (a database restart);
 * - `hold`: current connections are reset, new ones accepted but left unanswered until `restore()`;
 * - `blackhole`: current connections go silent and stay open forever, unanswered even after
 *   `restore()` (a peer that vanished without a reset: failover to another host, a dropped route);
 *   new ones are held until `restore()`.
 */
export type CutMode = 'refuse' | 'hold' | 'blackhole'

export interface TcpProxy {
  host: string
  port: number
  /** Takes the service away from whoever connects through this proxy (see CutMode). */
  cut(mode?: CutMode): void
  /** Forwards again; connections held during the cut are connected upstream now. */
  restore(): void
  /** Connections accepted so far (forwarded, refused or held). */
  readonly accepted: number
  close(): Promise<void>
}

/**
 * A TCP forwarder between a process and a service (e.g. a gateway and Postgres), so a test can take
 * the service away from that one process while everyone else keeps reaching it.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  /** Forwarding pairs: closing either side closes both. */
  const live = new Map<Socket, Socket>()
  /** Accepted during a cut, not yet forwarded. */
  const held = new Set<Socket>()
  /** Silenced by a blackhole cut: never forwarded, never closed (until close()). */
  const silent = new Set<Socket>()
  let mode: CutMode | undefined
  let accepted = 0

  const forward = (client: Socket) => {
    const upstream = tcpConnect(target)
    live.set(client, upstream)
    const end = () => {
      live.delete(client)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    // pipe() resumes a socket paused while it was held, so nothing it sent meanwhile is lost.
    client.pipe(upstream)
    upstream.pipe(client)
  }

  const hold = (client: Socket) => {
    held.add(client)
    client.pause()
    const drop = () => held.delete(client)
    client.on('error', drop).on('close', drop)
  }

  const silence = (client: Socket, upstream: Socket) => {
    client.unpipe(upstream)
    upstream.unpipe(client)
    client.removeAllListeners('error').removeAllListeners('close')
    upstream.removeAllListeners('error').removeAllListeners('close')
    client.on('error', () => {})
    upstream.on('error', () => {})
    client.pause()
    upstream.destroy()
    silent.add(client)
  }

  const server = createServer((client) => {
    accepted++
    if (mode === 'refuse') client.destroy()
    else if (mode) hold(client)
    else forward(client)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('tcp proxy has no port')

  return {
    host: '127.0.0.1',
    port: address.port,
    get accepted() {
      return accepted
    },
    cut(next = 'refuse') {
      mode = next
      const pairs = [...live]
      live.clear()
      for (const [client, upstream] of pairs) {
        if (next === 'blackhole') silence(client, upstream)
        else client.destroy()
      }
    },
    restore() {
      mode = undefined
      for (const client of held) {
        client.removeAllListeners('error').removeAllListeners('close')
        if (!client.destroyed) forward(client)
      }
      held.clear()
    },
    async close() {
      mode = 'refuse'
      for (const [client, upstream] of live) {
        client.destroy()
        upstream.destroy()
      }
      for (const socket of [...held, ...silent]) socket.destroy()
      live.clear()
      held.clear()
      silent.clear()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
