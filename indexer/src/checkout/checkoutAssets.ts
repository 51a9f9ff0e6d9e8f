/**
 * The checkout's style and script, served from the API itself (`/checkout/assets/…`): no CDN, no web font, nothing
 * from another origin. The script follows the payment by polling `/checkout/<id>/status` every two seconds.
 */
export const CHECKOUT_CSS = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;background:#f5f5f5}
main{max-width:28rem;margin:0 auto;padding:1rem;background:#fff;min-height:100vh}
h1{font-size:1.25rem;margin:.5rem 0}
.total{font-size:2rem;font-weight:700;margin:.25rem 0}
.currency{font-size:1rem;color:#555}
#status{padding:.75rem;border-radius:.5rem;background:#eef4ff;font-weight:600}
#status[data-final=paid]{background:#e7f7ec}
#status[data-final=expired],#status[data-final=failed]{background:#fdecec}
fieldset{border:0;padding:0;margin:1rem 0;display:flex;gap:.5rem;flex-wrap:wrap}
legend{font-weight:600;margin-bottom:.5rem}
fieldset label{border:1px solid #ccc;border-radius:.5rem;padding:.5rem .75rem;cursor:pointer}
fieldset label:focus-within{outline:3px solid #1a56db}
.qr{display:block;max-width:16rem;margin:0 auto}
.qr svg{width:100%;height:auto}
.field{display:flex;align-items:center;gap:.5rem;margin:.5rem 0;flex-wrap:wrap}
.label{min-width:6rem;color:#555}
code{word-break:break-all;flex:1}
button{font:inherit;padding:.4rem .8rem;border-radius:.4rem;border:1px solid #1a56db;background:#fff;color:#1a56db;cursor:pointer}
button:focus,a:focus{outline:3px solid #1a56db;outline-offset:2px}
`;

export const CHECKOUT_JS = `"use strict";
(function () {
  var main = document.getElementById("checkout");
  if (!main) return;
  var id = main.dataset.payment, expires = Date.parse(main.dataset.expires);
  var statusEl = document.getElementById("status"), countdown = document.getElementById("countdown");
  var finished = false;
  document.querySelectorAll("input[name=token]").forEach(function (input) {
    input.addEventListener("change", function () {
      document.querySelectorAll(".option").forEach(function (section) { section.hidden = section.dataset.token !== input.value; });
    });
  });
  document.querySelectorAll("button.copy").forEach(function (button) {
    button.addEventListener("click", function () {
      var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard) navigator.clipboard.writeText(button.dataset.copy).then(done, function () {});
    });
  });
  function tick() {
    if (finished) return;
    var left = Math.max(0, Math.floor((expires - Date.now()) / 1000));
    var minutes = Math.floor(left / 60), seconds = left % 60;
    countdown.textContent = left > 0 ? "Expires in " + minutes + ":" + (seconds < 10 ? "0" : "") + seconds : "Time is up";
  }
  function show(state) {
    statusEl.textContent = state.text;
    main.dataset.status = state.status;
    if (["paid", "refunding", "partially_refunded", "refunded", "expired", "failed"].indexOf(state.status) >= 0) {
      finished = true;
      statusEl.dataset.final = state.status === "expired" || state.status === "failed" ? state.status : "paid";
      countdown.textContent = "";
      if (statusEl.dataset.final === "paid" && state.success_url) setTimeout(function () { location.assign(state.success_url); }, 3000);
    }
  }
  function poll() {
    if (finished) return;
    fetch("/checkout/" + id + "/status", { headers: { accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) { if (state) show(state); }, function () {})
      .finally(function () { setTimeout(poll, 2000); });
  }
  tick();
  setInterval(tick, 1000);
  poll();
})();
`;
