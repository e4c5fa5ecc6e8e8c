"""What a place is made of: the fields every place has, where its location can come
from, and each kind's own fields (kept in its detail table)."""
from __future__ import annotations

from dataclasses import dataclass

from importers import values
from importers.fields import Field
from layers import kinds

# Fields stored in `places`, in order of priority when matching columns.
PLACE_FIELDS = (
    Field("source_id", values.text, ("id", "ref", "reference", "identifier", "asset_id",
                                     "asset_ref", "record_id", "uid", "uuid", "objectid", "fid"),
          column="source_id", help="the file's own id for the row; re-importing updates it"),
    Field("name", values.text, ("title", "asset_name", "group_name", "place_name", "site_name",
                                "building_name", "building", "property_name", "property",
                                "premises", "venue", "hub_name", "organisation",
                                "organisation_name", "org_name"),
          column="name", required=True),
    Field("description", values.text, ("desc", "about", "summary", "details", "notes"),
          column="description"),
    Field("address", values.text, ("full_address", "street_address", "site_address",
                                   "property_address", "address_line_1", "location",
                                   "location_name"), column="address"),
    Field("postcode", values.postcode, ("post_code", "postal_code", "pcds", "pcd", "zip",
                                        "zip_code"), column="postcode",
          help="also places the row when it has no coordinates"),
    Field("website", values.url, ("url", "web", "web_address", "homepage", "site", "link",
                                  "link_facebook", "facebook"), column="website",
          on_invalid="warning"),
    Field("phone", values.text, ("telephone", "tel", "phone_number", "telephone_number",
                                 "contact.phone", "contact_phone", "contact_number", "mobile"),
          column="phone"),
    Field("email", values.email, ("e_mail", "email_address", "contact.email", "contact_email",
                                  "mail"), column="email", on_invalid="warning"),
    Field("phone_public", values.boolean, ("show_phone", "publish_phone"),
          column="phone_public", sql_type="boolean"),
    Field("email_public", values.boolean, ("show_email", "publish_email"),
          column="email_public", sql_type="boolean"),
    Field("accessibility", values.text, ("access", "access_information", "wheelchair_access"),
          column="accessibility"),
    Field("opening_hours", values.text, ("hours", "opening_times", "times"),
          column="opening_hours"),
    Field("last_verified", values.date, ("verified", "date_verified", "last_checked",
                                         "date_checked", "updated_at", "last_updated",
                                         "date_updated", "updated"),
          column="last_verified", sql_type="date"),
    Field("location_precision", values.choice(
        {"exact": "exact", "point": "exact", "street": "street", "road": "street",
         "area": "area", "approximate": "area"}, "location precision"),
        ("precision",), column="location_precision"),
    Field("categories", values.lower_text_list, ("category", "tags", "activities",
                                                 "activity", "type"),
          column="categories", sql_type="text[]"),
)

# Where a row's location can come from; none is stored as such.
LOCATION_FIELDS = (
    Field("latitude", values.text, ("lat", "y", "location_coord.lat", "coord.lat",
                                    "coordinates.lat", "geo.lat", "lat_wgs84", "wgs84_lat")),
    Field("longitude", values.text, ("lon", "lng", "long", "x", "location_coord.lng",
                                     "location_coord.lon", "coord.lng", "coord.lon",
                                     "coordinates.lng", "geo.lng", "lon_wgs84", "wgs84_lon")),
    Field("easting", values.text, ("eastings", "east", "oseast1m", "x_bng", "bng_x",
                                   "grid_easting")),
    Field("northing", values.text, ("northings", "north", "osnrth1m", "y_bng", "bng_y",
                                    "grid_northing")),
    Field("wkt", values.text, ("geometry", "geom", "the_geom", "wkt_geom", "shape",
                               "geometry_wkt", "footprint", "polygon")),
)


@dataclass(frozen=True)
class Kind:
    """One kind of place as a file is read into it: the kind (layers/kinds.py) and how a
    file's columns become its detail table's fields."""
    place: kinds.PlaceKind
    fields: tuple[Field, ...]
    # Values for the detail table's NOT NULL columns when the file has none.
    defaults: tuple[tuple[str, str], ...] = ()
    # A file with links and no website column gives the first link as the website.
    website_from_links: bool = False

    @property
    def command(self) -> str:
        return self.place.command

    @property
    def kind(self) -> str:
        return self.place.id

    @property
    def table(self) -> str:
        return self.place.table

    @property
    def contacts_public(self) -> bool:
        return self.place.contacts_public


KINDS = {kind.command: kind for kind in (
    Kind(kinds.COMMUNITY_ASSET, (
        Field("operator", values.text, ("run_by", "managed_by", "operated_by", "provider"),
              column="operator"),
        Field("volunteering", values.boolean, ("volunteers", "volunteers_wanted",
                                               "volunteering_opportunities"),
              column="volunteering", sql_type="boolean"),
        Field("booking_url", values.url, ("booking", "booking_link", "book_online"),
              column="booking_url", on_invalid="warning"),
    ), defaults=(("volunteering", "false"),)),
    Kind(kinds.TRANSFERRED_BUILDING, (
        Field("transfer_date", values.date, ("date_transferred", "date_of_transfer",
                                             "transferred", "completion_date"),
              column="transfer_date", sql_type="date"),
        Field("tenure", values.choice(
            {"freehold": "freehold", "leasehold": "leasehold", "lease": "leasehold",
             "licence": "licence", "license": "licence"}, "tenure"), (), column="tenure"),
        Field("lease_end", values.date, ("lease_expiry", "lease_end_date", "lease_expires"),
              column="lease_end", sql_type="date"),
        Field("receiving_organisation", values.text, ("receiving_org", "transferred_to",
                                                      "recipient", "new_owner"),
              column="receiving_organisation"),
        Field("former_use", values.text, ("previous_use", "formerly", "original_use"),
              column="former_use"),
        Field("uprn", values.text, (), column="uprn"),
    )),
    Kind(kinds.MUTUAL_AID_GROUP, (
        Field("area_served", values.text, ("area", "served_area", "location_name",
                                           "coverage_name"), column="area_served"),
        Field("links", values.url_list, ("link", "link_facebook", "facebook", "links_facebook",
                                          "whatsapp"), column="links", sql_type="text[]",
              on_invalid="warning"),
        Field("coverage", values.text, ("location_poly", "coverage_area", "coverage_wkt"),
              column="coverage", sql_type="geometry"),
    ), defaults=(("links", "'{}'"),), website_from_links=True),
    Kind(kinds.HUB, (
        Field("hub_type", values.choice(
            {"responsehub": "response_hub", "response": "response_hub",
             "communityresponsehub": "response_hub", "hub": "response_hub",
             "anchororganisation": "anchor_organisation", "anchor": "anchor_organisation",
             "anchororganization": "anchor_organisation"}, "hub type"),
            ("type",), column="hub_type"),
        Field("services", values.lower_text_list, ("offers", "support"), column="services",
              sql_type="text[]"),
        Field("area_served", values.text, ("area", "served_area", "location_name"),
              column="area_served"),
    ), defaults=(("hub_type", "'response_hub'"), ("services", "'{}'"))),
)}
