"""Skills a volunteer can declare, and team kinds (labels shown in the mini-program)."""

from __future__ import annotations

SKILLS = {
    "delivery": "配送跑腿",
    "shopping": "代购",
    "meals": "送餐",
    "escort": "陪诊陪护",
    "cleaning": "清洁整理",
    "visiting": "上门探望",
    "repair": "家电维修",
    "medical": "医护",
    "driving": "驾车",
    "sign_language": "手语",
}
TEAM_KINDS = (
    "退役军人志愿服务队",
    "红色物业队",
    "在职党员服务队",
    "巾帼志愿服务队",
    "青年志愿服务队",
    "其他",
)
