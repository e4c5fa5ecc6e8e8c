/* The resident finder at /: the server-rendered form and list work on their own; this adds
   the clustered map and keeps map, list and address bar in step as people filter, search
   by postcode or use their location. Reads the public feeds (/layers, /api/nearest). */
(function () {
  "use strict";

  var AM = window.AssetMap;
  var config = AM && AM.config();
  var mapElement = document.getElementById("map");
  var form = document.getElementById("finder");
  if (!config || !window.L || !L.markerClusterGroup || !mapElement || !form) return;

  var PAGE = 50;
  var KIRKLEES = [53.645, -1.78];
  // Until the wards arrive (or if they never do), the district is this box around its middle.
  var DISTRICT_METRES = 30000;
  var list = document.getElementById("results-list");
  var heading = document.getElementById("results-heading");
  var summary = document.getElementById("results-summary");
  var nearMe = document.getElementById("near-me");

  var map = AM.createMap(mapElement, config).setView(KIRKLEES, 11);
  var boundaries = L.layerGroup().addTo(map);
  var clusters = L.markerClusterGroup({
    chunkedLoading: true,
    showCoverageOnHover: false,
    maxClusterRadius: 45,
    spiderfyOnMaxZoom: true,
    // Every place is drawn, not only those near the view: a list kept from a national
    // export has most of its places far from Kirklees, and they are still on the map.
    removeOutsideVisibleBounds: false,
    iconCreateFunction: AM.clusterIcon
  }).addTo(map);
  var originLayer = L.layerGroup().addTo(map);
  AM.openPopups(config, clusters);
  map.on("popupopen", function (event) {
    var source = event.popup._source;
    highlight(source && source.feature ? source.feature.id : null);
  });
  map.on("popupclose", function () { highlight(null); });

  var places = [];
  var markers = {};
  var state = { nearest: null, nearestFrom: null, origin: null, group: null, shown: PAGE,
                covering: [], serviceIds: null };
  var coveringSection = document.getElementById("covering");
  var coveringList = document.getElementById("covering-list");

  function chosen() {
    var kinds = Array.prototype.filter
      .call(form.querySelectorAll('input[name="kind"]'), function (box) { return box.checked; })
      .map(function (box) { return box.value; });
    return {
      q: form.elements.q.value.trim(),
      postcode: form.elements.postcode.value.trim(),
      category: form.elements.category.value,
      kinds: kinds,
      open: form.elements.open ? form.elements.open.value : "",
      age: form.elements.age ? form.elements.age.value.trim() : "",
      language: form.elements.language ? form.elements.language.value : ""
    };
  }

  /* What is asked of the places' services (open, age, language): the server answers it,
     since the map's data does not hold the services. An age that is not one is left out. */
  function serviceParams(wanted) {
    var params = new URLSearchParams();
    if (wanted.open) params.set("open", wanted.open);
    if (/^[0-9]{1,3}$/.test(wanted.age) && parseInt(wanted.age, 10) <= 130) params.set("age", wanted.age);
    if (wanted.language) params.set("language", wanted.language);
    return params;
  }

  function badAge(wanted) {
    return wanted.age !== "" && !serviceParams(wanted).has("age");
  }

  /* The ids of the places whose services meet the service filters, from the places feed
     filtered by them; null when none is asked. */
  function loadServices() {
    var params = serviceParams(chosen());
    var key = params.toString();
    if (!key) {
      state.serviceIds = null;
      return Promise.resolve();
    }
    if (state.serviceKey === key && state.serviceIds) return Promise.resolve();
    summary.textContent = "Finding places…";
    return AM.fetchJSON(config.feeds.placesForMap + "&" + key).then(function (body) {
      state.serviceKey = key;
      state.serviceIds = new Set((body.features || []).map(function (f) { return f.id; }));
    });
  }

  /* A category that is a kind's own name ("mutual aid") stands for that kind, as on the
     server (mapping/finder/residents.py), since some sources give their groups none. */
  function categoryKind(category) {
    return (config.kindCategories || {})[String(category || "").toLowerCase()] || null;
  }

  function contains(value, words) {
    return String(value || "").toLowerCase().indexOf(words.toLowerCase()) >= 0;
  }

  // Every filter but the name.
  function matchesBesidesName(feature, wanted) {
    var properties = feature.properties || {};
    if (wanted.kinds.indexOf(properties.kind) < 0) return false;
    var kind = categoryKind(wanted.category);
    if (kind && wanted.kinds.indexOf(kind) >= 0) {
      if (properties.kind !== kind) return false;
    } else if (wanted.category && (properties.categories || []).indexOf(wanted.category) < 0) {
      return false;
    }
    // Nearest results come filtered by their services already.
    if (!state.nearest && state.serviceIds && !state.serviceIds.has(feature.id)) return false;
    return true;
  }

  function matches(feature, wanted) {
    if (wanted.q && !contains((feature.properties || {}).name, wanted.q)) return false;
    return matchesBesidesName(feature, wanted);
  }

  /* The groups whose area served holds the words, though their name does not. */
  function serving(wanted) {
    if (!wanted.q || state.nearest || state.group) return [];
    return places.filter(function (feature) {
      var properties = feature.properties || {};
      return contains(properties.area_served, wanted.q) && !contains(properties.name, wanted.q) &&
        matchesBesidesName(feature, wanted);
    }).slice(0, PAGE);
  }

  var collator = new Intl.Collator("en-GB", { sensitivity: "base" });
  function byName(a, b) {
    return collator.compare(String(a.properties.name), String(b.properties.name)) || a.id - b.id;
  }

  function results() {
    var wanted = chosen();
    if (state.group) return state.group;
    if (state.nearest) return state.nearest.filter(function (f) { return matches(f, wanted); });
    // `places` is kept in name order (sorted once, on arrival).
    return places.filter(function (f) { return matches(f, wanted); });
  }

  function markerFor(feature) {
    // Nearest results carry their distance, so they get their own marker and popup.
    var key = (state.nearest ? "n" : "p") + feature.id;
    if (!markers[key]) {
      markers[key] = AM.placeMarker(config, feature);
    }
    return markers[key];
  }

  function highlight(id) {
    Array.prototype.forEach.call(list.querySelectorAll(".result"), function (item) {
      item.classList.toggle("active", String(item.getAttribute("data-id")) === String(id));
    });
  }

  function showOnMap(feature) {
    var marker = markerFor(feature);
    if (!marker) return;
    mapElement.scrollIntoView({ block: "nearest" });
    clusters.zoomToShowLayer(marker, function () {
      var link = AM.openPopup(config, marker).getElement().querySelector("a");
      if (link) link.focus();
    });
  }

  function listItem(feature) {
    var properties = feature.properties || {};
    var meta = AM.kindLabel(config, properties.kind);
    if (properties.ward_name) meta += " · " + properties.ward_name;
    if (properties.location_precision === "area") meta += " · covers an area";
    var distance = properties.distance_m !== undefined && properties.distance_m !== null
      ? AM.el("p", { className: "result-distance", text: AM.walkingDistance(properties.distance_m, properties.location_precision) })
      : null;
    var served = state.nearest ? state.originLabel !== "your location" && state.originLabel : properties.area_served;
    var covers = properties.covers && served
      ? AM.el("p", { className: "result-covers", text: "Serves " + served })
      : null;
    var button = AM.el("button", { type: "button", className: "link-button show-on-map" }, [
      "Show on map",
      AM.el("span", { className: "visually-hidden", text: ": " + properties.name })
    ]);
    button.addEventListener("click", function () { showOnMap(feature); });
    return AM.el("li", { className: "result", "data-id": feature.id }, [
      AM.el("span", { className: "kind-badge kind-" + properties.kind, "aria-hidden": "true", text: AM.kindLetter(properties.kind) }),
      AM.el("div", { className: "result-body" }, [
        AM.el("a", { className: "result-name", href: AM.placeUrl(config, feature.id), text: properties.name }),
        AM.el("p", { className: "result-meta", text: meta }),
        covers,
        distance,
        button
      ])
    ]);
  }

  function describe(items) {
    var wanted = chosen();
    var filtered = wanted.q || wanted.category || wanted.kinds.length < AM.KINDS.length ||
      serviceParams(wanted).toString();
    if (state.group) {
      return [items.length + " places at this spot",
        "These places share one location on the map; they are also spread out around it."];
    }
    if (state.nearest) {
      return ["Nearest places to " + state.originLabel, items.length
        ? "The " + items.length + " nearest places, closest first."
        : "No places match near there. Try more kinds of place or another category."];
    }
    if (!items.length) {
      return ["Places matching your search", "No places match. Try fewer words, another category or more kinds of place."];
    }
    var shown = Math.min(items.length, state.shown);
    return [filtered ? "Places matching your search" : "All places",
      "Showing 1 to " + shown + " of " + items.length.toLocaleString("en-GB") + " places" + (filtered ? "." : ", A to Z.")];
  }

  function renderList(items, covering) {
    // The list is the script's from now on, with "Show more" in place of the server's pages.
    var pages = document.querySelector(".results .pagination");
    if (pages) pages.remove();
    var words = describe(items);
    heading.textContent = words[0];
    summary.textContent = words[1];
    list.textContent = "";
    items.slice(0, state.shown).forEach(function (feature) { list.appendChild(listItem(feature)); });
    renderCovering(covering || []);
    var extra = document.getElementById("results-more");
    if (extra) extra.remove();
    var controls = [];
    if (state.group) {
      var back = AM.el("button", { type: "button", className: "button secondary", text: "Back to all results" });
      back.addEventListener("click", function () { state.group = null; render(); });
      controls.push(back);
    } else if (items.length > state.shown) {
      var more = AM.el("button", { type: "button", className: "button secondary", text: "Show " + Math.min(PAGE, items.length - state.shown) + " more" });
      more.addEventListener("click", function () {
        var first = state.shown;
        state.shown += PAGE;
        renderList(results(), covered());
        var next = list.children[first] && list.children[first].querySelector("a");
        if (next) next.focus();
      });
      controls.push(more);
    }
    if (controls.length) list.after(AM.el("div", { id: "results-more", className: "results-more" }, controls));
  }

  /* Above the list: the farther groups whose area covers the postcode searched from, or
     the groups whose area served holds the words searched for. */
  function covered() {
    if (state.group) return [];
    if (state.nearest) return state.covering;
    return serving(chosen()).map(function (feature) {
      return { type: "Feature", id: feature.id, geometry: feature.geometry,
        properties: Object.assign({}, feature.properties, { covers: true }) };
    });
  }

  function renderCovering(covering) {
    if (!coveringSection) return;
    coveringList.textContent = "";
    covering.forEach(function (feature) { coveringList.appendChild(listItem(feature)); });
    document.getElementById("covering-heading").textContent = state.nearest
      ? "Groups that serve " + (state.originLabel || "this postcode")
      : "Groups that serve “" + chosen().q + "”";
    document.getElementById("covering-summary").textContent = state.nearest
      ? "Their area covers this postcode, though they are based farther away."
      : "Their name does not say so, but the area they serve does.";
    coveringSection.hidden = !covering.length;
  }

  /* After a search someone asked for, the answer is brought on screen and focused: on a
     phone the list starts below the form and the map. */
  var column = document.querySelector(".results-column");
  function showResults() {
    var target = coveringSection && !coveringSection.hidden
      ? document.getElementById("covering-heading") : heading;
    target.setAttribute("tabindex", "-1");
    target.focus({ preventScroll: true });
    // A notice about the search (outside Kirklees) is above the headings: it comes too.
    (document.getElementById("postcode-notice") || target).scrollIntoView({ block: "start" });
  }

  /* `fit`: move the map to show every place listed; "jump" does so without animation, as
     on arrival, so the markers are clustered once, at the zoom they are first seen at. */
  function render(fit) {
    var items = results();
    var covering = covered();
    var shown = items.concat(covering).map(markerFor).filter(Boolean);
    mapElement.setAttribute("data-ready", "false");
    clusters.clearLayers();
    var moving = fit ? fitTo(shown, fit === "jump") : false;
    clusters.addLayers(shown);
    mapElement.setAttribute("data-shown", String(items.length));
    renderList(items, covering);
    updateAddress();
    if (!moving) AM.ready(mapElement);
  }

  var district = L.latLng(KIRKLEES).toBounds(DISTRICT_METRES);

  /* Shows these markers (and where the search is from); those in the district when there
     are any, since places spread across the world would need a view wider than the map's
     least zoom, which would then show an empty patch in the middle of them. Returns
     whether the map is still moving, in which case it is ready once it stops. */
  function fitTo(shown, jump) {
    var near = shown.filter(function (marker) { return district.contains(marker.getLatLng()); });
    var bounds = L.latLngBounds([]);
    (near.length ? near : shown).forEach(function (marker) { bounds.extend(marker.getLatLng()); });
    if (state.origin) bounds.extend([state.origin.lat, state.origin.lon]);
    // Nothing near a place outside the district: show where it is from the district.
    if (state.origin && !shown.length) bounds.extend(district);
    if (!bounds.isValid()) return false;
    if (map.getBoundsZoom(bounds, false, L.point(60, 60)) < map.getMinZoom()) bounds = district;
    if (jump) {
      // Off the map while it jumps, so the clusters are made once at the new zoom and no
      // cluster animation is left running: during one, a tap on a cluster does not spread it.
      map.removeLayer(clusters);
      map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15, animate: false });
      map.addLayer(clusters);
      return false;
    }
    map.once("moveend", function () { AM.ready(mapElement); });
    map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15 });
    return true;
  }

  function updateAddress() {
    var wanted = chosen();
    var params = new URLSearchParams();
    if (state.nearest && state.nearestFrom.postcode) params.set("postcode", state.nearestFrom.postcode);
    if (wanted.q) params.set("q", wanted.q);
    if (wanted.category) params.set("category", wanted.category);
    if (wanted.kinds.length < AM.KINDS.length) wanted.kinds.forEach(function (kind) { params.append("kind", kind); });
    serviceParams(wanted).forEach(function (value, name) { params.set(name, value); });
    var query = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
  }

  /* The words about a postcode search come from the page (mapping/postcode_search.py), so
     they are the same with JavaScript off. */
  function say(name, postcode) {
    return String((config.messages || {})[name] || "").replace("{postcode}", postcode || "");
  }

  // As the server reads a typed postcode: upper case, single spaces, "HD1 2TA" when well formed.
  var POSTCODE = /^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$/;
  function postcodeText(raw) {
    var words = String(raw || "").toUpperCase().split(/\s+/).filter(Boolean).join(" ").slice(0, 20);
    var key = words.replace(/ /g, "");
    return POSTCODE.test(key) ? key.slice(0, -3) + " " + key.slice(-3) : words;
  }

  function showNotice(message) {
    clearNotice();
    // With the results, which a search brings on screen.
    var notice = AM.el("p", { className: "notice", id: "postcode-notice", role: "status", text: message });
    if (column) column.prepend(notice);
    else form.before(notice);
  }

  function clearNotice() {
    var old = document.getElementById("postcode-notice");
    if (old) old.remove();
  }

  function showError(message, field) {
    field = field || "postcode";
    clearError();
    clearNotice();
    var box = AM.el("div", { className: "error-summary", role: "alert", tabindex: "-1", id: "error-summary" }, [
      AM.el("h2", { text: "There is a problem" }),
      AM.el("p", {}, [AM.el("a", { href: "#" + field, text: message })])
    ]);
    form.before(box);
    form.elements[field].setAttribute("aria-invalid", "true");
    box.focus();
  }

  function clearError() {
    var old = document.getElementById("error-summary");
    if (old) old.remove();
    ["postcode", "open", "age", "language"].forEach(function (name) {
      if (form.elements[name]) form.elements[name].removeAttribute("aria-invalid");
    });
  }

  /* `focus`: a search someone has just asked for, whose answer is brought on screen. */
  function searchNearest(from, label, focus) {
    var wanted = chosen();
    var query = new URLSearchParams(from);
    query.set("limit", "20");
    if (!wanted.kinds.length) {
      state.nearest = [];
      render();
      return Promise.resolve();
    }
    var kind = categoryKind(wanted.category);
    if (kind && wanted.kinds.indexOf(kind) >= 0) {
      query.set("kind", kind);
    } else {
      if (wanted.kinds.length < AM.KINDS.length) query.set("kind", wanted.kinds.join(","));
      if (wanted.category) query.set("category", wanted.category);
    }
    serviceParams(wanted).forEach(function (value, name) { query.set(name, value); });
    query.set("covering", "true");
    if (from.postcode && config.postcodeSearch === false) {
      showError(say("unavailable"));
      render();
      return Promise.resolve();
    }
    summary.textContent = "Finding the nearest places…";
    return AM.fetchJSON(config.feeds.nearest + "?" + query.toString()).then(function (body) {
      clearError();
      clearNotice();
      state.group = null;
      state.nearest = body.features || [];
      state.covering = body.covering || [];
      state.nearestFrom = from;
      state.origin = body.origin || (from.lat ? { lat: from.lat, lon: from.lon } : null);
      state.originLabel = label || (state.origin && state.origin.postcode) || from.postcode;
      originLayer.clearLayers();
      if (state.origin) {
        L.circleMarker([state.origin.lat, state.origin.lon], {
          radius: 9, color: "#0b0c0c", weight: 3, fillColor: "#ffdd00", fillOpacity: 1,
          interactive: false
        }).bindTooltip(AM.el("span", { text: state.originLabel === "your location" ? "You are here" : state.originLabel }), {
          permanent: true, direction: "right", offset: [10, 0], className: "origin-label"
        }).addTo(originLayer);
      }
      if (body.outside_district) {
        var none = state.nearest.length ? "" : "_none";
        showNotice(from.postcode ? say("outside" + none, state.originLabel) : say("location_outside" + none));
      }
      render(true);
      if (focus) showResults();
    }, function (error) {
      if (from.postcode && (error.status === 400 || error.status === 404 || error.status === 503)) {
        showError(say({ 400: "not_a_postcode", 404: "unknown", 503: "unavailable" }[error.status],
          from.postcode));
      } else if (error.status === 400 || error.status === 404) {
        showError("That location is not one we can search from.");
      } else {
        showError("The nearest places could not be found just now. Please try again.");
      }
      render();
    });
  }

  function clearNearest() {
    state.nearest = null;
    state.covering = [];
    state.nearestFrom = null;
    state.origin = null;
    originLayer.clearLayers();
  }

  function checkAge() {
    if (badAge(chosen())) {
      showError("Enter an age in whole years, from 0 to 130, or leave it empty", "age");
      return false;
    }
    if (form.elements.age && form.elements.age.getAttribute("aria-invalid")) clearError();
    return true;
  }

  function refresh() {
    state.group = null;
    state.shown = PAGE;
    checkAge();
    if (state.nearest && state.nearestFrom) searchNearest(state.nearestFrom, state.originLabel);
    else loadServices().then(function () { render(true); }, servicesFailed);
  }

  function servicesFailed() {
    showError("The places open then could not be found just now. Please try again.", "open");
    render();
  }

  var typing = null;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var wanted = chosen();
    state.group = null;
    state.shown = PAGE;
    if (!checkAge()) return;
    if (wanted.postcode) {
      searchNearest({ postcode: postcodeText(wanted.postcode) }, null, true);
    } else {
      clearError();
      clearNotice();
      clearNearest();
      loadServices().then(function () { render(true); showResults(); }, servicesFailed);
    }
  });
  form.addEventListener("change", function (event) {
    if (["kind", "category", "open", "language"].indexOf(event.target.name) >= 0) refresh();
  });
  if (form.elements.age) {
    form.elements.age.addEventListener("input", function () {
      window.clearTimeout(typing);
      typing = window.setTimeout(refresh, 400);
    });
  }
  form.elements.q.addEventListener("input", function () {
    window.clearTimeout(typing);
    typing = window.setTimeout(refresh, 250);
  });

  if (nearMe && navigator.geolocation) {
    nearMe.hidden = false;
    document.getElementById("near-me-hint").hidden = false;
    nearMe.addEventListener("click", function () {
      summary.textContent = "Finding your location…";
      navigator.geolocation.getCurrentPosition(function (position) {
        form.elements.postcode.value = "";
        searchNearest({
          lon: position.coords.longitude.toFixed(5),
          lat: position.coords.latitude.toFixed(5)
        }, "your location", true);
      }, function () {
        showError("We could not get your location. You can search by postcode instead.");
        render();
      }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 300000 });
    });
  }

  // Places that share one spot: the cluster spiderfies them, and the list shows them too.
  function sameSpot(markers) {
    // Where each belongs, not where a spiderfy has just moved it to.
    var homes = markers.map(function (marker) { return AM.markerPosition(marker.feature.geometry); });
    return homes.every(function (home) { return home.equals(homes[0], 1e-7); });
  }
  clusters.on("clusterclick clusterkeypress", function (event) {
    var children = event.layer.getAllChildMarkers();
    if (children.length > 1 && sameSpot(children)) {
      state.group = children.map(function (marker) { return marker.feature; }).sort(byName);
      renderList(state.group);
      heading.scrollIntoView({ block: "nearest" });
    }
  });

  // The district is the wards' extent with a little room for the places in its margin.
  var wardsDrawn = AM.fetchJSON(config.feeds.wards + "?properties=name").then(function (wards) {
    var outlines = L.geoJSON(wards, {
      interactive: false,
      style: { color: "#505a5f", weight: 1.5, fill: false, dashArray: "4 3" }
    }).addTo(boundaries);
    if (outlines.getBounds().isValid()) district = outlines.getBounds().pad(0.05);
  }, function () { /* the map works without ward outlines */ });

  // The page asks for this same address early (a preload link), so it is often here already.
  // The first view waits for the wards, so that it is of the district whichever came first.
  Promise.all([AM.fetchJSON(config.feeds.placesForMap), wardsDrawn])
    .then(function (loaded) {
      var collection = loaded[0];
      places = (collection.features || []).filter(function (f) { return f.geometry; }).sort(byName);
      var wanted = chosen();
      if (wanted.postcode && !document.getElementById("error-summary")) {
        return searchNearest({ postcode: postcodeText(wanted.postcode) });
      }
      return loadServices().then(function () { render("jump"); }, servicesFailed);
    }, function () {
      AM.setStatus("The places could not be loaded onto the map just now. The list below still works.");
      AM.ready(mapElement);
    });
})();
