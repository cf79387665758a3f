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

// ---- paging
export interface PageOf<T> {
  items: T[]
  next_cursor?: string | null
}

// ---- reports (说议办评晒)
export type Category = Schemas['CategoryOut']
export type SubCategory = Schemas['SubCategoryOut']
export type ReportIn = Schemas['ReportIn']
export type ReportItem = Schemas['ReportItem']
export type Report = Schemas['ReportOut']
export type ReportStatus = Schemas['ReportStatus']
export type TimelineEvent = Schemas['TimelineEvent']
export type SimilarReport = Schemas['SimilarOut']
export type SupportOut = Schemas['SupportOut']
export type RateIn = Schemas['RateIn']
export type ResolveIn = Schemas['backend__reports__schemas__ResolveIn']
export type EscalateIn = Schemas['EscalateIn']
export type RequestInfoIn = Schemas['RequestInfoIn']
export type ProvideInfoIn = Schemas['ProvideInfoIn']
export type AcceptIn = Schemas['AcceptIn']
export type WhistleIn = Schemas['WhistleIn']
export type Whistle = Schemas['WhistleOut']
export type WhistleTarget = Schemas['WhistleTargetOut']
export type ProgressIn = Schemas['ProgressIn']
export type Board = Schemas['BoardOut']
export type RateRow = Schemas['RateRow']
export type BoardRow = Schemas['BoardRow']
export type Channel = Schemas['Channel']

// ---- media
export type Media = Schemas['MediaOut']

// ---- org and people
export type Unit = Schemas['UnitOut']
export type OrgLevel = Schemas['OrgLevel']
export type Department = Schemas['DepartmentOut']
export type UserOut = Schemas['UserOut']

// ---- 爱心超市 and tasks
export type Store = Schemas['StoreOut']
export type StoreItem = Schemas['ItemOut']
export type ItemIn = Schemas['ItemIn']
export type MovementIn = Schemas['MovementIn']
export type Movement = Schemas['MovementOut']
export type MovementKind = Schemas['MovementKind']
export type DonorKind = Schemas['DonorKind']
export type OrderIn = Schemas['OrderIn']
export type Order = Schemas['OrderOut']
export type Fulfilment = Schemas['Fulfilment']
export type Task = Schemas['TaskOut']
export type TaskStatus = Schemas['TaskStatus']
export type TaskEvent = Schemas['TaskEventOut']
export type HelpKind = Schemas['HelpKindOut']
export type HelpRequestIn = Schemas['HelpRequestIn']
export type DeliverIn = Schemas['DeliverIn']

// ---- volunteers
export type VolunteerProfile = Schemas['ProfileOut']
export type RegistrationIn = Schemas['RegistrationIn']
export type Pairing = Schemas['PairingOut']
export type Activity = Schemas['ActivityOut']

// ---- ledger (时间银行, 爱心积分)
export type MyLedger = Schemas['MyLedger']
export type StatementLine = Schemas['StatementLine']
export type Currency = Schemas['Currency']
export type MonthlyStatement = Schemas['MonthlyStatement']
export type AwardIn = Schemas['AwardIn']

// ---- notifications
export type InboxItem = Schemas['InboxItemOut']
export type InboxPage = Schemas['InboxPage']
export type UnreadCount = Schemas['UnreadCount']
export type Template = Schemas['TemplateOut']
export type ConsentChoice = Schemas['ConsentChoice']
export type SubscriptionsOut = Schemas['SubscriptionsOut']

// ---- visits (入户走访, 走访台账)
export type VisitIn = Schemas['VisitIn']
export type Visit = Schemas['VisitOut']
export type SyncIn = Schemas['SyncIn']
export type SyncOut = Schemas['SyncOut']
export type SyncResult = Schemas['SyncResult']
export type VisitConflict = Schemas['ConflictOut']
export type Plan = Schemas['PlanOut']
export type PlanItem = Schemas['PlanItem']
export type VisitTag = Schemas['TagOut']
export type VisitMonth = Schemas['MonthOut']
export type MonthStats = Schemas['MonthStats']
export type LedgerReport = Schemas['LedgerReportOut']
