/**
 * The entry tiles each role sees on the home page. Features that are not built yet are listed with
 * `ready: false` and the page labels them "即将上线" instead of opening anything: people should know
 * what is coming without being sent to an empty screen.
 */
import type { RoleName } from '@/api/types'
import { ME_PAGE, PAGES } from '@/router'

export interface HomeEntry {
  id: string
  title: string
  /** One short line under the title, in plain words. */
  hint: string
  /** Page to open; only for entries that exist. */
  url?: string
  ready: boolean
  /** Show the unread-message count on this tile. */
  badge?: 'inbox' | 'queue'
}

const soon = (id: string, title: string, hint: string): HomeEntry => ({ id, title, hint, ready: false })
const go = (id: string, title: string, hint: string, url: string, badge?: HomeEntry['badge']): HomeEntry => ({
  id,
  title,
  hint,
  url,
  ready: true,
  ...(badge ? { badge } : {}),
})
const ME: HomeEntry = go('me', '我的', '个人信息、身份、退出登录', ME_PAGE)
const INBOX = go('inbox', '消息', '办理进展和提醒', PAGES.inbox, 'inbox')

export const HOME_ENTRIES: Record<RoleName, HomeEntry[]> = {
  resident: [
    go('report', '我要报事', '发现问题，拍照告诉社区', PAGES.reportNew),
    go('my-reports', '我的报事', '看办理进度，给结果打分', PAGES.reportsMine),
    go('help', '找人帮忙', '代购、送餐、陪诊', PAGES.help),
    go('market', '爱心超市', '用爱心积分换物品，可送上门', PAGES.store),
    go('orders', '我的订单', '送货进度，收到后确认', PAGES.orders),
    go('points', '积分和时长', '爱心积分、时间银行', PAGES.ledger),
    go('board', '社区晒榜', '每月办理结果公开', PAGES.board),
    INBOX,
    ME,
  ],
  volunteer: [
    go('tasks-nearby', '附近任务', '看看身边谁需要帮忙', PAGES.taskHall),
    go('my-tasks', '我的任务', '取货、送达、我的活动', PAGES.tasksMine),
    go('time-bank', '时间银行', '服务时长和星级', PAGES.ledger),
    go('pairs', '帮扶对子', '我长期结对的邻居', PAGES.tasksMine),
    INBOX,
    ME,
  ],
  party_member: [
    go('visits', '联户走访', '走访我联系的住户，离线也能记', PAGES.visitPlan),
    go('visit-ledger', '走访台账', '本月走访记录', PAGES.visitMonth),
    go('tasks-nearby', '附近任务', '看看身边谁需要帮忙', PAGES.taskHall),
    INBOX,
    ME,
  ],
  building_head: [
    soon('building-reports', '楼院报事', '本楼院居民反映的问题'),
    soon('visits', '入户走访', '上门看看，记录情况'),
    soon('weather-station', '民情记录', '把居民说的事记下来'),
    INBOX,
    ME,
  ],
  grid_worker: [
    go('grid-inbox', '网格待办', '本网格新报的事，实时到达', PAGES.reportQueue, 'queue'),
    go('visits', '入户走访', '走访打卡，离线也能记', PAGES.visitPlan),
    go('visit-ledger', '走访台账', '本月走访记录', PAGES.visitMonth),
    soon('residents', '网格居民', '重点人群和住户'),
    go('report-on-behalf', '代居民报事', '居民打电话来，帮他登记', PAGES.onBehalf),
    INBOX,
    ME,
  ],
  grid_leader: [
    go('grid-inbox', '网格待办', '本网格新报的事，实时到达', PAGES.reportQueue, 'queue'),
    go('dispatch', '分派与升级', '受理、办结或上报社区', PAGES.reportQueue),
    go('visit-coverage', '走访覆盖', '各网格员走访完成情况', PAGES.visitMonth),
    go('three-rates', '三率统计', '响应率、解决率、满意率', PAGES.dashboard),
    INBOX,
    ME,
  ],
  community_staff: [
    go('dispatch', '报事分派', '受理、办结、升级、吹哨', PAGES.reportQueue, 'queue'),
    go('whistle', '吹哨部门', '打开事项，叫职能部门来报到', PAGES.reportQueue),
    soon('deliberation', '议事协商', '组织居民商量办法'),
    go('on-behalf', '代居民办理', '替没有手机的居民报事、下单、求助', PAGES.onBehalf),
    go('stock', '爱心超市管理', '入库、上架、确认取货', PAGES.stock),
    go('board', '月度晒榜', '本月结果公开', PAGES.board),
    go('dashboard', '数据看板', '三率和办理情况', PAGES.dashboard),
    INBOX,
    ME,
  ],
  street_staff: [
    go('escalated', '升级事项', '社区办不了的事', PAGES.reportQueue, 'queue'),
    go('whistle', '吹哨报到', '打开事项，协调职能部门', PAGES.reportQueue),
    go('three-rates', '三率考核', '各社区响应率、解决率、满意率', PAGES.dashboard),
    go('board', '月度晒榜', '各社区本月结果', PAGES.board),
    INBOX,
    ME,
  ],
  department_staff: [
    go('whistle-inbox', '吹哨待报到', '被叫到的事项，先报到', PAGES.whistles),
    go('handling', '办理中', '报到后填写办理进展', PAGES.whistles),
    INBOX,
    ME,
  ],
  admin: [
    soon('org', '组织架构', '街道、社区、网格'),
    soon('accounts', '账号与身份', '人员和角色'),
    soon('settings', '系统设置', '参数和开关'),
    INBOX,
    ME,
  ],
}

export function entriesFor(role: string | null | undefined): HomeEntry[] {
  return (role && HOME_ENTRIES[role as RoleName]) || [ME]
}
