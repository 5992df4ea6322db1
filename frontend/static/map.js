// Loket: the real map (Leaflet, vendored under /static/vendor/leaflet). With
// JavaScript and tiles it shows every search result (or the one location);
// the server-drawn SVG map is hidden only once a tile has loaded, so without
// JavaScript or without tiles the drawn map stays.
(function () {
  "use strict";
  var el = document.querySelector("[data-live-map]");
  var data = document.querySelector("[data-live-map-markers]");
  if (!el || !data || !window.L) { return; }
  var markers = [];
  try { markers = JSON.parse(data.textContent) || []; } catch (e) { return; }
  if (!markers.length) { return; }
  el.hidden = false;
  el.setAttribute("role", "region");
  el.setAttribute("aria-label", el.getAttribute("data-label"));
  var map = L.map(el, { scrollWheelZoom: false });
  var tiles = L.tileLayer(el.getAttribute("data-tiles"), { maxZoom: 18, attribution: el.getAttribute("data-attribution") }).addTo(map);
  var drawn = document.querySelector("figure.map");
  var loaded = false;
  tiles.on("tileload", function () {
    if (!loaded) { loaded = true; if (drawn) { drawn.hidden = true; } }
  });
  setTimeout(function () {
    if (!loaded) { map.remove(); el.hidden = true; } // no tiles: keep the drawn map
  }, 6000);
  var points = [];
  markers.forEach(function (m) {
    var mk = L.marker([m.lat, m.lon], { title: m.name, alt: m.name }).addTo(map);
    var label;
    if (m.url) { label = document.createElement("a"); label.href = m.url; label.textContent = m.name; }
    else { label = document.createTextNode(m.name); }
    mk.bindPopup(label);
    points.push([m.lat, m.lon]);
  });
  if (points.length === 1) { map.setView(points[0], 15); } else { map.fitBounds(points, { padding: [24, 24] }); }
})();
