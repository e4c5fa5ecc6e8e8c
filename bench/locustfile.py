"""Mixed public traffic for the load and soak runs: the map page, feeds, nearest, tiles.

Weights follow what an evening after a press release looks like: most people open the
map and search near them; a few pull a ward's layer or pan across tiles.
"""
import random

from locust import HttpUser, between, task

from bench import data


def _tile(lon, lat, z=14):
    import math

    n = 2 ** z
    return int((lon + 180) / 360 * n), int(
        (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


_x, _y = _tile(*data.NEAREST_POINT)
TILES_Z14 = [(_x + dx, _y + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]


class Resident(HttpUser):
    wait_time = between(0.5, 2)

    @task(4)
    def map_page(self):
        self.client.get("/", name="/")

    @task(4)
    def nearest(self):
        lon, lat = data.NEAREST_POINT
        self.client.get(f"/api/nearest?lon={lon + random.uniform(-0.05, 0.05):.5f}"
                        f"&lat={lat + random.uniform(-0.03, 0.03):.5f}&limit=10",
                        name="/api/nearest")

    @task(3)
    def places_feed(self):
        self.client.get("/layers/places.geojson?kind=community_asset&category=library",
                        name="/layers/places.geojson")

    @task(2)
    def ogc_bbox(self):
        minx, miny, maxx, maxy = data.BUSY_BBOX
        shift = random.uniform(-0.02, 0.02)
        self.client.get(f"/ogc/collections/community-assets/items?bbox={minx + shift},{miny},"
                        f"{maxx + shift},{maxy}&limit=200", name="/ogc/.../items?bbox")

    @task(3)
    def tiles(self):
        x, y = random.choice(TILES_Z14)
        with self.client.get(f"/tiles/community-assets/14/{x}/{y}.mvt", name="/tiles/z14",
                             catch_response=True) as response:
            if response.status_code in (200, 204):
                response.success()
