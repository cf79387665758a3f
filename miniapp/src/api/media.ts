/** /api/v1/media: photo uploads (multipart through uni.uploadFile; stored re-encoded without EXIF). */
import { http } from '@/http'
import type { Media } from './types'

export const uploadPhoto = (filePath: string, opts: { toast?: boolean } = {}) =>
  http.upload<Media>({ url: '/api/v1/media', filePath, name: 'file', toast: opts.toast })

/** Signed media URLs are relative to the API origin; `<image>` needs them absolute on mp-weixin. */
export const mediaSrc = (url: string) => http.absoluteUrl(url)
