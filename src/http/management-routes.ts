import type { IRequest, IttyRouterType } from 'itty-router'
import type { Gateway } from './context'
import { generateKeyRoute } from './keys-generate'
import { keyInfoRoute, listKeysRoute } from './keys-read'
import { regenerateKeyRoute } from './keys-regenerate'
import { blockKeyRoute, deleteKeysRoute, updateKeyRoute } from './keys-write'
import {
  blockTeamRoute,
  deleteTeamsRoute,
  listTeamsRoute,
  newTeamRoute,
  teamInfoRoute,
  updateTeamRoute,
} from './teams-routes'
import { deleteUsersRoute, newUserRoute, updateUserRoute, userInfoRoute } from './users-routes'

type Handler = (request: IRequest, gw: Gateway) => Promise<Response>

/** /key/*, /user/*, /team/*: LiteLLM's management API (master key only, a key may read itself). */
export function registerManagementRoutes(router: IttyRouterType, gw: Gateway): void {
  const on = (handler: Handler) => (request: IRequest) => handler(request, gw)
  router
    .post('/key/generate', on(generateKeyRoute))
    .get('/key/info', on(keyInfoRoute))
    .get('/key/list', on(listKeysRoute))
    .post('/key/update', on(updateKeyRoute))
    .post('/key/delete', on(deleteKeysRoute))
    .post('/key/block', on(blockKeyRoute(true)))
    .post('/key/unblock', on(blockKeyRoute(false)))
    .post('/key/regenerate', on(regenerateKeyRoute))
    .post('/key/:key/regenerate', on(regenerateKeyRoute))
    .post('/user/new', on(newUserRoute))
    .get('/user/info', on(userInfoRoute))
    .post('/user/update', on(updateUserRoute))
    .post('/user/delete', on(deleteUsersRoute))
    .post('/team/new', on(newTeamRoute))
    .get('/team/info', on(teamInfoRoute))
    .post('/team/update', on(updateTeamRoute))
    .post('/team/delete', on(deleteTeamsRoute))
    .get('/team/list', on(listTeamsRoute))
    .post('/team/block', on(blockTeamRoute(true)))
    .post('/team/unblock', on(blockTeamRoute(false)))
}
