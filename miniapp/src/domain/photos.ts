/** A photo chosen on the phone, before and after upload (what <jl-photo-picker> holds). */
export interface PickedPhoto {
  /** Local path (temp file on mp-weixin, blob: URL on H5). */
  path: string
  /** Media id once uploaded; null when the upload is deferred (offline visits). */
  id: number | null
  url: string | null
}

/** The media ids of the uploaded photos, for a request body. */
export const photoIds = (photos: PickedPhoto[]): number[] =>
  photos.map((p) => p.id).filter((id): id is number => id !== null)
