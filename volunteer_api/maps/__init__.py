"""The corruption-risk map: every site as a GeoJSON point with its risk level."""
