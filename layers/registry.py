"""The layer registry: one entry per published layer, saying where its rows live, which
fields it publishes (with the SQL that yields each) and which filters it takes.

Every feed — OGC API items, downloads, vector tiles, nearest — reads this registry, so a
layer is added or changed here and nowhere else. SQL fragments here are constants written
by us; values from requests never enter them (see layers/sql.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from layers.kinds import KINDS, PRECISIONS, Field, PlaceKind, all_detail_fields

PLACE_KINDS = tuple(KINDS)


@dataclass(frozen=True)
class Source:
    """A table that several layers are cut from, and how its rows are read."""

    table: str
    alias: str
    # The public feature id and its type (integer ids become GDAL FIDs).
    id_sql: str
    id_type: str
    # What may be published: for places, the public location, never the private point.
    geom: str
    geom_bng: str
    updated: str
    # Rows that exist for the public (places are soft-deleted).
    live: str
    search: tuple[str, ...]
    # Joins every layer of this source needs for its fields.
    joins: tuple[str, ...] = ()


# The view `published_places` (migration 0006) is the one statement of what the public
# may see of a place: live places only, no address or postcode for an area-level group,
# contacts only when published, and the public point, never the imported one.
PLACES = Source(
    table="published_places", alias="p", id_sql="p.id", id_type="integer",
    geom="p.geom", geom_bng="p.geom_bng", updated="p.updated_at",
    live="TRUE", search=("p.name", "p.description"),
    joins=("LEFT JOIN areas w ON w.kind = 'ward' AND w.code = p.ward_code",),
)
# Opportunities (migration 0008): open ones only, at their place's public point.
OPPORTUNITIES = Source(
    table="published_opportunities", alias="v", id_sql="v.id::text", id_type="string",
    geom="v.geom", geom_bng="v.geom_bng", updated="v.updated_at",
    live="TRUE", search=("v.title", "v.description"),
    joins=("LEFT JOIN areas w ON w.kind = 'ward' AND w.code = v.ward_code",),
)
# Need against provision per LSOA and target group (migration 0008, docs/measures.md).
NEED = Source(
    table="published_lsoa_need", alias="n", id_sql="n.id", id_type="string",
    geom="n.geom", geom_bng="n.geom_bng", updated="n.updated_at",
    live="TRUE", search=("n.lsoa_name", "n.lsoa_code"),
)
AREAS = Source(
    table="areas", alias="a", id_sql="a.code", id_type="string",
    geom="a.geom", geom_bng="a.geom_bng", updated="a.updated_at",
    live="TRUE", search=("a.name", "a.code"),
)


@dataclass(frozen=True)
class Layer:
    id: str
    title: str
    description: str
    source: Source
    # The constant predicate that picks this layer's rows from its source.
    where: str
    fields: tuple[Field, ...]
    filters: tuple[str, ...]
    joins: tuple[str, ...] = ()
    # The few properties vector tiles carry (tiles stay small; the full record is a click away).
    tile_fields: tuple[str, ...] = ()
    geometry: str = "geometry-any"
    keywords: tuple[str, ...] = field(default_factory=tuple)

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def is_places(self) -> bool:
        return self.source is PLACES

    @property
    def queryables(self) -> tuple[Field, ...]:
        """The fields a CQL2 filter may use: those read from the source's own row (a filter
        runs before the page's joins; a joined field is there to be read, not searched)."""
        alias = self.source.alias
        return tuple(f for f in self.fields
                     if set(re.findall(r"\b([a-z_]\w*)\.", f.sql)) <= {alias})


PLACE_FIELDS = (
    Field("name", "p.name", "string", "Name"),
    Field("kind", "p.kind", "string", "Kind of place", PLACE_KINDS),
    Field("categories", "p.categories", "string[]", "Categories"),
    Field("description", "p.description", "string", "Description"),
    Field("address", "p.address", "string", "Address"),
    Field("postcode", "p.postcode", "string", "Postcode"),
    Field("website", "p.website", "string", "Website"),
    Field("phone", "p.phone", "string", "Telephone"),
    Field("email", "p.email", "string", "E-mail"),
    Field("opening_hours", "p.opening_hours", "string", "Opening hours"),
    Field("accessibility", "p.accessibility", "string", "Accessibility"),
    Field("last_verified", "p.last_verified", "date", "Last checked"),
    Field("location_precision", "p.location_precision", "string", "Location precision",
          PRECISIONS),
    Field("ward_code", "p.ward_code", "string", "Ward code"),
    Field("ward_name", "w.name", "string", "Ward"),
    Field("neighbourhood_codes", "p.neighbourhood_codes", "string[]",
          "Priority neighbourhood codes"),
    Field("updated_at", "p.updated_at", "date-time", "Last updated"),
)

# The places layer carries every kind's detail fields (null where they do not apply), so
# its schema is the same on every row, as GDAL and spreadsheets expect.
ALL_DETAIL_FIELDS = all_detail_fields()

PLACE_FILTERS = ("ward", "neighbourhood", "category", "q", "updated_since", "open", "age",
                 "language")
PLACE_TILE_FIELDS = ("name", "kind", "categories", "ward_code", "location_precision")

AREA_FIELDS = (
    Field("code", "a.code", "string", "Code"),
    Field("name", "a.name", "string", "Name"),
    Field("vintage", "a.vintage", "string", "Boundary vintage"),
    Field("population", "a.population", "integer", "Residents"),
    Field("population_0_15", "a.population_0_15", "integer", "Residents aged 0-15"),
    Field("population_16_59", "a.population_16_59", "integer", "Residents aged 16-59"),
    Field("population_60_plus", "a.population_60_plus", "integer", "Residents aged 60 and over"),
    Field("imd_rank", "a.imd_rank", "integer", "Index of Multiple Deprivation rank"),
    Field("imd_decile", "a.imd_decile", "integer",
          "Index of Multiple Deprivation decile (1 = most deprived)"),
    Field("updated_at", "a.updated_at", "date-time", "Last updated"),
)
AREA_TILE_FIELDS = ("code", "name", "population", "imd_decile")

# Named as the Volunteering Data Standard names them where it has a name (importers and
# docs/importing.md say which).
OPPORTUNITY_FIELDS = (
    Field("title", "v.title", "string", "Title"),
    Field("description", "v.description", "string", "What you would do"),
    Field("commitment", "v.commitment", "string", "Time commitment",
          ("one-off", "regular", "flexible")),
    Field("hours_per_week", "v.hours_per_week", "number", "Hours a week"),
    Field("schedule", "v.schedule_text", "string", "When"),
    Field("days", "v.days", "string[]", "Days (MO to SU)"),
    Field("start_date", "v.starts_on", "date", "Starts on"),
    Field("closing_date", "v.closes_on", "date", "Closing date"),
    Field("minimum_age", "v.minimum_age", "integer", "Minimum age"),
    Field("dbs_check", "v.dbs_check", "boolean", "DBS check needed"),
    Field("skills", "v.skills", "string[]", "Skills wanted"),
    Field("accessibility", "v.accessibility", "string", "Accessibility"),
    Field("apply_url", "v.apply_url", "string", "How to apply: link"),
    Field("apply_email", "v.apply_email", "string", "How to apply: e-mail"),
    Field("apply_phone", "v.apply_phone", "string", "How to apply: telephone"),
    Field("initiative", "v.initiative_id", "string", "Initiative"),
    Field("initiative_name", "v.initiative_name", "string", "Initiative name"),
    Field("organisation_name", "v.organisation_name", "string", "Organisation"),
    Field("place_id", "v.place_id", "integer", "Place number"),
    Field("place_name", "v.place_name", "string", "Place"),
    Field("location_precision", "v.location_precision", "string", "Location precision",
          PRECISIONS),
    Field("ward_code", "v.ward_code", "string", "Ward code"),
    Field("ward_name", "w.name", "string", "Ward"),
    Field("updated_at", "v.updated_at", "date-time", "Last updated"),
)
OPPORTUNITY_TILE_FIELDS = ("title", "commitment", "initiative", "place_id")

NEED_FIELDS = (
    Field("lsoa_code", "n.lsoa_code", "string", "LSOA code"),
    Field("lsoa_name", "n.lsoa_name", "string", "LSOA"),
    Field("ward_code", "n.ward_code", "string", "Ward code"),
    Field("ward_name", "n.ward_name", "string", "Ward"),
    Field("measure", "n.measure", "string", "Measure: everyone, or an initiative's target group"),
    Field("target_group", "n.target_group", "string", "Target group"),
    Field("population", "n.population", "integer", "Residents"),
    Field("population_0_15", "n.population_0_15", "integer", "Residents aged 0-15"),
    Field("population_16_59", "n.population_16_59", "integer", "Residents aged 16-59"),
    Field("population_60_plus", "n.population_60_plus", "integer", "Residents aged 60 and over"),
    Field("imd_decile", "n.imd_decile", "integer",
          "Index of Multiple Deprivation decile (1 = most deprived)"),
    Field("target_residents", "n.target_residents", "integer", "Residents in the target group"),
    Field("places_within", "n.places_within", "integer", "Places within 800 m"),
    Field("opportunities_within", "n.opportunities_within", "integer",
          "Open opportunities within 800 m"),
    Field("covered_share", "n.covered_share", "number",
          "Share of the LSOA within 800 m of an open opportunity"),
    Field("residents_not_covered", "n.residents_not_covered", "integer",
          "Target residents farther than 800 m from an open opportunity"),
    Field("deprivation_weight", "n.deprivation_weight", "number",
          "Deprivation weight: (11 - IMD decile) / 10"),
    Field("need_score", "n.need_score", "integer",
          "Need without provision: residents not covered x deprivation weight"),
    Field("updated_at", "n.updated_at", "date-time", "Boundary last updated"),
)
NEED_TILE_FIELDS = ("lsoa_code", "measure", "need_score", "imd_decile")


def _place_layer(kind: PlaceKind) -> Layer:
    return Layer(id=kind.layer, title=kind.plural, description=kind.description, source=PLACES,
                 where=f"p.kind = '{kind.id}'", fields=PLACE_FIELDS + kind.fields,
                 filters=PLACE_FILTERS, joins=(kind.join,),
                 tile_fields=PLACE_TILE_FIELDS, geometry="geometry-point",
                 keywords=("community", kind.id.replace("_", " ")))


def _area_layer(id, title, description, kind, filters):
    return Layer(id=id, title=title, description=description, source=AREAS,
                 where=f"a.kind = '{kind}'", fields=AREA_FIELDS, filters=filters,
                 tile_fields=AREA_TILE_FIELDS, geometry="geometry-multipolygon",
                 keywords=("boundaries", kind))


LAYERS: dict[str, Layer] = {layer.id: layer for layer in (
    *(_place_layer(kind) for kind in KINDS.values()),
    Layer(id="places", title="All places",
          description="Every published place of all four kinds: community assets, "
                      "transferred buildings, mutual aid groups and hubs.",
          source=PLACES, where="TRUE", fields=PLACE_FIELDS + ALL_DETAIL_FIELDS,
          filters=PLACE_FILTERS + ("kind",), joins=tuple(kind.join for kind in KINDS.values()),
          tile_fields=PLACE_TILE_FIELDS, geometry="geometry-point", keywords=("community",)),
    Layer(id="volunteering-opportunities", title="Volunteering opportunities",
          description="Ways to give back: open volunteering opportunities at community "
                      "places, with Kirklees' \"I'm in\" initiatives. Each leaves the layer "
                      "the day after it closes.",
          source=OPPORTUNITIES, where="TRUE", fields=OPPORTUNITY_FIELDS,
          filters=("ward", "q", "updated_since"), tile_fields=OPPORTUNITY_TILE_FIELDS,
          geometry="geometry-point", keywords=("volunteering", "I'm in")),
    Layer(id="lsoa-need", title="Need against provision by LSOA",
          description="For each LSOA, everyone and each initiative's target group: residents, "
                      "deprivation, places and opportunities within 800 m, and the need "
                      "without provision score (docs/measures.md). One feature per LSOA "
                      "and measure.",
          source=NEED, where="TRUE", fields=NEED_FIELDS, filters=("ward", "q"),
          tile_fields=NEED_TILE_FIELDS, geometry="geometry-multipolygon",
          keywords=("volunteering", "deprivation", "need")),
    _area_layer("wards", "Wards", "Kirklees electoral wards, with their residents.",
                "ward", ("ward", "q", "updated_since")),
    _area_layer("priority-neighbourhoods", "Priority neighbourhoods",
                "The council's priority neighbourhoods: the most deprived parts of Kirklees.",
                "neighbourhood", ("ward", "neighbourhood", "q", "updated_since")),
    _area_layer("lsoas", "Lower layer super output areas",
                "Census small areas with residents by age and the Index of Multiple "
                "Deprivation.", "lsoa", ("ward", "neighbourhood", "q", "updated_since")),
)}


def get_layer(layer_id: str) -> Layer | None:
    return LAYERS.get(layer_id)
