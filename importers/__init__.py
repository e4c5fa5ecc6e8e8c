"""Loaders that bring councils' files into PostGIS: read, normalise, validate, stage, merge."""

VERSION = "0.1.0"
