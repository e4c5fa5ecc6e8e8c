"""What follows any change to areas: places reassigned, populations summed upwards."""
from __future__ import annotations

from sqlalchemy import text

POPULATION_COLUMNS = ("population", "population_0_15", "population_16_59", "population_60_plus")


def hold_areas(connection, change: bool) -> None:
    """Keep boundary changes and place loads apart until this transaction ends.

    Place loads write each place with its areas already looked up; a boundary load
    reassigns every place it can see. Were they to overlap, a place loaded meanwhile
    could keep areas from the old boundaries. Place loads share the lock; boundary
    loads (`change`) take it alone.
    """
    function = "pg_advisory_xact_lock" if change else "pg_advisory_xact_lock_shared"
    connection.execute(text(f"SELECT {function}(hashtext('assetmap: areas'))"))


def reassign_places(connection) -> int:
    """Every place's ward, LSOA and neighbourhoods from the current boundaries; returns
    how many places' assignment changed."""
    return connection.execute(text("SELECT assetmap_assign_areas()")).scalar_one()


def roll_up_population(connection) -> int:
    """Wards' and neighbourhoods' populations as the sum of the LSOAs whose inside point
    they hold (LSOAs nest in 2011 wards; priority neighbourhoods are made of LSOAs)."""
    if not connection.execute(text(
            "SELECT EXISTS (SELECT 1 FROM areas WHERE kind = 'lsoa' AND population IS NOT NULL)"
    )).scalar():
        return 0
    sums = ", ".join(f"sum(l.{c}) AS {c}" for c in POPULATION_COLUMNS)
    return connection.execute(text(f"""
        UPDATE areas a SET {', '.join(f'{c} = t.{c}' for c in POPULATION_COLUMNS)}
          FROM (SELECT w.id, {sums}
                  FROM areas w JOIN areas l
                    ON l.kind = 'lsoa' AND ST_Intersects(w.geom, ST_PointOnSurface(l.geom))
                 WHERE w.kind IN ('ward', 'neighbourhood')
                 GROUP BY w.id) t
         WHERE a.id = t.id
           AND ({', '.join('a.' + c for c in POPULATION_COLUMNS)}) IS DISTINCT FROM
               ({', '.join('t.' + c for c in POPULATION_COLUMNS)})""")).rowcount
