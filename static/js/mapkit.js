/* Shared by the map pages: reading the page's map settings, the basemap (the pages stay
   usable when it cannot load), place markers, and words for distances.
   Text from the data is only ever set as text (textContent, title), never as HTML. */
(function () {
  "use strict";

  var AssetMap = (window.AssetMap = {});
  var LETTERS = { community_asset: "C", transferred_building: "B", mutual_aid_group: "M", hub: "H" };
  var SAFE_PROTOCOLS = ["http:", "https:", "mailto:", "tel:"];
  var METRES_PER_MINUTE = 80; // 4.8 km/h, as mapping/display.py
  var WALKABLE_METRES = 8000;
  var OUTLINE = { color: "#0b0c0c", weight: 3, fill: false, className: "area-outline" };

  AssetMap.KINDS = Object.keys(LETTERS);

  AssetMap.kindLetter = function (kind) {
    return LETTERS[kind] || "?";
  };

  AssetMap.config = function () {
    var element = document.getElementById("map-config");
    return element ? JSON.parse(element.textContent) : null;
  };

  /* An element with attributes and children; strings become text nodes. */
  AssetMap.el = function (tag, attributes, children) {
    var element = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      var value = attributes[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") element.textContent = value;
      else if (name === "className") element.className = value;
      else element.setAttribute(name, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      element.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return element;
  };

  /* The URL when it is one people can safely follow (http, https, mailto, tel), else null. */
  AssetMap.safeUrl = function (value) {
    if (!value) return null;
    try {
      var url = new URL(String(value).trim(), window.location.href);
      return SAFE_PROTOCOLS.indexOf(url.protocol) >= 0 ? url.href : null;
    } catch (error) {
      return null;
    }
  };

  function halfUp(value) {
    return Math.floor(value + 0.5);
  }

  AssetMap.distanceText = function (metres) {
    if (metres < 10) return "under 10 m";
    if (metres < 1000) return Math.max(10, halfUp(metres / 10) * 10) + " m";
    return (metres / 1000).toFixed(1) + " km";
  };

  /* "350 m, about a 4 minute walk", worded as mapping/display.py words it. */
  AssetMap.walkingDistance = function (metres, precision) {
    if (metres === null || metres === undefined) return "";
    if (metres < 1 && precision === "area") return "Covers this area";
    var shown = AssetMap.distanceText(metres);
    if (metres > WALKABLE_METRES) return shown + " away";
    var minutes = Math.max(1, halfUp(metres / METRES_PER_MINUTE));
    if (minutes < 60) return shown + ", about a " + minutes + " minute walk";
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    return minutes
      ? shown + ", about a " + hours + " hour " + minutes + " minute walk"
      : shown + ", about a " + hours + " hour walk";
  };

  AssetMap.setStatus = function (message) {
    var status = document.getElementById("map-status");
    if (!status) return;
    status.textContent = message || "";
    status.classList.toggle("visible", Boolean(message));
  };

  /* A Leaflet map in `element`, with the configured basemap. Without the basemap (offline,
     blocked, or down) the boundaries, markers and lists still work; people are told. */
  AssetMap.createMap = function (element, config, options) {
    var panel = document.getElementById("map-panel");
    if (panel) panel.hidden = false;
    document.documentElement.classList.add("has-map");
    var map = L.map(element, Object.assign({ maxZoom: 19, minZoom: 8 }, options || {}));
    map.attributionControl.setPrefix(false);
    var loaded = 0;
    var failed = 0;
    var tiles = L.tileLayer(config.basemap.url, {
      attribution: config.basemap.attribution,
      maxZoom: 19
    });
    tiles.on("tileload", function () {
      loaded += 1;
      if (failed) AssetMap.setStatus("");
    });
    tiles.on("tileerror", function () {
      failed += 1;
      if (failed >= 2 && !loaded) {
        element.classList.add("no-basemap");
        AssetMap.setStatus(
          "The background map could not be loaded. Boundaries, places and the list still work."
        );
      }
    });
    tiles.addTo(map);
    // config.outline: an area the page comes with (a place's ward), drawn from the page's
    // own data, so it is there without the basemap, and shown whole once the page's
    // script has set its first view.
    if (config.outline && config.outline.geometry) {
      map.whenReady(function () {
        var outline = L.geoJSON(config.outline.geometry, { style: OUTLINE, interactive: false });
        if (outline.getBounds().isValid()) map.fitBounds(outline.getBounds(), { padding: [10, 10], animate: false });
        outline.addTo(map);
      });
    }
    // Printing changes the map's width; redraw so tiles and shapes fill it.
    window.addEventListener("beforeprint", function () { map.invalidateSize(); });
    if (window.matchMedia) {
      window.matchMedia("print").addEventListener("change", function () { map.invalidateSize(); });
    }
    return map;
  };

  var icons = {};
  /* One icon per kind, shared by every marker of that kind (there may be thousands). */
  AssetMap.markerIcon = function (kind) {
    var known = LETTERS[kind] ? kind : "unknown";
    if (!icons[known]) {
      icons[known] = L.divIcon({
        className: "place-marker kind-" + known,
        html: '<span aria-hidden="true">' + (LETTERS[kind] || "?") + "</span>",
        iconSize: [30, 30],
        iconAnchor: [15, 15],
        popupAnchor: [0, -14]
      });
    }
    return icons[known];
  };

  /* A cluster icon whose accessible name says what it is, not only a number. */
  AssetMap.clusterIcon = function (cluster) {
    var count = cluster.getChildCount();
    var size = count < 10 ? "small" : count < 100 ? "medium" : "large";
    return L.divIcon({
      className: "place-cluster place-cluster-" + size,
      html: "<span>" + count + '<span class="visually-hidden"> places here; select to see them</span></span>',
      iconSize: [40, 40]
    });
  };

  /* Where to put a place's marker: its point, or the middle of its area or footprint. */
  AssetMap.markerPosition = function (geometry) {
    if (!geometry) return null;
    if (geometry.type === "Point") return L.latLng(geometry.coordinates[1], geometry.coordinates[0]);
    var bounds = L.geoJSON(geometry).getBounds();
    return bounds.isValid() ? bounds.getCenter() : null;
  };

  AssetMap.placeUrl = function (config, id) {
    return config.place.replace("{id}", encodeURIComponent(id));
  };

  AssetMap.kindLabel = function (config, kind) {
    return (config.kinds[kind] && config.kinds[kind].label) || "Place";
  };

  /* A marker for a GeoJSON place feature; its name reaches the page only as text. Its
     popup is made when first opened (see AssetMap.openPopups). */
  AssetMap.placeMarker = function (config, feature) {
    var position = AssetMap.markerPosition(feature.geometry);
    if (!position) return null;
    var properties = feature.properties || {};
    var marker = L.marker(position, {
      icon: AssetMap.markerIcon(properties.kind),
      title: properties.name,
      alt: properties.name,
      keyboard: true,
      riseOnHover: true
    });
    marker.feature = feature;
    return marker;
  };

  /* Opens a place's popup when its marker in `group` is clicked (or given Enter): one
     listener for the whole group rather than one popup per marker. */
  AssetMap.openPopups = function (config, group) {
    group.on("click", function (event) {
      AssetMap.openPopup(config, event.layer);
    });
  };

  AssetMap.openPopup = function (config, marker) {
    if (!marker.getPopup()) {
      marker.bindPopup(function () { return AssetMap.popupContent(config, marker.feature); });
    }
    marker.openPopup();
    return marker.getPopup();
  };

  AssetMap.popupContent = function (config, feature) {
    var properties = feature.properties || {};
    var meta = AssetMap.kindLabel(config, properties.kind);
    if (properties.ward_name) meta += " · " + properties.ward_name;
    var children = [
      AssetMap.el("p", { className: "popup-name" }, [
        AssetMap.el("a", { href: AssetMap.placeUrl(config, feature.id), text: properties.name })
      ]),
      AssetMap.el("p", { className: "popup-meta", text: meta })
    ];
    if (properties.distance_m !== undefined && properties.distance_m !== null) {
      children.push(AssetMap.el("p", {
        className: "popup-distance",
        text: AssetMap.walkingDistance(properties.distance_m, properties.location_precision)
      }));
    }
    if (properties.location_precision === "area") {
      children.push(AssetMap.el("p", { className: "popup-meta", text: "Shown at the area it covers" }));
    }
    return AssetMap.el("div", { className: "popup" }, children);
  };

  AssetMap.fetchJSON = function (url) {
    // No custom headers: the request must match the page's preload link to reuse it.
    return fetch(url).then(
      function (response) {
        return response.json().then(
          function (body) {
            if (!response.ok) {
              var error = new Error((body && body.detail) || response.statusText);
              error.status = response.status;
              throw error;
            }
            return body;
          },
          function () {
            var error = new Error(response.statusText || "The map data could not be read.");
            error.status = response.status;
            throw error;
          }
        );
      }
    );
  };

  /* Tests and people waiting on the map can tell when its data has arrived. */
  AssetMap.ready = function (element) {
    element.setAttribute("data-ready", "true");
  };
})();
