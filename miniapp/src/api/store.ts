/** /api/v1/store: the 爱心超市 catalogue, orders, and (for community staff) items and stock. */
import { http } from '@/http'
import type { ItemIn, Movement, MovementIn, Order, OrderIn, PageOf, Store, StoreItem } from './types'

const S = '/api/v1/store'

export const stores = () => http.get<Store[]>(`${S}/stores`)
export const catalogue = (storeId: number) => http.get<StoreItem[]>(`${S}/stores/${storeId}/items`)
export const placeOrder = (body: OrderIn) => http.post<Order>(`${S}/orders`, body)
export const myOrders = (cursor?: string | null) => http.get<PageOf<Order>>(`${S}/orders/mine`, { cursor, limit: 20 })
export const order = (id: number) => http.get<Order>(`${S}/orders/${id}`)
export const cancelOrder = (id: number, reason?: string) => http.post<Order>(`${S}/orders/${id}/cancel`, { reason })

// store staff
export const createItem = (storeId: number, body: ItemIn) => http.post<StoreItem>(`${S}/stores/${storeId}/items`, body)
export const recordMovement = (itemId: number, body: MovementIn) =>
  http.post<Movement>(`${S}/items/${itemId}/movements`, body)
export const movements = (itemId: number) => http.get<PageOf<Movement>>(`${S}/items/${itemId}/movements`, { limit: 20 })
export const lowStock = () => http.get<StoreItem[]>(`${S}/low-stock`)
