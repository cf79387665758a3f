/**
 * The entry tiles each role sees on the home page. Features that are not built yet are listed with
 * `ready: false` and the page labels them "即将上线" instead of opening anything: people should know
 * what is coming without being sent to an empty screen.
 */
import type { RoleName } from '@/api/types'
import { ME_PAGE } from '@/router'

export interface HomeEntry {
  id: string
  title: string
  /** One short line under the title, in plain words. */
  hint: string
  /** Page to open; only for entries that exist. */
  url?: string
  ready: boolean
}

const soon = (id: string, title: string, hint: string): HomeEntry => ({ id, title, hint, ready: false })
const ME: HomeEntry = { id: 'me', title: '我的', hint: '个人信息、身份、退出登录', url: ME_PAGE, ready: true }

export const HOME_ENTRIES: Record<RoleName, HomeEntry[]> = {
  resident: [
    soon('report', '我要报事', '发现问题，拍照告诉社区'),
    soon('my-reports', '我的报事', '看办理进度，给结果打分'),
    soon('help', '找人帮忙', '代购、送餐、陪诊'),
    soon('market', '爱心超市', '用爱心积分换物品，可送上门'),
    soon('board', '社区晒榜', '每月办理结果公开'),
    ME,
  ],
  volunteer: [
    soon('tasks-nearby', '附近任务', '看看身边谁需要帮忙'),
    soon('my-tasks', '我的任务', '领取、取货、送达'),
    soon('time-bank', '时间银行', '服务时长存起来，以后用'),
    soon('pairs', '帮扶对子', '我长期结对的邻居'),
    ME,
  ],
  party_member: [
    soon('visits', '联户走访', '走访我联系的住户'),
    soon('visit-ledger', '走访台账', '本月走访记录'),
    soon('tasks-nearby', '附近任务', '看看身边谁需要帮忙'),
    ME,
  ],
  building_head: [
    soon('building-reports', '楼院报事', '本楼院居民反映的问题'),
    soon('visits', '入户走访', '上门看看，记录情况'),
    soon('weather-station', '民情记录', '把居民说的事记下来'),
    ME,
  ],
  grid_worker: [
    soon('grid-inbox', '网格待办', '本网格新报的事'),
    soon('visits', '入户走访', '走访打卡，离线也能记'),
    soon('visit-ledger', '走访台账', '本月走访记录'),
    soon('residents', '网格居民', '重点人群和住户'),
    soon('report-on-behalf', '代居民报事', '居民打电话来，帮他登记'),
    ME,
  ],
  grid_leader: [
    soon('grid-inbox', '网格待办', '本网格新报的事'),
    soon('dispatch', '分派与升级', '交给网格员或上报社区'),
    soon('visit-coverage', '走访覆盖', '各网格员走访完成情况'),
    soon('three-rates', '三率统计', '响应率、解决率、满意率'),
    ME,
  ],
  community_staff: [
    soon('dispatch', '报事分派', '分派、升级、限时办理'),
    soon('whistle', '吹哨部门', '叫职能部门来报到'),
    soon('deliberation', '议事协商', '组织居民商量办法'),
    soon('on-behalf', '代居民办理', '替没有手机的居民办事'),
    soon('board', '月度晒榜', '生成并公开本月结果'),
    soon('dashboard', '数据看板', '三率和办理情况'),
    ME,
  ],
  street_staff: [
    soon('escalated', '升级事项', '社区办不了的事'),
    soon('whistle', '吹哨报到', '协调职能部门'),
    soon('three-rates', '三率考核', '各社区响应率、解决率、满意率'),
    soon('board', '月度晒榜', '全街道本月结果'),
    ME,
  ],
  department_staff: [
    soon('whistle-inbox', '吹哨待报到', '被叫到的事项，先报到'),
    soon('handling', '办理中', '正在处理的事项'),
    ME,
  ],
  admin: [
    soon('org', '组织架构', '街道、社区、网格'),
    soon('accounts', '账号与身份', '人员和角色'),
    soon('settings', '系统设置', '参数和开关'),
    ME,
  ],
}

export function entriesFor(role: string | null | undefined): HomeEntry[] {
  return (role && HOME_ENTRIES[role as RoleName]) || [ME]
}
