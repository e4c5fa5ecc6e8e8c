"""ORM models (GeoAlchemy2) mirroring the Alembic schema, for editing and admin work.

The migrations are the schema's source of truth; hot read paths use the SQL in
`layers/`, not these classes. tests/test_schema.py checks the two agree.
"""
from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

KINDS = ("community_asset", "transferred_building", "mutual_aid_group", "hub")
PRECISIONS = ("exact", "street", "area")
AREA_KINDS = ("ward", "neighbourhood", "lsoa")


class Base(DeclarativeBase):
    pass


class ImportRun(Base):
    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(Text)
    run_by: Mapped[str] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text)
    inserted: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    pruned: Mapped[int] = mapped_column(Integer)
    invalid: Mapped[int] = mapped_column(Integer)
    warnings: Mapped[int] = mapped_column(Integer)
    importer_version: Mapped[str] = mapped_column(Text)


class Place(Base):
    __tablename__ = "places"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    source_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    categories: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    address: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    phone_public: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(Text)
    email_public: Mapped[bool] = mapped_column(Boolean, default=False)
    accessibility: Mapped[str | None] = mapped_column(Text)
    opening_hours: Mapped[str | None] = mapped_column(Text)
    last_verified: Mapped[dt.date | None] = mapped_column(Date)
    location_precision: Mapped[str] = mapped_column(Text, default="exact")
    geom = mapped_column(Geometry(srid=4326, spatial_index=False), nullable=False)
    geom_bng = mapped_column(Geometry(srid=27700, spatial_index=False),
                             Computed("ST_Transform(geom, 27700)"))
    ward_code: Mapped[str | None] = mapped_column(Text)
    lsoa_code: Mapped[str | None] = mapped_column(Text)
    neighbourhood_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    import_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    community_asset: Mapped[CommunityAsset | None] = relationship(back_populates="place")
    transferred_building: Mapped[TransferredBuilding | None] = relationship(back_populates="place")
    mutual_aid_group: Mapped[MutualAidGroup | None] = relationship(back_populates="place")
    hub: Mapped[Hub | None] = relationship(back_populates="place")


class CommunityAsset(Base):
    __tablename__ = "community_assets"

    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"),
                                          primary_key=True)
    operator: Mapped[str | None] = mapped_column(Text)
    volunteering: Mapped[bool] = mapped_column(Boolean, default=False)
    booking_url: Mapped[str | None] = mapped_column(Text)
    place: Mapped[Place] = relationship(back_populates="community_asset")


class TransferredBuilding(Base):
    __tablename__ = "transferred_buildings"

    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"),
                                          primary_key=True)
    transfer_date: Mapped[dt.date | None] = mapped_column(Date)
    tenure: Mapped[str | None] = mapped_column(Text)
    lease_end: Mapped[dt.date | None] = mapped_column(Date)
    receiving_organisation: Mapped[str | None] = mapped_column(Text)
    former_use: Mapped[str | None] = mapped_column(Text)
    uprn: Mapped[str | None] = mapped_column(Text)
    place: Mapped[Place] = relationship(back_populates="transferred_building")


class MutualAidGroup(Base):
    __tablename__ = "mutual_aid_groups"

    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"),
                                          primary_key=True)
    coverage = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    area_served: Mapped[str | None] = mapped_column(Text)
    links: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    place: Mapped[Place] = relationship(back_populates="mutual_aid_group")


class Hub(Base):
    __tablename__ = "hubs"

    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"),
                                          primary_key=True)
    hub_type: Mapped[str] = mapped_column(Text, default="response_hub")
    services: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    area_served: Mapped[str | None] = mapped_column(Text)
    place: Mapped[Place] = relationship(back_populates="hub")


class PlaceLink(Base):
    __tablename__ = "place_links"

    from_place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"),
                                               primary_key=True)
    to_place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"),
                                             primary_key=True)
    relation: Mapped[str] = mapped_column(Text, primary_key=True)


class Area(Base):
    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    vintage: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)
    geom_bng = mapped_column(Geometry("MULTIPOLYGON", srid=27700, spatial_index=False),
                             Computed("ST_Transform(geom, 27700)"))
    population: Mapped[int | None] = mapped_column(Integer)
    population_0_15: Mapped[int | None] = mapped_column(Integer)
    population_16_59: Mapped[int | None] = mapped_column(Integer)
    population_60_plus: Mapped[int | None] = mapped_column(Integer)
    imd_rank: Mapped[int | None] = mapped_column(Integer)
    imd_decile: Mapped[int | None] = mapped_column(SmallInteger)
    import_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Postcode(Base):
    __tablename__ = "postcodes"

    postcode: Mapped[str] = mapped_column(Text)
    postcode_key: Mapped[str] = mapped_column(
        Text, Computed("replace(upper(postcode), ' ', '')"), primary_key=True)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    source: Mapped[str | None] = mapped_column(Text)
    import_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id"))
