/* The console's own script: keyboard triage, confirmations, the photo lightbox and the maps.
   No inline script anywhere (the CSP forbids it); everything hangs off data- attributes. */
"use strict";

(function () {
  function typing(event) {
    var t = event.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  /* The queue: j/k move the selection through the rows, Enter opens the selected one. */
  function setUpTriageTable(table) {
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-href]"));
    var index = -1;
    function select(next) {
      if (!rows.length) { return; }
      index = Math.max(0, Math.min(rows.length - 1, next));
      rows.forEach(function (row, i) { row.classList.toggle("selected", i === index); });
      var link = rows[index].querySelector("a");
      if (link) { link.focus(); }
    }
    document.addEventListener("keydown", function (event) {
      if (typing(event) || event.altKey || event.ctrlKey || event.metaKey) { return; }
      if (event.key === "j") { select(index + 1); event.preventDefault(); }
      else if (event.key === "k") { select(index - 1); event.preventDefault(); }
    });
  }

  /* An inspection: c/d/r pick a decision (after a confirmation), j goes to the next inspection. */
  function setUpDecisionKeys() {
    document.addEventListener("keydown", function (event) {
      if (typing(event) || event.altKey || event.ctrlKey || event.metaKey) { return; }
      var target = document.querySelector('[data-key="' + event.key + '"]');
      if (!target) { return; }
      event.preventDefault();
      if (target.tagName === "A") { window.location.assign(target.href); return; }
      var form = target.form;
      var comment = form && form.querySelector("textarea[name=comment]");
      if (comment && comment.required && !comment.value.trim()) {
        comment.focus();
        comment.setAttribute("data-pending-decision", target.value);
        return;
      }
      target.click();
    });
  }

  /* Every decision asks first; the comment box remembers a decision picked by key before it was written. */
  function setUpConfirmations(form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
        event.preventDefault();
      }
    });
    var comment = form.querySelector("textarea[name=comment]");
    if (comment) {
      comment.addEventListener("keydown", function (event) {
        var pending = comment.getAttribute("data-pending-decision");
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && pending) {
          event.preventDefault();
          var button = form.querySelector('button[name=decision][value="' + pending + '"]');
          if (button) { button.click(); }
        }
      });
    }
  }

  /* Photos: a preview opens large in a dialog, the original one click away. */
  function setUpLightbox(dialog) {
    var image = dialog.querySelector("[data-lightbox-image]");
    var original = dialog.querySelector("[data-lightbox-original]");
    var caption = dialog.querySelector("[data-lightbox-caption]");
    var opener = null;
    document.querySelectorAll("[data-lightbox]").forEach(function (button) {
      button.addEventListener("click", function () {
        opener = button;
        image.src = button.dataset.lightbox;
        original.href = button.dataset.original;
        caption.textContent = button.dataset.caption || "";
        dialog.showModal();
      });
    });
    dialog.querySelector("[data-lightbox-close]").addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () { if (opener) { opener.focus(); } });
  }

  /* Maps: tiles only from MAP_TILES_URL; without it a plain background with the district centres labelled. */
  function setUpMap(element) {
    if (typeof window.L === "undefined") { return; }
    var data = JSON.parse(element.dataset.map);
    var map = window.L.map(element, { scrollWheelZoom: false, attributionControl: Boolean(data.tiles) });
    if (data.tiles) {
      window.L.tileLayer(data.tiles, { attribution: data.attribution || "", maxZoom: 19 }).addTo(map);
      map.attributionControl.setPrefix(false);
    } else {
      element.classList.add("plain");
    }
    var layers = [];
    var bounds = window.L.latLngBounds([]);
    if (data.site) {
      bounds.extend(window.L.latLng(data.site.lat, data.site.lon).toBounds(2 * data.site.radius));
      layers.push(window.L.circle([data.site.lat, data.site.lon], { radius: data.site.radius, color: "#0b5cad", weight: 2, fillOpacity: 0.08 })
        .bindTooltip(data.site.name));
      layers.push(window.L.circleMarker([data.site.lat, data.site.lon], { radius: 5, color: "#0b5cad", fillOpacity: 1 }));
    }
    if (data.point) {
      bounds.extend(window.L.latLng(data.point.lat, data.point.lon).toBounds(2 * Math.max(data.point.accuracy, 10)));
      layers.push(window.L.circle([data.point.lat, data.point.lon], { radius: Math.max(data.point.accuracy, 1), color: "#a40e26", weight: 1, dashArray: "4 4", fillOpacity: 0.05 }));
      layers.push(window.L.circleMarker([data.point.lat, data.point.lon], { radius: 6, color: "#a40e26", fillOpacity: 1 }));
    }
    // Many sites: clustered (leaflet.markercluster) where the page loads it.
    var siteLayer = window.L.markerClusterGroup ? window.L.markerClusterGroup({ showCoverageOnHover: false }) : null;
    (data.sites || []).forEach(function (s) {
      bounds.extend([s.lat, s.lon]);
      var marker = window.L.circleMarker([s.lat, s.lon], { radius: 6, color: "#0b5cad", fillOpacity: 0.8 }).bindTooltip(s.name);
      if (siteLayer) { siteLayer.addLayer(marker); } else { layers.push(marker); }
    });
    if (siteLayer) { layers.push(siteLayer); }
    var group = window.L.featureGroup(layers);
    // The view first (from the coordinates: a circle knows its bounds only once on a map), then the layers.
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.3), { maxZoom: 16 }); }
    else { map.setView([43.0, 71.4], 7); }
    group.addTo(map);
    (data.districts || []).forEach(function (d) {
      window.L.circleMarker([d.lat, d.lon], { radius: 3, color: "#57606a", weight: 1 })
        .bindTooltip(d.name, { permanent: true, direction: "right", className: "district-label" }).addTo(map);
    });
    if (data.pick) { setUpPicker(map, data.pick); }
  }

  /* The site form: a click on the map fills the latitude and longitude fields (they can be typed too). */
  function setUpPicker(map, fields) {
    var lat = document.getElementById(fields.lat);
    var lon = document.getElementById(fields.lon);
    var marker = null;
    function place(latlng) {
      if (marker) { marker.setLatLng(latlng); }
      else { marker = window.L.circleMarker(latlng, { radius: 7, color: "#a40e26", fillOpacity: 1 }).addTo(map); }
    }
    if (lat.value && lon.value) { place([Number(lat.value), Number(lon.value)]); }
    map.on("click", function (event) {
      lat.value = event.latlng.lat.toFixed(6);
      lon.value = event.latlng.lng.toFixed(6);
      place(event.latlng);
    });
  }

  /* Buttons that change an account ask first (deactivate, reset a password). */
  function setUpClickConfirmations() {
    document.querySelectorAll("[data-confirm-click]").forEach(function (button) {
      if (!button.dataset.confirmClick) { return; }
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.dataset.confirmClick)) { event.preventDefault(); }
      });
    });
    document.querySelectorAll("form[data-confirm-form]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirmForm)) { event.preventDefault(); }
      });
    });
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  /* The totals: Chart.js draws what the table beside it lists (the table is the accessible version). */
  function setUpChart(canvas) {
    if (typeof window.Chart === "undefined") { return; }
    var spec = JSON.parse(canvas.dataset.chart);
    var money = new Intl.NumberFormat(document.documentElement.lang === "en" ? "en" : "ru", { maximumFractionDigits: 0 });
    new window.Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.data.labels,
        datasets: [
          { label: spec.series.approved, data: spec.data.approved, backgroundColor: "#116329", borderColor: "#116329" },
          { label: spec.series.pending, data: spec.data.pending, backgroundColor: "#d4a72c", borderColor: "#d4a72c" }
        ]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return money.format(v) + " ₸"; } } } }
      }
    });
  }

  function start() {
    setUpClickConfirmations();
    document.querySelectorAll("canvas[data-chart]").forEach(setUpChart);
    document.querySelectorAll("table[data-triage]").forEach(setUpTriageTable);
    if (document.querySelector("[data-key]")) { setUpDecisionKeys(); }
    document.querySelectorAll("form[data-confirm-decision]").forEach(setUpConfirmations);
    var dialog = document.getElementById("lightbox");
    if (dialog) { setUpLightbox(dialog); }
    document.querySelectorAll("[data-map]").forEach(setUpMap);
    document.documentElement.setAttribute("data-ready", "");  // tests wait for this before pressing keys
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
}());
