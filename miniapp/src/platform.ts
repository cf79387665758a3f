/**
 * Which target this bundle was compiled for. uni-app replaces `process.env.UNI_PLATFORM`
 * at build time ("h5", "mp-weixin"); unit tests set it through vitest's `define`.
 */
export const platform: string = process.env.UNI_PLATFORM || 'h5'
export const isH5 = platform === 'h5'
export const isMpWeixin = platform === 'mp-weixin'
