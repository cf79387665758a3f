"""Open311 GeoReport v2 over reports (see docs/open311.md)."""
