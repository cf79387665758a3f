"""Media: photo uploads shared by every domain (reports, deliveries, home visits).

Upload (``POST /api/v1/media``) checks type and size, re-encodes the image (dropping EXIF, GPS included) and
returns an id; a domain attaches ids to its object with ``service.attach``; clients fetch files through signed,
short-lived URLs that only an authorised read hands out (docs/adr/0013).
"""
