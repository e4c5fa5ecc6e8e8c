/* Maps on the councillors' and place pages, each an enhancement of a page that is whole
   without it: the wards choropleth (/wards), need by LSOA (/need), one ward or neighbourhood with its places
   (/wards/{code}, /neighbourhoods/{code}) and one place (/places/{id}). */
(function () {
  "use strict";

  var AM = window.AssetMap;
  var config = AM && AM.config();
  var element = document.getElementById("map");
  if (!config || !window.L || !element) return;

  var BOUNDARY = { color: "#0b0c0c", weight: 3, fill: false };
  var OVERLAP = { color: "#b35900", weight: 2, dashArray: "6 4", fillColor: "#b35900", fillOpacity: 0.12 };

  /* Areas shaded by a figure (config.values, by feature id), each a link to its page. */
  function choropleth(feed, link) {
    // Half zoom steps let the district fill the frame; the shading hides any tile seams.
    var map = AM.createMap(element, config, { zoomSnap: 0.5 }).setView([53.645, -1.78], 11);
    AM.fetchJSON(feed + "?properties=name").then(function (collection) {
      var layer = L.geoJSON(collection, {
        style: function (feature) {
          var value = config.values[feature.id] || {};
          return {
            color: "#0b0c0c", weight: 1.5, fillOpacity: value.colour ? 0.85 : 0.3,
            fillColor: value.colour || "#b1b4b6"
          };
        },
        onEachFeature: function (feature, path) {
          var value = config.values[feature.id] || {};
          var figure = value.value === null || value.value === undefined
            ? "no figure" : value.value.toLocaleString("en-GB", { maximumFractionDigits: 1 }) + config.unit;
          path.bindTooltip(AM.el("span", {}, [
            AM.el("strong", { text: value.name || feature.properties.name }), " " + figure
          ]), { sticky: true });
          var target = value.url || (link && link.replace("{code}", encodeURIComponent(feature.id)));
          if (target) {
            path.on("click", function () { window.location.href = target; });
          }
          path.on("mouseover", function () { path.setStyle({ weight: 4 }); });
          path.on("mouseout", function () { path.setStyle({ weight: 1.5 }); });
        }
      }).addTo(map);
      map.fitBounds(layer.getBounds(), { padding: [10, 10], animate: false });
      element.setAttribute("data-shown", String(collection.features.length));
      AM.ready(element);
    }, function () {
      AM.setStatus("The boundaries could not be loaded just now. The table below has every figure.");
      AM.ready(element);
    });
  }

  function wards() { choropleth(config.feeds.wards, config.ward); }

  function need() { choropleth(config.feeds.lsoas, null); }

  function area() {
    var map = AM.createMap(element, config);
    var outline = L.geoJSON(config.area.geometry, { style: BOUNDARY, interactive: false });
    config.overlapping.forEach(function (other) {
      L.geoJSON(other.geometry, { style: OVERLAP })
        .bindTooltip(AM.el("span", { text: other.name }), { sticky: true })
        .on("click", function () { window.location.href = config.overlappingUrl.replace("{code}", encodeURIComponent(other.code)); })
        .addTo(map);
    });
    outline.addTo(map);
    map.fitBounds(outline.getBounds(), { padding: [10, 10], animate: false });
    var gapMarkers = {};
    (config.gaps || []).forEach(function (gap) {
      gapMarkers[gap.kind] = L.marker([gap.lat, gap.lon], {
        icon: L.divIcon({
          className: "gap-marker gap-marker-" + gap.kind, iconSize: [24, 24],
          html: '<span class="gap-diamond" aria-hidden="true"><span>!</span></span>'
        }),
        title: gap.text, alt: gap.text, keyboard: false
      }).bindTooltip(AM.el("span", { text: gap.text })).addTo(map);
    });
    // "Show on the map" beside each gap in the table: centre the map on it and say so.
    Array.prototype.forEach.call(document.querySelectorAll(".show-gap"), function (link) {
      var marker = gapMarkers[link.getAttribute("data-kind")];
      if (!marker) return;
      link.hidden = false;
      link.addEventListener("click", function (event) {
        event.preventDefault();
        map.setView(marker.getLatLng(), 15, { animate: false });
        marker.openTooltip();
        element.scrollIntoView({ block: "center" });
        element.setAttribute("data-centred-on", link.getAttribute("data-kind"));
        AM.setStatus("The map is centred on the gap: " + marker.options.title + ".");
      });
    });
    var clusters = L.markerClusterGroup({
      showCoverageOnHover: false, maxClusterRadius: 35, iconCreateFunction: AM.clusterIcon
    }).addTo(map);
    AM.openPopups(config, clusters);
    AM.fetchJSON(config.feeds.places + "&properties=name,kind,categories,location_precision")
      .then(function (collection) {
        var markers = (collection.features || []).map(function (feature) {
          return AM.placeMarker(config, feature);
        }).filter(Boolean);
        clusters.addLayers(markers);
        element.setAttribute("data-shown", String(markers.length));
        AM.ready(element);
      }, function () {
        AM.setStatus("The places could not be loaded onto the map just now. They are all listed below.");
        AM.ready(element);
      });
  }

  function place() {
    var map = AM.createMap(element, config, { scrollWheelZoom: false });
    var feature = { type: "Feature", id: config.thisPlace.id, geometry: config.thisPlace.geometry,
      properties: { name: config.thisPlace.name, kind: config.thisPlace.kind } };
    if (config.thisPlace.geometry.type !== "Point") {
      var shape = L.geoJSON(config.thisPlace.geometry, { style: OVERLAP, interactive: false }).addTo(map);
      map.fitBounds(shape.getBounds(), { maxZoom: 17, padding: [10, 10], animate: false });
    } else {
      map.setView(AM.markerPosition(config.thisPlace.geometry), 16);
    }
    L.marker(AM.markerPosition(config.thisPlace.geometry), {
      icon: AM.markerIcon(feature.properties.kind), title: config.thisPlace.name, alt: config.thisPlace.name,
      keyboard: false, interactive: false
    }).addTo(map);
    element.setAttribute("data-shown", "1");
    AM.ready(element);
  }

  var modes = { wards: wards, need: need, area: area, place: place };
  var mode = modes[element.getAttribute("data-map")];
  if (mode) mode();
})();
