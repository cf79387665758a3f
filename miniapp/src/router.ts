/** Page paths used in code, kept next to pages.json so a rename breaks one place (tested). */
export const LOGIN_PAGE = '/pages/login/index'
export const HOME_PAGE = '/pages/home/index'
export const ME_PAGE = '/pages/me/index'
