/** The app's subscribe-message consent (see src/domain/consent.ts): WeChat's dialog on mp-weixin, nothing on H5. */
import * as notificationsApi from '@/api/notifications'
import { createConsent } from '@/domain/consent'
import { platform } from '@/platform'

export const consent = createConsent({
  platform,
  templates: notificationsApi.templates,
  record: notificationsApi.recordSubscriptions,
  request: (tmplIds) =>
    new Promise((resolve) => {
      uni.requestSubscribeMessage({
        tmplIds,
        success: (res) => resolve(res as unknown as Record<string, unknown>),
        fail: () => resolve(null),
      } as UniApp.RequestSubscribeMessageOption)
    }),
})

/** Kinds a resident wants to hear about after filing a report. */
export const REPORT_KINDS = ['report.status']
/** Kinds a volunteer wants after accepting a task. */
export const TASK_KINDS = ['tasks.cancelled', 'tasks.confirmed', 'tasks.offer']
