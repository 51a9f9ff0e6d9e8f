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
@media (max-width:30rem){.account{grid-template-columns:1fr}.account dd{margin-bottom:.5rem}}
`;
