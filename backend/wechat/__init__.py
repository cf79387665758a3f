"""The WeChat mini-program server API, spoken through httpx against ``JINLIN_WECHAT_API_BASE``."""
