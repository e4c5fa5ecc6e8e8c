"""The layer registry: one entry per published layer, saying where its rows live, which
fields it publishes (with the SQL that yields each) and which filters it takes.

Every feed — OGC API items, downloads, vector tiles, nearest — reads this registry, so a
layer is added or changed here and nowhere else. SQL fragments here are constants written
by us; values from requests never enter them (see layers/sql.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

PLACE_KINDS = ("community_asset", "transferred_building", "mutual_aid_group", "hub")


@dataclass(frozen=True)
class Field:
    """A published property: its name, the SQL that yields it, and its JSON Schema type."""

    name: str
    sql: str
    # string, integer, number, boolean, date, date-time or string[]
    type: str
    title: str
    enum: tuple[str, ...] | None = None


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
          ("exact", "street", "area")),
    Field("ward_code", "p.ward_code", "string", "Ward code"),
    Field("ward_name", "w.name", "string", "Ward"),
    Field("neighbourhood_codes", "p.neighbourhood_codes", "string[]",
          "Priority neighbourhood codes"),
    Field("updated_at", "p.updated_at", "date-time", "Last updated"),
)

COMMUNITY_ASSET_FIELDS = (
    Field("operator", "ca.operator", "string", "Run by"),
    Field("volunteering", "ca.volunteering", "boolean", "Offers volunteering"),
    Field("booking_url", "ca.booking_url", "string", "Booking link"),
)
TRANSFERRED_BUILDING_FIELDS = (
    Field("transfer_date", "tb.transfer_date", "date", "Transferred on"),
    Field("tenure", "tb.tenure", "string", "Tenure", ("freehold", "leasehold", "licence")),
    Field("lease_end", "tb.lease_end", "date", "Lease ends"),
    Field("receiving_organisation", "tb.receiving_organisation", "string",
          "Receiving organisation"),
    Field("former_use", "tb.former_use", "string", "Former use"),
    Field("uprn", "tb.uprn", "string", "UPRN"),
)
MUTUAL_AID_FIELDS = (
    Field("area_served", "mg.area_served", "string", "Area served"),
    Field("links", "mg.links", "string[]", "Links"),
)
HUB_FIELDS = (
    Field("hub_type", "h.hub_type", "string", "Type of hub", ("response_hub", "anchor_organisation")),
    Field("services", "h.services", "string[]", "Services"),
    Field("area_served", "h.area_served", "string", "Area served"),
)
DETAIL_JOINS = {
    "community_asset": "LEFT JOIN community_assets ca ON ca.place_id = p.id",
    "transferred_building": "LEFT JOIN transferred_buildings tb ON tb.place_id = p.id",
    "mutual_aid_group": "LEFT JOIN mutual_aid_groups mg ON mg.place_id = p.id",
    "hub": "LEFT JOIN hubs h ON h.place_id = p.id",
}
# The places layer carries every kind's detail fields (null where they do not apply), so
# its schema is the same on every row, as GDAL and spreadsheets expect.
ALL_DETAIL_FIELDS = (
    COMMUNITY_ASSET_FIELDS + TRANSFERRED_BUILDING_FIELDS
    + (Field("area_served", "coalesce(mg.area_served, h.area_served)", "string", "Area served"),
       Field("links", "mg.links", "string[]", "Links"),
       Field("hub_type", "h.hub_type", "string", "Type of hub",
             ("response_hub", "anchor_organisation")),
       Field("services", "h.services", "string[]", "Services"))
)

PLACE_FILTERS = ("ward", "neighbourhood", "category", "q", "updated_since")
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


def _place_layer(id, title, description, kind, details):
    return Layer(id=id, title=title, description=description, source=PLACES,
                 where=f"p.kind = '{kind}'", fields=PLACE_FIELDS + details,
                 filters=PLACE_FILTERS, joins=(DETAIL_JOINS[kind],),
                 tile_fields=PLACE_TILE_FIELDS, geometry="geometry-point",
                 keywords=("community", kind.replace("_", " ")))


def _area_layer(id, title, description, kind, filters):
    return Layer(id=id, title=title, description=description, source=AREAS,
                 where=f"a.kind = '{kind}'", fields=AREA_FIELDS, filters=filters,
                 tile_fields=AREA_TILE_FIELDS, geometry="geometry-multipolygon",
                 keywords=("boundaries", kind))


LAYERS: dict[str, Layer] = {layer.id: layer for layer in (
    _place_layer("community-assets", "Community assets",
                 "Community centres, libraries, sports clubs, food banks, loneliness and "
                 "mentoring groups, and other places that make up community life in Kirklees.",
                 "community_asset", COMMUNITY_ASSET_FIELDS),
    _place_layer("transferred-buildings", "Transferred buildings",
                 "Buildings passed from the council to community organisations through "
                 "community asset transfer.", "transferred_building",
                 TRANSFERRED_BUILDING_FIELDS),
    _place_layer("mutual-aid-groups", "Mutual aid groups",
                 "Neighbourhood mutual aid groups. Groups run from volunteers' homes are shown "
                 "at the area they cover, never at a home.", "mutual_aid_group",
                 MUTUAL_AID_FIELDS),
    _place_layer("hubs", "Community hubs",
                 "The four Community Response Hubs and the eight voluntary and community "
                 "sector anchor organisations.", "hub", HUB_FIELDS),
    Layer(id="places", title="All places",
          description="Every published place of all four kinds: community assets, "
                      "transferred buildings, mutual aid groups and hubs.",
          source=PLACES, where="TRUE", fields=PLACE_FIELDS + ALL_DETAIL_FIELDS,
          filters=PLACE_FILTERS + ("kind",), joins=tuple(DETAIL_JOINS.values()),
          tile_fields=PLACE_TILE_FIELDS, geometry="geometry-point", keywords=("community",)),
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
