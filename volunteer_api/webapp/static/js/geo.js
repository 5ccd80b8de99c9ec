// Where the phone is (the Geolocation API with its accuracy) and how far that is from a site.
const EARTH_RADIUS_M = 6_371_008.8;
// Beyond this the point says little about where the volunteer stands: warn before sending.
export const POOR_ACCURACY_M = 100;

// `fresh`: a new fix (an inspection's evidence, the "update" button); else one up to 30 s old will do (the list).
export function currentPosition({ fresh = false } = {}) {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) {
      reject(new Error("no-geolocation"));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (position) => resolve({ lat: position.coords.latitude, lon: position.coords.longitude,
        accuracy_m: position.coords.accuracy }),
      (error) => reject(error),
      { enableHighAccuracy: true, timeout: 20_000, maximumAge: fresh ? 0 : 30_000 });
  });
}

// Great-circle distance (the server decides on_site with the geodesic one; they differ by ~0.2 %).
export function distanceM(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

// The server's rule: on site when the distance is within the geofence plus the accuracy (at most 200 m).
export function onSite(site, position) {
  const distance = distanceM(position.lat, position.lon, site.location.lat, site.location.lon);
  return { distance, inside: distance <= site.geofence_radius_m + Math.min(position.accuracy_m, 200) };
}

export function nearestFirst(sites, position) {
  if (!position) return sites.map((site) => ({ site, distance: null })).sort((a, b) => a.site.name.localeCompare(b.site.name));
  return sites
    .map((site) => ({ site, distance: distanceM(position.lat, position.lon, site.location.lat, site.location.lon) }))
    .sort((a, b) => a.distance - b.distance);
}
