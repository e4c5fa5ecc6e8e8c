"""The kinds of place, stated once: each kind's id, its names for people, its command and
layer, its detail table and the fields that table publishes.

Everything that differs by kind is derived from `KINDS`: the layer registry and its
feeds, the importers and the CLI's and upload form's choices, the pages' labels, marker
letters and colours, the demo, and the editor's tables. Adding a kind is one entry here
(and its import fields in importers/kinds.py), a migration for its detail table and a
test.
"""
from __future__ import annotations

from dataclasses import dataclass


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
class PlaceKind:
    """One kind of place."""

    # What `places.kind` holds.
    id: str
    # The import command and the upload form's value: `assetmap import assets`.
    command: str
    # The published layer of this kind alone.
    layer: str
    # The detail table, keyed by place_id, and its alias in the published SQL.
    table: str
    alias: str
    plural: str
    singular: str
    # For narrow table headings.
    short: str
    # On the map's markers, so a kind is told apart by more than its colour.
    letter: str
    colour: str
    description: str
    # Whether phone and e-mail are shown unless a column or option says otherwise.
    contacts_public: bool
    # The detail table's published fields.
    fields: tuple[Field, ...]

    @property
    def join(self) -> str:
        """The detail table joined to a published place `p`."""
        return f"LEFT JOIN {self.table} {self.alias} ON {self.alias}.place_id = p.id"


COMMUNITY_ASSET = PlaceKind(
    id="community_asset", command="assets", layer="community-assets",
    table="community_assets", alias="ca",
    plural="Community assets", singular="Community asset", short="Assets", letter="C",
    colour="#1d70b8",
    description="Community centres, libraries, sports clubs, food banks, loneliness and "
                "mentoring groups, and other places that make up community life in Kirklees.",
    contacts_public=True,
    fields=(
        Field("operator", "ca.operator", "string", "Run by"),
        Field("volunteering", "ca.volunteering", "boolean", "Offers volunteering"),
        Field("booking_url", "ca.booking_url", "string", "Booking link"),
    ))
TRANSFERRED_BUILDING = PlaceKind(
    id="transferred_building", command="transfers", layer="transferred-buildings",
    table="transferred_buildings", alias="tb",
    plural="Transferred buildings", singular="Transferred building", short="Buildings",
    letter="B", colour="#6f3c97",
    description="Buildings passed from the council to community organisations through "
                "community asset transfer.",
    contacts_public=True,
    fields=(
        Field("transfer_date", "tb.transfer_date", "date", "Transferred on"),
        Field("tenure", "tb.tenure", "string", "Tenure", ("freehold", "leasehold", "licence")),
        Field("lease_end", "tb.lease_end", "date", "Lease ends"),
        Field("receiving_organisation", "tb.receiving_organisation", "string",
              "Receiving organisation"),
        Field("former_use", "tb.former_use", "string", "Former use"),
        Field("uprn", "tb.uprn", "string", "UPRN"),
    ))
MUTUAL_AID_GROUP = PlaceKind(
    id="mutual_aid_group", command="mutual-aid", layer="mutual-aid-groups",
    table="mutual_aid_groups", alias="mg",
    plural="Mutual aid groups", singular="Mutual aid group", short="Mutual aid", letter="M",
    colour="#b35900",
    description="Neighbourhood mutual aid groups. Groups run from volunteers' homes are shown "
                "at the area they cover, never at a home.",
    # Most are run from volunteers' homes: their contacts are private unless they say.
    contacts_public=False,
    fields=(
        Field("area_served", "mg.area_served", "string", "Area served"),
        Field("links", "mg.links", "string[]", "Links"),
    ))
HUB = PlaceKind(
    id="hub", command="hubs", layer="hubs", table="hubs", alias="h",
    plural="Community hubs", singular="Community hub", short="Hubs", letter="H",
    colour="#00703c",
    description="The four Community Response Hubs and the eight voluntary and community "
                "sector anchor organisations.",
    contacts_public=True,
    fields=(
        Field("hub_type", "h.hub_type", "string", "Type of hub",
              ("response_hub", "anchor_organisation")),
        Field("services", "h.services", "string[]", "Services"),
        Field("area_served", "h.area_served", "string", "Area served"),
    ))

# How exact a place's location is: `area` is a group run from a home, shown at its area.
PRECISIONS = ("exact", "street", "area")

# In the order the pages list them.
KINDS: dict[str, PlaceKind] = {kind.id: kind for kind in (
    COMMUNITY_ASSET, TRANSFERRED_BUILDING, MUTUAL_AID_GROUP, HUB)}
BY_COMMAND: dict[str, PlaceKind] = {kind.command: kind for kind in KINDS.values()}


def all_detail_fields() -> tuple[Field, ...]:
    """Every kind's detail fields once each, for a layer of all kinds: a field that two
    kinds share (`area_served`) is the first non-null of theirs."""
    by_name: dict[str, list[Field]] = {}
    for kind in KINDS.values():
        for field in kind.fields:
            by_name.setdefault(field.name, []).append(field)
    return tuple(
        same[0] if len(same) == 1 else Field(
            name, "coalesce(" + ", ".join(f.sql for f in same) + ")", same[0].type,
            same[0].title, same[0].enum)
        for name, same in by_name.items())
