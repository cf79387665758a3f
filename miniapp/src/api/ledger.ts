/** /api/v1/ledger/me: my 时间银行 hours (minutes) and 爱心积分, with the statement. */
import { http } from '@/http'
import type { Currency, MonthlyStatement, MyLedger, PageOf, StatementLine } from './types'

const L = '/api/v1/ledger'

export const myLedger = () => http.get<MyLedger>(`${L}/me`)
export const myStatement = (currency: Currency, cursor?: string | null) =>
  http.get<PageOf<StatementLine>>(`${L}/me/statement`, { currency, cursor, limit: 20 })
export const myMonth = (month: string, currency: Currency) =>
  http.get<MonthlyStatement>(`${L}/me/statements/${month}`, { currency })
