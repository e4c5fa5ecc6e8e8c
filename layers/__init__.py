"""The layer registry and the SQL that serves layers as GeoJSON, CSV and vector tiles."""
