"""All Tortoise models, one module per aggregate (Polar keeps ORM models together so domains never import
each other's routers).

Each module names its Tortoise app in ``APP`` (one app per domain, each with its own migrations package under
``backend/migrations/<app>/``); ``backend.core.db`` discovers the modules, so adding a domain touches no shared
file. Import models from their module: ``from backend.models.org import OrgUnit``.
"""
