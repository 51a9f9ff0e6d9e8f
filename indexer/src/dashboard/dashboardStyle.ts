/** The dashboard's style, served from the gateway itself (`/dashboard/assets/…`): nothing from another origin. Mobile first. */
export const DASHBOARD_CSS = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;background:#f5f5f5}
main{max-width:48rem;margin:0 auto;padding:1rem;background:#fff;min-height:100vh}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
button{font:inherit;padding:.75rem 1.25rem;border-radius:.5rem;border:1px solid #1a56db;background:#1a56db;color:#fff;cursor:pointer;min-height:44px}
button:disabled{opacity:.6;cursor:progress}
button:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.bar{display:flex;justify-content:space-between;align-items:center;gap:1rem;padding:.5rem 1rem;background:#111;color:#fff}
.bar button{background:transparent;border-color:#fff}
.sections{display:flex;flex-wrap:wrap;gap:.25rem 1rem;margin:0 0 1rem}
.sections a{padding:.5rem 0;min-height:44px}
.brand{font-weight:700}
.account{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1rem}
.account dt{color:#555}
.account dd{margin:0;min-width:0}
code{word-break:break-all}
.role{color:#555}
#sign-in-status,#dashboard-status{min-height:1.5rem;margin:1rem 0}
#sign-in-status[data-state=error]{padding:.75rem;border-radius:.5rem;background:#fdecec;color:#8a1c1c}
.notice{padding:.75rem;border-radius:.5rem;background:#fff7e0}
.problem{padding:.75rem;border-radius:.5rem;background:#fdecec}
.demo{margin-top:1.5rem}
#demo-sign-in{background:#fff;color:#1a56db}
h2{font-size:1.25rem;margin:1.5rem 0 .75rem}
h3{font-size:1.05rem;margin:1.25rem 0 .5rem}
.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:.75rem;margin:0 0 1rem}
.filters label{display:flex;flex-direction:column;gap:.25rem;font-size:.9rem;color:#333}
input,select{font:inherit;padding:.5rem;border:1px solid #888;border-radius:.375rem;min-height:44px;min-width:0}
input:focus-visible,select:focus-visible,a:focus-visible,h2:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
.button{display:inline-flex;align-items:center;padding:.75rem 1.25rem;border-radius:.5rem;border:1px solid #1a56db;color:#1a56db;text-decoration:none;min-height:44px}
.table-wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:.95rem}
caption{text-align:left;color:#555;padding:.25rem 0}
th,td{text-align:left;padding:.5rem;border-bottom:1px solid #ddd;white-space:nowrap}
.amount{text-align:right;font-variant-numeric:tabular-nums}
.status{padding:.1rem .5rem;border-radius:1rem;background:#eef}
.status[data-status=paid]{background:#e3f6e8}
.status[data-status=expired],.status[data-status=failed]{background:#fdecec}
#more-payments{margin-top:1rem}
.timeline,.events,.attempts{padding-left:1.25rem}
.timeline li,.events>li{margin:.5rem 0}
.hash{word-break:break-all}
.note{color:#555}
#dashboard-status[data-state=error],.health[data-state=error]{padding:.75rem;border-radius:.5rem;background:#fdecec;color:#8a1c1c}
#money-status,#refund-status{min-height:1.5rem;margin:1rem 0}
#withdraw-form{margin-top:1rem}
#money-status[data-state=failed],#refund-status[data-state=failed],#dashboard-status[data-state=failed]{padding:.75rem;border-radius:.5rem;background:#fdecec;color:#8a1c1c}
#money-status[data-state=confirmed],#refund-status[data-state=confirmed],#dashboard-status[data-state=confirmed]{padding:.75rem;border-radius:.5rem;background:#e3f6e8}
.proposal code{font-size:.85rem}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.endpoints{list-style:none;padding:0}
.endpoint{border:1px solid #ddd;border-radius:.5rem;padding:.75rem;margin:.5rem 0}
.endpoint p{margin:.25rem 0 .5rem}
button.secondary,.actions button[data-action]{background:#fff;color:#1a56db}
.events button[data-action]{padding:.25rem .75rem;min-height:44px;background:#fff;color:#1a56db}
.secret{padding:.75rem;border-radius:.5rem;background:#fff7e0;margin:1rem 0}
.secret code{display:block;margin:.5rem 0;font-size:1.05rem}
fieldset{border:1px solid #ddd;border-radius:.5rem;margin:0 0 1rem;padding:.75rem;min-width:0}
.endpoint-form label{display:flex;flex-direction:column;gap:.25rem;margin:0 0 .75rem}
.endpoint-form label.check{flex-direction:row;align-items:center;gap:.5rem;margin:0 0 .25rem}
.check input{min-height:auto}
h4{font-size:1rem;margin:1rem 0 .25rem}
.payload{overflow-x:auto;max-width:100%;background:#f5f5f5;padding:.5rem;border-radius:.375rem;font-size:.85rem}
.signature,.response{word-break:break-all}
#delivery-detail{border-top:2px solid #ddd;margin-top:1rem}
.attempt-details .attempts{list-style:none;padding-left:0}
h3:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
figure{margin:1rem 0}
figcaption{color:#555;font-size:.9rem}
.chart{width:100%;height:auto;display:block}
.chart-bar{fill:#1a56db}
.chart-axis{stroke:#888}
.chart-label{font-size:12px;fill:#333}
.health{padding:.75rem;border-radius:.5rem;background:#e3f6e8}
.health[data-state=behind],.health[data-state=unknown]{background:#fff7e0}
.new-key{padding:.75rem;border-radius:.5rem;background:#fff7e0;margin:1rem 0}
@media (max-width:30rem){.account{grid-template-columns:1fr}.account dd{margin-bottom:.5rem}}
`;
