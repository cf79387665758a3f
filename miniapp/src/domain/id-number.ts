/** 18-digit resident ID numbers (GB 11643): the check digit catches most typing mistakes before the server does. */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const CHECK = '10X98765432'

export function validIdNumber(raw: string): boolean {
  const s = raw.trim().toUpperCase()
  if (!/^\d{17}[\dX]$/.test(s)) return false
  const sum = WEIGHTS.reduce((acc, w, i) => acc + w * Number(s[i]), 0)
  return CHECK[sum % 11] === s[17]
}
