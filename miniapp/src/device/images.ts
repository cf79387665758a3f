/** Photos from the camera or the album (uni.chooseImage): local paths to upload through src/api/media. */
export function chooseImages(count: number): Promise<string[]> {
  return new Promise((resolve) => {
    if (count <= 0) return resolve([])
    uni.chooseImage({
      count,
      sizeType: ['compressed'],
      sourceType: ['camera', 'album'],
      success: (res) => resolve((res.tempFilePaths as string[]).slice(0, count)),
      fail: () => resolve([]), // cancelled: nothing chosen
    })
  })
}
