/**
 * Names for the API types the app uses, all taken from the generated `schema.d.ts`
 * (`npm run gen:api` from shared/openapi.json). Never hand-write a response shape here: alias the schema.
 */
import type { components } from './schema'

type Schemas = components['schemas']

export type RoleName = Schemas['Role']
export type TokenPair = Schemas['TokenPair']
export type WechatLoginResult = Schemas['WechatTokenPair']
export type DevAccount = Schemas['DevAccount']
export type DevAccountList = Schemas['DevAccounts']
/** One role a user holds, and where (org unit or department). */
export type RoleAssignment = Schemas['GrantOut']
/** The signed-in user; `phone_masked` is already masked by the server ("138****0000"). */
export type Me = Schemas['Me']
export type ServerError = Schemas['ErrorBody']

export type DevLoginBody = Schemas['DevLoginIn']
export type PasswordLoginBody = Schemas['PasswordLoginIn']
export type WechatLoginBody = Schemas['WechatLoginIn']
export type RefreshBody = Schemas['RefreshIn']
