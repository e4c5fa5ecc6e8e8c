"""A ward's or neighbourhood's map rendered by folium, for printing and embedding.

folium normally loads Leaflet, jQuery, Bootstrap and Font Awesome from CDNs; here the map
loads only the app's own copy of Leaflet (mapping/assets.py) and uses nothing that needs
the rest (no popups, no icon fonts). Text from imported data reaches folium's inline
JavaScript only HTML-escaped, with the characters a JavaScript template string treats
specially escaped as well.
"""
from __future__ import annotations

import html

import folium
from shapely.geometry import shape

from layers.kinds import KINDS
from mapping.core.assets import vendor_url
from mapping.display import KIND_LABELS

KIND_COLOURS = {kind.id: kind.colour for kind in KINDS.values()}


def escape_for_folium(value: str) -> str:
    """HTML-escaped, and safe inside the `...` template strings folium writes tooltips into."""
    return (html.escape(value, quote=True)
            .replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;"))


class LocalMap(folium.Map):
    """A folium map that loads Leaflet from this app, not from a CDN."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_js = [("leaflet", vendor_url("leaflet", "leaflet.js"))]
        self.default_css = [("leaflet_css", vendor_url("leaflet", "leaflet.css"))]


def area_map_html(area: dict, settings, icon_url: str | None = None) -> str:
    title = f"{area['name']}: community places"
    figure = folium.Figure(title=escape_for_folium(title))
    bounds = shape(area["geometry"]).bounds
    centre = [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2]
    fmap = LocalMap(location=centre, zoom_start=13, tiles=None, control_scale=True)
    fmap.add_to(figure)
    folium.TileLayer(settings.basemap_url, attr=settings.basemap_attribution,
                     max_zoom=19).add_to(fmap)
    for other in area["overlapping"]:
        folium.GeoJson(other["geometry"], style_function=lambda _: {
            "color": "#b35900", "weight": 2, "dashArray": "6 4", "fillColor": "#b35900",
            "fillOpacity": 0.12}, tooltip=escape_for_folium(other["name"])).add_to(fmap)
    folium.GeoJson(area["geometry"], style_function=lambda _: {
        "color": "#0b0c0c", "weight": 3, "fill": False}).add_to(fmap)
    for place in area["places"]:
        folium.CircleMarker(
            [place["lat"], place["lon"]], radius=6, weight=2, color="#ffffff",
            fill=True, fill_color=KIND_COLOURS[place["kind"]], fill_opacity=1,
            tooltip=escape_for_folium(place["name"])).add_to(fmap)
    fmap.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    figure.header.add_child(folium.Element(_style()), name="assetmap_style")
    if icon_url:
        figure.header.add_child(folium.Element(
            f'<link rel="icon" href="{html.escape(icon_url)}" type="image/svg+xml">'),
            name="assetmap_icon")
    figure.html.add_child(folium.Element(_caption(area)), name="assetmap_caption")
    page = figure.render()
    # folium's page has no language and stops people zooming: both fail WCAG.
    page = page.replace("<html>", '<html lang="en-GB">', 1)
    # The map and its key are the page's main content (one landmark holds everything).
    page = page.replace("<body>", "<body>\n<main>", 1)
    head, _, tail = page.rpartition("</body>")
    page = head + "</main>\n</body>" + tail
    return page.replace("maximum-scale=1.0, user-scalable=no", "")


def _style() -> str:
    return """<style>
.assetmap-caption { position: absolute; z-index: 1000; right: 10px; top: 10px;
  background: #fff; color: #0b0c0c; padding: 8px 12px; border: 2px solid #0b0c0c;
  font: 14px/1.4 system-ui, Arial, sans-serif; max-width: 18rem; }
.assetmap-caption h1 { font-size: 16px; margin: 0 0 4px; }
.assetmap-caption ul { list-style: none; margin: 0; padding: 0; }
.assetmap-caption .swatch { display: inline-block; width: 12px; height: 12px;
  border-radius: 50%; margin-right: 6px; vertical-align: -1px; }
.assetmap-caption .line { display: inline-block; width: 18px; height: 0; margin-right: 6px;
  vertical-align: 3px; }
main { display: block; position: absolute; inset: 0; }
@media print { .leaflet-control-zoom { display: none; } }
</style>"""


def _caption(area: dict) -> str:
    present = [kind for kind in KIND_COLOURS if area["counts"].get(kind)]
    items = "".join(
        f'<li><span class="swatch" style="background:{KIND_COLOURS[k]}"></span>'
        f"{html.escape(KIND_LABELS[k])} ({area['counts'][k]})</li>" for k in present)
    other = "priority neighbourhood" if area["kind"] == "ward" else "ward"
    if area["overlapping"]:
        items += (f'<li><span class="line" style="border-top:2px dashed #b35900"></span>'
                  f"{other.capitalize()}</li>")
    items += '<li><span class="line" style="border-top:3px solid #0b0c0c"></span>Boundary</li>'
    return (f'<div class="assetmap-caption"><h1>{escape_for_folium(area["name"])}</h1>'
            f"<ul>{items}</ul></div>")
