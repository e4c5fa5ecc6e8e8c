/* Copy buttons beside the data addresses on /data. Without JavaScript the addresses are in
   read-only boxes that people can select and copy themselves. */
(function () {
  "use strict";

  var status = document.getElementById("copy-status");

  function copied(input, button) {
    var label = button.firstChild;
    label.textContent = "Copied";
    if (status) status.textContent = "Copied " + input.value;
    window.setTimeout(function () { label.textContent = "Copy"; }, 2000);
  }

  function fallback(input, button) {
    input.focus();
    input.select();
    if (document.execCommand && document.execCommand("copy")) copied(input, button);
    else if (status) status.textContent = "Press Control and C (or Command and C) to copy the selected address.";
  }

  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(function () { copied(input, button); },
          function () { fallback(input, button); });
      } else {
        fallback(input, button);
      }
    });
  });
})();
