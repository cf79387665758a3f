"""Notifications: a durable inbox (the truth), hints over WebSocket, WeChat subscribe messages.

Other domains call ``notify`` inside their own ``atomic()`` block, with recipients resolved by rule::

    from backend.notifications import recipients
    from backend.notifications.service import notify

    async with atomic():
        report = await ...  # the caller's own write
        await notify(await recipients.grid_team(grid), "report.created",
                     {"title": "新的居民上报", "body": report.summary, "link": f"pages/reports/detail?id={report.id}"},
                     urgency=Urgency.URGENT)

See docs/notifications.md.
"""
