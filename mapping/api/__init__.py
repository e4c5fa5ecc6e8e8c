"""For GIS teams and other services: OGC API - Features, GeoJSON and CSV downloads, vector tiles, nearest, profiles, the OpenAPI document and the data page."""
