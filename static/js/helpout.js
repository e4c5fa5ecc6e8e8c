/* The help-out finder: "Use my location" fills the form's lon and lat (and empties the
   postcode) and sends it, so the list is the same page the form gives without JavaScript.
   After a search, focus moves to the results, so a phone scrolls to them. */
(function () {
  "use strict";
  var form = document.getElementById("help-finder");
  var nearMe = document.getElementById("near-me");
  var heading = document.getElementById("results-heading");
  if (!form) { return; }
  if (nearMe && navigator.geolocation) {
    nearMe.hidden = false;
    document.getElementById("near-me-hint").hidden = false;
    nearMe.addEventListener("click", function () {
      var summary = document.getElementById("results-summary");
      summary.textContent = "Finding your location…";
      navigator.geolocation.getCurrentPosition(function (position) {
        form.elements.postcode.value = "";
        form.elements.lon.value = position.coords.longitude.toFixed(5);
        form.elements.lat.value = position.coords.latitude.toFixed(5);
        form.submit();
      }, function () {
        summary.textContent = "We could not get your location. You can search by postcode instead.";
      }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 300000 });
    });
  }
  // A typed postcode replaces a location found earlier.
  form.addEventListener("submit", function () {
    if (form.elements.postcode.value.trim()) {
      form.elements.lon.value = "";
      form.elements.lat.value = "";
    }
  });
  if (window.location.search && heading && !document.getElementById("error-summary")) {
    heading.focus();
  }
}());
