/* Benelert: the map editor of the compose and edit pages (Leaflet and leaflet-geoman, installed by make into
   static/vendor/leaflet/). It only enhances: the `shapes` field (CAP polygons and circles, one per line) and the
   places list work without it and stay in step with it. Nothing is fetched from outside: there is no tile layer,
   the boundaries come from this server (data-boundaries). */
(function () {
  "use strict";

  var container = document.getElementById("map");
  var field = document.getElementById("shapes");
  if (!container || !field || !window.L || !L.PM) { return; }

  var HOME = [[49.3, 2.4], [53.7, 9.6]];  // Belgium, the Netherlands, Luxembourg and North Rhine-Westphalia
  var PAIR = /^(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)$/;
  var SHAPE = {color: "#b00020", weight: 2, fillOpacity: 0.2};
  var places = container.dataset.places ? document.getElementById(container.dataset.places) : null;
  var language = document.documentElement.lang || "en";

  container.hidden = false;
  document.querySelectorAll("[data-map-only]").forEach(function (element) { element.hidden = false; });
  var map = L.map(container, {attributionControl: false, zoomSnap: 0.25}).fitBounds(HOME);
  container.benelertMap = map;  // the browser test draws through geoman's API
  L.control.attribution({prefix: false}).addAttribution(
    "Natural Earth · © GeoBasis-DE / BKG · © EuroGeographics for the administrative boundaries").addTo(map);
  if (["nl", "fr", "de"].indexOf(language) >= 0) { map.pm.setLang(language); }
  map.pm.addControls({
    position: "topleft", drawMarker: false, drawCircleMarker: false, drawPolyline: false, drawText: false,
    cutPolygon: false, rotateMode: false, drawRectangle: true, drawPolygon: true, drawCircle: true,
    editMode: true, dragMode: true, removalMode: true
  });
  map.pm.setGlobalOptions({allowSelfIntersection: false, pathOptions: SHAPE, templineStyle: SHAPE});

  // ---- the shapes: the field's lines, each with the layer drawn for it (none for a line that is not a shape) ----

  var entries = [];

  function number(value) { return String(Number(value.toFixed(6))); }

  function point(latlng) { return number(latlng.lat) + "," + number(latlng.lng); }

  function layerText(layer) {
    if (layer instanceof L.Circle) {
      return point(layer.getLatLng()) + " " + String(Number((layer.getRadius() / 1000).toFixed(3)));
    }
    var ring = layer.getLatLngs()[0];
    if (ring.length && Array.isArray(ring[0])) { ring = ring[0]; }  // a multi-polygon: its first ring
    var pairs = ring.map(point);
    pairs.push(pairs[0]);
    return pairs.join(" ");
  }

  function latLng(text) {
    var match = PAIR.exec(text);
    if (!match) { return null; }
    var lat = Number(match[1]), lon = Number(match[2]);
    return Math.abs(lat) <= 90 && Math.abs(lon) <= 180 ? L.latLng(lat, lon) : null;
  }

  function layerFor(line) {
    var parts = line.trim().split(/\s+/);
    if (parts.length === 2 && parts[1].indexOf(",") < 0) {
      var centre = latLng(parts[0]), km = Number(parts[1]);
      return centre && km > 0 && km <= 1000 ? L.circle(centre, Object.assign({radius: km * 1000}, SHAPE)) : null;
    }
    var points = parts.map(latLng);
    if (points.length < 4 || points.indexOf(null) >= 0 || !points[0].equals(points[points.length - 1])) {
      return null;
    }
    return L.polygon(points.slice(0, -1), SHAPE);
  }

  function watch(layer) {
    layer.on("pm:edit pm:dragend", toField);
    return layer;
  }

  function fromField() {
    entries.forEach(function (entry) { if (entry.layer) { map.removeLayer(entry.layer); } });
    entries = field.value.split(/\r?\n/).map(function (line) {
      var layer = line.trim() ? layerFor(line) : null;
      if (layer) { watch(layer).addTo(map); }
      return {text: line, layer: layer};
    });
  }

  function toField() {
    entries.forEach(function (entry) { if (entry.layer) { entry.text = layerText(entry.layer); } });
    field.value = entries.map(function (entry) { return entry.text; }).join("\n").trim();
    field.dispatchEvent(new Event("change", {bubbles: true}));
  }

  map.on("pm:create", function (event) {
    entries = entries.filter(function (entry) { return entry.text.trim() || entry.layer; });
    entries.push({text: "", layer: watch(event.layer)});
    toField();
  });
  map.on("pm:remove", function (event) {
    entries = entries.filter(function (entry) { return entry.layer !== event.layer; });
    toField();
  });
  var typing = null;
  field.addEventListener("input", function () {
    clearTimeout(typing);
    typing = setTimeout(fromField, 400);
  });

  fromField();
  var drawn = entries.filter(function (entry) { return entry.layer; }).map(function (entry) { return entry.layer; });
  if (drawn.length) { map.fitBounds(L.featureGroup(drawn).getBounds(), {maxZoom: 10}); }

  // ---- the base map: countries outlined; regions, and from DETAIL_ZOOM on the districts (arrondissements, Kreise)
  //      and the city of Aachen, of the gazetteer clickable into the places list ----

  var DETAIL_ZOOM = 8;
  var DETAIL = ["district", "municipality"];

  function option(code) {
    return places && code ? places.querySelector("option[value='" + code.replace(/'/g, "") + "']") : null;
  }

  function regionStyle(feature) {
    var props = feature.properties;
    if (props.level === "country") {
      return {color: "#555", weight: 1.5, fill: false, interactive: false};
    }
    var chosen = option(props.place) && option(props.place).selected;
    if (DETAIL.indexOf(props.level) >= 0) {
      return {color: "#6a3d9a", weight: chosen ? 2.5 : 0.6, dashArray: chosen ? null : "3 3", fillColor: "#6a3d9a",
              fillOpacity: chosen ? 0.35 : 0.02};
    }
    return {color: "#1f5f8b", weight: chosen ? 2.5 : 0.8, fillColor: "#1f5f8b", fillOpacity: chosen ? 0.35 : 0.06};
  }

  function clickable(feature, layer) {
    var props = feature.properties;
    if (props.level === "country") { return; }
    var names = props.names || {};
    layer.bindTooltip(names[language] || props.name, {sticky: true});
    layer.on("click", function (event) {
      var choice = option(props.place);
      if (!choice || busy()) { return; }
      L.DomEvent.stopPropagation(event);  // a district's click is not also its region's
      choice.selected = !choice.selected;
      places.dispatchEvent(new Event("change", {bubbles: true}));
    });
  }

  function busy() {
    return map.pm.globalDrawModeEnabled() || map.pm.globalEditModeEnabled() ||
      map.pm.globalRemovalModeEnabled() || map.pm.globalDragModeEnabled();
  }

  function layerOf(data, levels) {
    return L.geoJSON(data, {
      pmIgnore: true, snapIgnore: true, style: regionStyle, onEachFeature: clickable,
      filter: function (feature) { return levels.indexOf(feature.properties.level) >= 0; }
    });
  }

  function showBoundaries(data) {
    var boundaries = layerOf(data, ["country", "region"]).addTo(map);
    var detail = layerOf(data, DETAIL);
    boundaries.bringToBack();
    function showDetail() {
      var wanted = map.getZoom() >= DETAIL_ZOOM;
      if (wanted && !map.hasLayer(detail)) {
        detail.addTo(map).bringToBack();  // under the drawn shapes, over the regions
        boundaries.bringToBack();
      }
      if (!wanted && map.hasLayer(detail)) { map.removeLayer(detail); }
      container.dataset.detailShown = wanted ? String(detail.getLayers().length) : "0";
    }
    map.on("zoomend", showDetail);
    showDetail();
    container.dataset.boundariesShown = String(boundaries.getLayers().length);
    if (places) {
      places.addEventListener("change", function () {
        boundaries.setStyle(regionStyle);
        detail.setStyle(regionStyle);
      });
    }
  }

  fetch(container.dataset.boundaries, {credentials: "same-origin"})
    .then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.json();
    })
    .then(showBoundaries)
    .catch(function () { container.dataset.boundariesShown = "0"; });
})();
